/**
 * The agent's GPU backend on PoCL (OpenCL on this machine's CPU: correctness and the whole path, never GPU
 * speed): `selftest --gpu` covers every kernel in fp32 and fp16, `run` with backend gpu prunes exactly the
 * weights the CPU case prunes and records kernel times beside the wall clock, and each failure of the issue's
 * list (no OpenCL library, no platform, a platform without a device, a compile failure, a buffer above the
 * device's largest allocation, fp16 asked of the CPU) is an error record while the rest of the plan runs.
 *
 * Cheap by design: one PoCL compile per dtype, cached as a program binary beside the agent (and PoCL's own
 * kernel cache) for every later run; the shapes are small.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAgentInfo, parseAgentOutputLine } from '../orchestrator/agent/parse-output.ts';
import { buildAgent, planText, QUICK, runAgent } from './agent-harness.ts';

interface GpuCheck {
  readonly type: 'selftest';
  readonly backend: 'gpu';
  readonly dtype: 'fp32' | 'fp16';
  readonly op: string;
  readonly scheme: string;
  readonly ok: boolean;
  readonly kernel?: string;
  readonly maxRelErr?: number;
  readonly error?: string;
}

interface GpuResult {
  readonly type: 'result';
  readonly id: string;
  readonly status: 'ok' | 'error';
  readonly error?: string;
  readonly backend?: string;
  readonly dtype?: string;
  readonly kernel?: string;
  readonly density?: number;
  readonly keptEnergy?: number;
  readonly keptBlocks?: number;
  readonly flops?: number;
  readonly reps?: number;
  readonly samplesNs?: readonly number[];
  readonly kernelNs?: readonly number[];
  readonly gpu?: { readonly platform: string; readonly programFrom: string; readonly compileNs: number };
}

let scratch = '';
before(() => {
  buildAgent('host');
  scratch = mkdtempSync(join(tmpdir(), 'prunelab-gpu-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

function results(lines: readonly string[]): GpuResult[] {
  return lines
    .map((l) => JSON.parse(l) as GpuResult | { type: 'done' })
    .filter((l) => l.type === 'result') as GpuResult[];
}

/** fp16 storage tolerance added to fp32's (device-agent/src/gpu/gpu_case.h): 4 half-precision units. */
const FP16_EXTRA_TOL = 4 / 2048;

test('selftest --gpu: every GPU kernel, fp32 and fp16, within tolerance of the reference on PoCL', () => {
  const run = runAgent('host', ['selftest', '--gpu'], { timeoutMs: 600_000 });
  assert.equal(run.status, 0, run.stdout.slice(-3000));
  const lines = run.lines.map(
    (l) => JSON.parse(l) as GpuCheck | { type: 'selftest-done'; checks: number; failed: number },
  );
  const checks = lines.filter((l): l is GpuCheck => l.type === 'selftest');
  assert.deepEqual(lines.at(-1), { type: 'selftest-done', checks: checks.length, failed: 0 });
  for (const dtype of ['fp32', 'fp16'] as const) {
    const mine = checks.filter((c) => c.dtype === dtype);
    const covered = (op: string, scheme: string) =>
      mine.some((c) => c.op === op && c.scheme === scheme && c.ok);
    for (const scheme of ['dense', 'unstructured', 'filter', 'channel', 'pattern', 'bcr', 'block-punched'])
      assert.ok(covered('conv', scheme), `${dtype} conv ${scheme}`);
    for (const scheme of ['dense', 'unstructured', 'filter', 'channel', 'bcr', 'block-punched'])
      assert.ok(covered('fc', scheme), `${dtype} fc ${scheme}`);
    assert.ok(covered('dwconv', 'dense'), `${dtype} dwconv`);
    // Every kernel of kernels.cl ran: dense, the three chunk widths, pattern.
    for (const part of ['dense8', 'grouped8', '+4', 'grouped1', 'pattern', 'dwconv-grouped1'])
      assert.ok(
        mine.some((c) => c.kernel?.includes(part)),
        `${dtype}: a ${part} kernel`,
      );
    for (const c of mine) assert.ok(c.kernel?.endsWith(dtype), `${c.kernel} names its dtype`);
  }
  const worst = (dtype: string) =>
    Math.max(...checks.filter((c) => c.dtype === dtype).map((c) => c.maxRelErr ?? Infinity));
  assert.ok(worst('fp32') < 1e-5, `fp32 worst ${worst('fp32')}`);
  assert.ok(worst('fp16') < FP16_EXTRA_TOL + 1e-5, `fp16 worst ${worst('fp16')}`);
  // fp16 really stores halves: its error is far above fp32's rounding (2^-24), yet within its bound.
  assert.ok(worst('fp16') > 1e-4, `fp16 worst ${worst('fp16')} looks like fp32 storage`);
});

const conv = { op: 'conv', cin: 16, cout: 24, h: 9, w: 11, k: 3, stride: 1, pad: 1, ...QUICK };

test("run backend gpu: the CPU case's mask, kernel times beside wall times, program compiled once", () => {
  const lines = [
    { id: 'cpu-bcr', ...conv, scheme: 'bcr', block: '4x4', sparsity: 0.75 },
    { id: 'gpu-bcr', ...conv, scheme: 'bcr', block: '4x4', sparsity: 0.75, backend: 'gpu' },
    { id: 'gpu-pattern-fp16', ...conv, scheme: 'pattern', sparsity: 0.8, backend: 'gpu', dtype: 'fp16' },
    {
      id: 'gpu-fc',
      op: 'fc',
      in: 37,
      out: 19,
      scheme: 'unstructured',
      sparsity: 0.5,
      backend: 'gpu',
      ...QUICK,
    },
  ];
  const run = runAgent('host', ['run'], { input: planText(lines), timeoutMs: 300_000 });
  assert.equal(run.status, 0, run.stderr);
  const [cpu, gpu, pattern, fc] = results(run.lines);
  for (const r of [cpu, gpu, pattern, fc]) assert.equal(r?.status, 'ok', `${r?.id}: ${r?.error}`);
  assert.equal(cpu?.backend, 'cpu');
  assert.equal(gpu?.backend, 'gpu');
  assert.equal(gpu?.dtype, 'fp32');
  // Same spec, same seed: the same pruned weights on both backends.
  assert.equal(gpu?.density, cpu?.density);
  assert.equal(gpu?.keptEnergy, cpu?.keptEnergy);
  assert.equal(gpu?.keptBlocks, cpu?.keptBlocks);
  assert.equal(gpu?.flops, cpu?.flops);
  assert.match(gpu?.kernel ?? '', /^gpu-conv-grouped/);
  assert.equal(pattern?.kernel, 'gpu-conv-pattern-fp16');
  assert.match(fc?.kernel ?? '', /^gpu-fc-grouped/);
  for (const r of [gpu, pattern, fc]) {
    assert.equal(r?.gpu?.platform, 'Portable Computing Language');
    assert.ok(r?.gpu?.programFrom === 'source' || r?.gpu?.programFrom === 'binary-cache');
    assert.ok((r?.gpu?.compileNs ?? 0) > 0);
    assert.equal(r?.kernelNs?.length, r?.reps);
    assert.equal(r?.samplesNs?.length, r?.reps);
    // The wall clock holds the kernels (plus enqueue and clFinish): never shorter than their profiled time.
    r?.kernelNs?.forEach((k, i) => {
      assert.ok(k > 0, `${r.id}: kernel time ${k}`);
      assert.ok((r.samplesNs?.[i] ?? 0) >= k, `${r.id}: wall ${r.samplesNs?.[i]} < kernel ${k}`);
    });
  }
  // The orchestrator's parser reads every line, GPU fields included.
  for (const line of run.lines) {
    const parsed = parseAgentOutputLine(line);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
    if (parsed.value.type === 'result' && parsed.value.status === 'ok' && parsed.value.backend === 'gpu')
      assert.equal(parsed.value.kernelNs?.length, parsed.value.reps);
  }
  // A second process finds the program binary in the cache instead of compiling.
  const again = runAgent('host', ['run'], { input: planText([lines[1] ?? {}]), timeoutMs: 120_000 });
  assert.equal(results(again.lines)[0]?.gpu?.programFrom, 'binary-cache');
});

test('gpu failures are error records and the rest of the plan runs', () => {
  const cpuCase = { id: 'cpu', ...conv, scheme: 'dense', sparsity: 0 };
  const gpuCase = { id: 'gpu', ...conv, scheme: 'dense', sparsity: 0, backend: 'gpu' };
  const expectations: { env: Record<string, string>; lines: object[]; id: string; error: RegExp }[] = [
    {
      env: { PRUNELAB_OPENCL_LIB: join(scratch, 'no-such-libOpenCL.so') },
      lines: [gpuCase, cpuCase],
      id: 'gpu',
      error: /no OpenCL library: PRUNELAB_OPENCL_LIB=.*no-such-libOpenCL\.so could not be loaded/,
    },
    {
      // The ICD loader with an empty vendor directory: a library but no platform.
      env: { OCL_ICD_VENDORS: scratch },
      lines: [gpuCase, cpuCase],
      id: 'gpu',
      error: /no OpenCL platform: libOpenCL\.so\.1 loaded but reports none/,
    },
    {
      // PoCL with a device list that names no driver: a platform without a device.
      env: { POCL_DEVICES: 'none' },
      lines: [gpuCase, cpuCase],
      id: 'gpu',
      error:
        /no OpenCL device: 1 platform\(s\) \(first: "Portable Computing Language"\) but none has a device/,
    },
    {
      env: { PRUNELAB_GPU_BUILD_OPTIONS: '-DPL_FP16=(', PRUNELAB_GPU_CACHE_DIR: scratch },
      lines: [gpuCase, cpuCase],
      id: 'gpu',
      error: /the kernels did not compile on .*CL_BUILD_PROGRAM_FAILURE.*build log/,
    },
    {
      // PoCL's memory limit (GB): 1 GB global, 256 MiB largest allocation; this fc's weights take 512 MiB.
      env: { POCL_MEMORY_LIMIT: '1' },
      lines: [
        { id: 'gpu', op: 'fc', in: 8192, out: 16384, scheme: 'dense', sparsity: 0, backend: 'gpu' },
        cpuCase,
      ],
      id: 'gpu',
      error:
        /out of GPU memory: the weights would take one buffer of 536870912 bytes.*CL_DEVICE_MAX_MEM_ALLOC_SIZE/,
    },
    {
      env: {},
      lines: [{ ...cpuCase, id: 'gpu', dtype: 'fp16' }, cpuCase],
      id: 'gpu',
      error: /dtype fp16 needs "backend":"gpu"/,
    },
  ];
  for (const { env, lines, id, error } of expectations) {
    const run = runAgent('host', ['run'], { input: planText(lines), env, timeoutMs: 120_000 });
    assert.equal(run.status, 0, run.stderr);
    const [bad, good] = results(run.lines);
    assert.equal(bad?.id, id);
    assert.equal(bad?.status, 'error', JSON.stringify(bad));
    assert.match(bad?.error ?? '', error);
    assert.equal(good?.status, 'ok', `the CPU case after it: ${good?.error}`);
  }
});

test('info lists the OpenCL platforms and devices', () => {
  const run = runAgent('host', ['info']);
  const parsed = parseAgentInfo(run.lines[0] ?? '');
  assert.ok(
    parsed.ok && parsed.value.gpu?.platforms.length,
    parsed.ok ? 'no gpu member' : parsed.error.message,
  );
  const info = JSON.parse(run.lines[0] ?? '{}') as {
    gpu: {
      openclLibrary: string | null;
      error: string | null;
      platforms: {
        name: string;
        devices: {
          name: string;
          computeUnits: number;
          maxWorkGroupSize: number;
          localMemBytes: number;
          extensions: string[];
          fp16: boolean;
        }[];
      }[];
    };
  };
  assert.equal(info.gpu.error, null);
  assert.equal(info.gpu.openclLibrary, 'libOpenCL.so.1');
  const pocl = info.gpu.platforms.find((p) => p.name === 'Portable Computing Language');
  const device = pocl?.devices[0];
  assert.ok(device, JSON.stringify(info.gpu));
  assert.ok(device.computeUnits >= 1 && device.maxWorkGroupSize >= 64 && device.localMemBytes > 0);
  assert.ok(device.extensions.includes('cl_khr_byte_addressable_store'));
  assert.equal(device.fp16, device.extensions.includes('cl_khr_fp16'));
});
