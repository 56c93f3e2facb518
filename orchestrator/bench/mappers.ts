/**
 * `npm run bench:mappers`: how good the mappers are on this machine's LUT.
 *
 *  1. sweeps the host once over the four built-in models (dense, unstructured, bcr 4x1 and 8x1, pattern at
 *     sparsities 0.5 / 0.75 / 0.9; short sampling) with the real CLI into `--db`, unless `--reuse`, and fits
 *     the LUT with `prunelab fit` (shapes it did not measure would be priced by the predictor);
 *  2. per model: the search mapper under two goals (a latency budget halfway between the fastest mapping and
 *     all dense: max proxy;
 *     a sparsity cap of 0.75: min latency) against the exact optimum of the same problem (knapsack DP), and
 *     the rule mapper at sparsity 0.75; each mapper's predicted latency against the best uniform baseline
 *     at equal proxy;
 *  3. `--verify-repeats` (3) runs of `prunelab map --verify-on host` on ResNet-18's search mapping:
 *     measured against predicted total, median over the runs.
 * A benchmark, not a test: its figures are this machine's and move with whatever else runs on it (it prints
 * the CPU count and load average). Like bench:costmodel it is an I/O edge, so it lives in the orchestrator.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getModel } from '../../config/models/index.ts';
import { parseLutText } from '../../cost-model/index.ts';
import { computeMapping, type MapResult } from '../map/compute.ts';
import { medianOf } from '../stats/index.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const { values: options } = parseArgs({
  options: {
    db: { type: 'string', default: 'test-artifacts/bench-mappers.db' },
    out: { type: 'string', default: 'test-artifacts/bench-mappers' },
    reuse: { type: 'boolean', default: false },
    models: {
      type: 'string',
      default: 'vgg16-cifar10,resnet18-cifar10,resnet50-imagenet,mobilenetv2-imagenet',
    },
    'verify-model': { type: 'string', default: 'resnet18-cifar10' },
    'verify-repeats': { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const dbPath = resolve(options.db);
const outDir = resolve(options.out);
const models = options.models.split(',');
const verifyRepeats = Number(options['verify-repeats']);

function cli(args: string[], capture = false): string {
  console.error(`# prunelab ${args.join(' ')}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'orchestrator/cli/main.ts', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', capture ? 'pipe' : 2, 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    console.error(`prunelab ${args[0]} failed (exit ${result.status ?? result.signal}); see above.`);
    process.exit(1);
  }
  return capture ? result.stdout : '';
}

const startedMs = performance.now();
mkdirSync(dirname(dbPath), { recursive: true });
mkdirSync(outDir, { recursive: true });
if (!options.reuse) {
  cli([
    'sweep',
    '--device',
    'host',
    '--db',
    dbPath,
    '--models',
    models.join(','),
    '--schemes',
    'dense,unstructured,bcr,pattern',
    '--blocks',
    '4x1,8x1',
    '--sparsities',
    '0.5,0.75,0.9',
    '--warmup',
    '1',
    '--min-reps',
    '5',
    '--min-time-ms',
    '20',
    '--no-report',
  ]);
}
const fitted = JSON.parse(cli(['fit', '--json', '--db', dbPath, '--out', outDir], true)) as {
  luts: { path: string }[];
};
const lutPath = fitted.luts[0]?.path;
if (lutPath === undefined) {
  console.error('prunelab fit wrote no LUT');
  process.exit(1);
}
const lut = parseLutText(readFileSync(lutPath, 'utf8'), lutPath);

interface Row {
  readonly model: string;
  readonly run: string;
  readonly latencyMs: number;
  readonly proxy: number;
  readonly gapPercent: number | null;
  readonly gapBoundPercent: number | null;
  readonly baseline: string;
  readonly speedup: number | null;
  readonly unpriced: number;
  readonly wallMs: number;
}

function row(model: string, run: string, result: MapResult, wallMs: number): Row {
  return {
    model,
    run,
    latencyMs: result.totals.latencyNs / 1e6,
    proxy: result.totals.proxy,
    gapPercent: result.exact === null ? null : result.exact.gap * 100,
    gapBoundPercent: result.exact === null ? null : result.exact.gapBound * 100,
    baseline: result.bestBaseline?.name ?? '(none at equal proxy)',
    speedup: result.bestBaseline?.speedup ?? null,
    unpriced: result.unpriced.length,
    wallMs,
  };
}

const rows: Row[] = [];
for (const name of models) {
  const table = getModel(name);
  if (table === undefined) continue;
  const base = { lut, modelName: name, layers: table.layers, threads: 1, seed: 1 } as const;
  const timed = (run: string, request: Parameters<typeof computeMapping>[0]): MapResult => {
    const t = performance.now();
    const result = computeMapping(request);
    rows.push(row(name, run, result, performance.now() - t));
    console.error(`# ${name} ${run}: ${(performance.now() - t).toFixed(0)} ms`);
    return result;
  };
  const rule = timed('rule @0.75', { ...base, mapper: 'rule', sparsity: 0.75 });
  // Budget halfway between the fastest mapping the LUT allows and all dense (dense-only layers, such as
  // MobileNet's depthwise convs, can make half the dense latency unreachable).
  const denseNs = rule.candidates.reduce((s, l) => s + (l.options[0]?.latencyNs ?? 0), 0);
  const fastestNs = rule.candidates.reduce((s, l) => s + Math.min(...l.options.map((o) => o.latencyNs)), 0);
  timed('search budget=mid', { ...base, mapper: 'search', latencyBudgetNs: (denseNs + fastestNs) / 2 });
  timed('search sparsity<=0.75', { ...base, mapper: 'search', sparsity: 0.75 });
}

const verify: { measuredMs: number; predictedMs: number; errorPercent: number }[] = [];
const verifyModel = options['verify-model'];
const verifyRow = rows.find((r) => r.model === verifyModel && r.run.startsWith('search budget'));
for (let i = 0; i < verifyRepeats && verifyRow !== undefined; i++) {
  const budgetMs = verifyRow.latencyMs * 1.0000001;
  const text = cli(
    [
      'map',
      '--json',
      '--lut',
      lutPath,
      '--model',
      verifyModel,
      '--mapper',
      'search',
      '--latency-budget-ms',
      String(budgetMs),
      '--out',
      join(outDir, 'verified-mapping.json'),
      '--verify-on',
      'host',
    ],
    true,
  );
  const v = (
    JSON.parse(text) as {
      verification: { measuredTotalNs: number; predictedTotalNs: number; relativeError: number };
    }
  ).verification;
  verify.push({
    measuredMs: v.measuredTotalNs / 1e6,
    predictedMs: v.predictedTotalNs / 1e6,
    errorPercent: v.relativeError * 100,
  });
}

const searchGaps = rows.filter((r) => r.gapPercent !== null).map((r) => r.gapPercent as number);
const searchBounds = rows.filter((r) => r.gapBoundPercent !== null).map((r) => r.gapBoundPercent as number);
const summary = {
  lut: lutPath,
  device: lut.device.id,
  agentHash: lut.agentHash,
  rows,
  verify,
  medians: {
    searchGapPercent: medianOf(searchGaps),
    searchGapBoundPercent: medianOf(searchBounds),
    worstSearchGapPercent: Math.max(...searchGaps),
    verifyErrorPercent: verify.length === 0 ? null : medianOf(verify.map((v) => v.errorPercent)),
  },
  wallMs: performance.now() - startedMs,
};
if (options.json) {
  console.log(JSON.stringify(summary, null, 2));
  process.exit(0);
}
const f = (v: number | null, digits = 2) => (v === null ? '-' : v.toFixed(digits));
const lines = [
  `prunelab mapper benchmark: ${lut.device.id}, agent ${lut.agentHash}, LUT ${lutPath}`,
  `machine: ${os.cpus().length} CPUs, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}: latencies move with`,
  'other work on the machine; the proxy is a PROXY (kept squared weight magnitude), not accuracy.',
  '',
  `${'model'.padEnd(22)} ${'mapper'.padEnd(24)} ${'pred ms'.padStart(9)} ${'proxy'.padStart(6)} ${'gap%'.padStart(7)} ${'<=bound%'.padStart(9)}  best uniform baseline at equal proxy (mapping speedup)`,
  ...rows.map(
    (r) =>
      `${r.model.padEnd(22)} ${r.run.padEnd(24)} ${f(r.latencyMs, 3).padStart(9)} ${f(r.proxy, 3).padStart(6)} ${f(r.gapPercent, 3).padStart(7)} ${f(r.gapBoundPercent, 3).padStart(9)}  ` +
      `${r.baseline}${r.speedup === null ? '' : ` (${r.speedup.toFixed(2)}x)`}${r.unpriced > 0 ? `  [${r.unpriced} layers unpriced]` : ''}`,
  ),
  '',
  `search vs exact optimum (DP, costs rounded up: achieved): median gap ${f(summary.medians.searchGapPercent, 3)}%, worst ${f(summary.medians.worstSearchGapPercent, 3)}% (target <= 1%: ${summary.medians.worstSearchGapPercent <= 1 ? 'met' : 'NOT met'});`,
  `  against the DP's upper bound (costs rounded down) the median gap is ${f(summary.medians.searchGapBoundPercent, 3)}% (the true optimum lies between).`,
  ...verify.map(
    (v, i) =>
      `verify ${i + 1}: ${verifyModel} search mapping on host: measured ${v.measuredMs.toFixed(3)} ms, predicted ${v.predictedMs.toFixed(3)} ms (${v.errorPercent >= 0 ? '+' : ''}${v.errorPercent.toFixed(1)}%)`,
  ),
  summary.medians.verifyErrorPercent === null
    ? 'no verification run'
    : `median predicted-vs-measured error: ${f(summary.medians.verifyErrorPercent, 1)}% (target within ±10%: ${Math.abs(summary.medians.verifyErrorPercent) <= 10 ? 'met' : 'NOT met'})`,
  `wall time ${(summary.wallMs / 1000).toFixed(0)} s`,
];
console.log(lines.join('\n'));
