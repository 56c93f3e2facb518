/**
 * The GPU backend through the whole lab on the host (PoCL: OpenCL on this CPU, so correctness of the path,
 * never GPU speed): a sweep with `--backends cpu,gpu` stores and exports both, `fit` writes a CPU LUT and a
 * GPU LUT for the one device, `map --backend gpu` maps from the GPU LUT and refuses the CPU one.
 * Small on purpose: two schemes, one block, one sparsity, two samples per case.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runPrunelab } from './support/cli.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-sweep-gpu-'));
const dbPath = join(dir, 'gpu.db');
after(() => rmSync(dir, { recursive: true, force: true }));
const prunelab = (...args: string[]) => runPrunelab(args);

interface FitJson {
  luts: { device: string; backend: string; path: string; entries: number }[];
}
let luts: FitJson['luts'] = [];

before(async () => {
  const sweep = await prunelab(
    'sweep',
    '--json',
    '--device',
    'host',
    '--db',
    dbPath,
    '--models',
    'resnet18-cifar10',
    '--backends',
    'cpu,gpu',
    '--schemes',
    'dense,bcr',
    '--blocks',
    '4x1',
    '--sparsities',
    '0.75',
    '--warmup',
    '1',
    '--min-reps',
    '2',
    '--min-time-ms',
    '0',
    '--no-report',
  );
  assert.equal(sweep.exitCode, 0, sweep.stderr);
  const fit = await prunelab('fit', '--json', '--db', dbPath, '--out', dir);
  assert.equal(fit.exitCode, 0, fit.stderr);
  luts = (JSON.parse(fit.stdout) as FitJson).luts;
});

test('both backends are stored and exported, the GPU cases with their OpenCL kernels', async () => {
  const out = join(dir, 'rows.jsonl');
  const exported = await prunelab('export', '--db', dbPath, '--format', 'jsonl', '--out', out);
  assert.equal(exported.exitCode, 0, exported.stderr);
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(line) as {
          backend: string;
          kernel: string;
          case_key: string;
          scheme: string;
          cin: number;
          cout: number;
          h: number;
          k: number;
          samples_ns: number[];
          kernel_ns: number[] | null;
        },
    );
  const gpu = rows.filter((r) => r.backend === 'gpu');
  const cpu = rows.filter((r) => r.backend === 'cpu');
  assert.ok(gpu.length > 0 && cpu.length > 0, `${gpu.length} gpu and ${cpu.length} cpu rows`);
  assert.equal(gpu.length, cpu.length, 'one gpu case per cpu case (threads 1)');
  assert.ok(
    gpu.every((r) => r.kernel.startsWith('gpu-')),
    'every GPU row ran an OpenCL kernel',
  );
  assert.ok(cpu.every((r) => !r.kernel.startsWith('gpu-')));
  // Both times of a GPU case are stored: the wall clock (samples_ns) and the kernels' own (kernel_ns).
  for (const r of gpu) {
    assert.equal(r.kernel_ns?.length, r.samples_ns.length);
    for (const [i, k] of (r.kernel_ns ?? []).entries())
      assert.ok(k > 0 && k <= (r.samples_ns[i] ?? 0), `kernel ${k} within wall ${r.samples_ns[i]}`);
  }
  assert.ok(cpu.every((r) => r.kernel_ns === null));
  const caseOf = (r: (typeof rows)[number]) => `${r.scheme} ${r.cin} ${r.cout} ${r.h} ${r.k}`;
  assert.deepEqual(new Set(gpu.map(caseOf)), new Set(cpu.map(caseOf)), 'the same layers on both backends');
  assert.equal(new Set(rows.map((r) => r.case_key)).size, rows.length, 'distinct case keys');
});

test('fit writes one LUT per backend; map --backend gpu maps from the GPU LUT and refuses the CPU one', async () => {
  const gpuLut = luts.find((l) => l.backend === 'gpu');
  const cpuLut = luts.find((l) => l.backend === 'cpu');
  assert.ok(gpuLut && cpuLut, JSON.stringify(luts));
  assert.match(gpuLut.path, /lut-host_[^/]*-gpu\.json$/);
  assert.equal(gpuLut.device, cpuLut.device);
  assert.equal((JSON.parse(readFileSync(gpuLut.path, 'utf8')) as { backend?: string }).backend, 'gpu');
  assert.equal('backend' in (JSON.parse(readFileSync(cpuLut.path, 'utf8')) as object), false);

  const out = join(dir, 'mapping-gpu.json');
  const mapArgs = [
    'map',
    '--model',
    'resnet18-cifar10',
    '--mapper',
    'rule',
    '--sparsity',
    '0.75',
    '--out',
    out,
  ];
  const mapped = await prunelab(...mapArgs, '--lut', gpuLut.path, '--backend', 'gpu');
  assert.equal(mapped.exitCode, 0, mapped.stderr);
  assert.match(mapped.stdout, /GPU/);
  const mapping = JSON.parse(readFileSync(out, 'utf8')) as { lut: { backend: string }; layers: unknown[] };
  assert.equal(mapping.lut.backend, 'gpu');
  assert.ok(mapping.layers.length > 0);

  const refused = await prunelab(...mapArgs, '--lut', cpuLut.path, '--backend', 'gpu');
  assert.notEqual(refused.exitCode, 0);
  assert.match(refused.stderr, /--backend gpu: .* holds cpu latencies; pass the gpu LUT/);
});

test("the report compares CPU and GPU per layer, with each backend's block-size knee", async () => {
  const out = join(dir, 'report.html');
  const report = await prunelab('report', '--db', dbPath, '--out', out);
  assert.equal(report.exitCode, 0, report.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /CPU against GPU per layer/);
  assert.match(html, /<table id="backend-pairs"/);
  assert.match(html, /<table id="block-knees"/);
});
