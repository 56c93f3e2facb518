/**
 * `npm run bench:models`: the own-model path end to end on the host, with the model's real weights.
 *
 *  1. writes a ResNet-like ONNX model (orchestrator/models/test-support.ts resnetLikeNet: a 3x3 stem, 3 stages
 *     of 2 basic blocks, 1x1 shortcut convs, a Gemm head; 16 prunable layers at the default width 32) into
 *     `--out` (default test-artifacts/bench-models);
 *  2. a small sweep of what the map needs, in ONE agent call on the host: every distinct layer shape of the model
 *     under dense, unstructured and bcr 4x1 at 0.5 / 0.75 / 0.9, each case on the weights of the first layer of
 *     that shape (the model's weights blob, pushed like on a phone), and fits a LUT from it (cost-model fitLut);
 *  3. maps it with the rule mapper at `--sparsity` (0.75) and verifies the mapping `--repeats` times (2) with
 *     `map --verify-on`'s code: the mapped, all-dense and best-uniform networks timed end to end with the agent's
 *     network op, then each layer alone;
 *  4. prints, per repeat, the measured end-to-end latency against the LUT's predicted sum (target: within ±10%)
 *     for the mapping, dense and the best uniform baseline; the measured speedups of the mapping; and the
 *     inter-layer effect (mapped network / sum of its layers timed alone).
 *
 * A benchmark, not a test: its figures move with the machine's load. About 1 to 2 minutes here.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { OkResultLine, PlanLine, WeightsRef } from '../../config/agent-protocol.ts';
import { shapeKey } from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import type { Scheme } from '../../config/vocabulary.ts';
import { fitLut, type MeasuredPoint } from '../../cost-model/index.ts';
import { parseAgentOutputLine } from '../agent/parse-output.ts';
import { type AgentBuild, buildAgent } from '../build/agent-build.ts';
import { computeMapping } from '../map/compute.ts';
import { type VerifyReport, verifyOnDevice } from '../map/verify.ts';
import { type OnnxLayer, parseOnnxModel } from '../models/onnx.ts';
import { resnetLikeNet } from '../models/test-support.ts';
import { pushWeightsBlob, weightsRef, writeWeightsBlob } from '../models/weights-blob.ts';
import { shapeFields } from '../plan/plan-line.ts';
import { summarizeResult } from '../scheduler/measurement.ts';
import { createHostDevice } from '../transport/host.ts';
import type { Device } from '../transport/port.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const { values: options } = parseArgs({
  options: {
    out: { type: 'string', default: 'test-artifacts/bench-models' },
    width: { type: 'string', default: '32' },
    sparsity: { type: 'string', default: '0.75' },
    repeats: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});

const SCHEMES: readonly { scheme: Scheme; block?: string }[] = [
  { scheme: 'unstructured' },
  { scheme: 'bcr', block: '4x1' },
];
const SPARSITIES = [0.5, 0.75, 0.9];
const SWEEP = { warmup: 2, minReps: 10, minTimeMs: 50, maxReps: 10_000, maxTimeMs: 1_000 };

function positive(name: string, text: string, integer: boolean): number {
  const value = Number(text);
  if (!(value > 0 && (!integer || Number.isInteger(value)))) {
    console.error(`--${name}: expected a positive ${integer ? 'integer' : 'number'}, got ${text}`);
    process.exit(2);
  }
  return value;
}

/** The first layer of every distinct shape: whose weights stand for the others, as a sweep deduplicates. */
function distinctShapes(layers: readonly OnnxLayer[]): OnnxLayer[] {
  const seen = new Map<string, OnnxLayer>();
  for (const layer of layers) if (!seen.has(shapeKey(layer.shape))) seen.set(shapeKey(layer.shape), layer);
  return [...seen.values()];
}

async function sweepModel(
  device: Device,
  agentPath: string,
  build: AgentBuild,
  layers: readonly OnnxLayer[],
  weightsOf: (name: string) => WeightsRef,
): Promise<MeasuredPoint[]> {
  const plan: PlanLine[] = [];
  for (const layer of distinctShapes(layers)) {
    const options = [
      { scheme: 'dense' as Scheme, sparsity: 0 },
      ...SCHEMES.flatMap((s) => SPARSITIES.map((sparsity) => ({ ...s, sparsity }))),
    ];
    for (const o of options) {
      if (layer.shape.op === 'fc' && o.scheme === 'bcr' && layer.shape.cout % 4 !== 0) continue;
      plan.push({
        id: `${layer.name}|${o.scheme}|${'block' in o ? o.block : '-'}|${o.sparsity}`,
        ...shapeFields(layer.shape),
        scheme: o.scheme,
        ...('block' in o && o.block !== undefined ? { block: o.block } : {}),
        sparsity: o.sparsity,
        weights: weightsOf(layer.name),
        ...SWEEP,
      } as PlanLine);
    }
  }
  const shell = await device.shell([agentPath, 'run'], {
    timeoutMs: 20 * 60_000,
    stdin: plan.map((l) => `${JSON.stringify(l)}\n`).join(''),
  });
  if (shell.exitCode !== 0) throw new Error(`the sweep's agent call failed: ${shell.stderr.slice(-500)}`);
  const byId = new Map(plan.map((l) => [l.id, l]));
  const shapes = new Map(layers.map((l) => [l.name, l.shape]));
  const points: MeasuredPoint[] = [];
  for (const text of shell.stdout.split('\n')) {
    if (text === '') continue;
    const parsed = parseAgentOutputLine(text);
    if (!parsed.ok) throw parsed.error;
    const value = parsed.value;
    if (value.type === 'done') continue;
    if (value.status !== 'ok') throw new Error(`case ${value.id} failed: ${value.error}`);
    const line = byId.get(value.id) as PlanLine & { scheme: Scheme; sparsity: number; block?: string };
    const summary = summarizeResult(value as OkResultLine);
    if (typeof summary === 'string') throw new Error(summary);
    points.push({
      device: { id: device.identity.id, abi: 'host' },
      agentHash: build.hash,
      shape: shapes.get(value.id.split('|')[0] as string) as LayerShape,
      scheme: line.scheme,
      block: line.block,
      density: value.density,
      sparsity: line.sparsity,
      threads: 1,
      medianNs: summary.median,
      ciLowNs: summary.medianCiLow,
      ciHighNs: summary.medianCiHigh,
      n: summary.count,
      flops: value.flops,
      keptBlocks: value.keptBlocks,
    });
  }
  return points;
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const msText = (ns: number): string => (ns / 1e6).toFixed(3);

function printReport(report: VerifyReport, repeat: number): void {
  console.log(
    `\nrepeat ${repeat}: measured end to end (network op) vs the LUT's predicted sum; error = (predicted - measured) / measured`,
  );
  for (const n of report.networks) {
    const within = Math.abs(n.relativeError) <= 0.1 ? 'within ±10%' : 'NOT within ±10%';
    console.log(
      `  ${n.label.padEnd(34)} measured ${msText(n.measuredNs)} ms  predicted ${msText(n.predictedNs)} ms  ` +
        `error ${pct(n.relativeError)} (${within})${n.remeasured ? '  [measured again: disturbed]' : ''}`,
    );
  }
  console.log(
    `  measured speedup of the mapping: ${report.speedupOverDense?.toFixed(2)}x over all dense, ` +
      `${report.speedupOverUniform?.toFixed(2) ?? '-'}x over the best uniform baseline`,
  );
  console.log(
    `  inter-layer effect: mapped network ${msText(report.measuredTotalNs)} ms vs its ${report.layers.length} layers ` +
      `timed alone ${msText(report.sumIsolatedNs)} ms: ${pct(report.interLayerEffect ?? Number.NaN)} ` +
      `(${report.layers.filter((l) => l.chained).length} layers read the previous layer's output)`,
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Medians over the repeats, with their range: the spread is the machine's noise, not the model's. */
function printSummary(reports: readonly VerifyReport[]): void {
  const figure = (name: string, values: readonly number[], format: (x: number) => string) => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return;
    console.log(
      `  ${name.padEnd(44)} median ${format(median(finite))}  (range ${format(Math.min(...finite))} to ${format(Math.max(...finite))})`,
    );
  };
  console.log(`\nover ${reports.length} repeats:`);
  for (const id of ['net-mapped', 'net-dense', 'net-uniform']) {
    const errors = reports.map((r) => r.networks.find((n) => n.id === id)?.relativeError ?? Number.NaN);
    const label = reports[0]?.networks.find((n) => n.id === id)?.label ?? id;
    figure(`${label}: error`, errors, pct);
  }
  figure(
    'measured speedup over all dense',
    reports.map((r) => r.speedupOverDense ?? Number.NaN),
    (x) => `${x.toFixed(2)}x`,
  );
  figure(
    'measured speedup over best uniform',
    reports.map((r) => r.speedupOverUniform ?? Number.NaN),
    (x) => `${x.toFixed(2)}x`,
  );
  figure(
    'inter-layer effect (network / sum - 1)',
    reports.map((r) => r.interLayerEffect ?? Number.NaN),
    pct,
  );
}

async function main(): Promise<void> {
  const width = positive('width', options.width, true);
  const sparsity = positive('sparsity', options.sparsity, false);
  const repeats = positive('repeats', options.repeats, true);
  const outDir = resolve(options.out);
  mkdirSync(outDir, { recursive: true });
  const modelPath = join(outDir, 'resnet-like.onnx');
  writeFileSync(modelPath, resnetLikeNet({ stages: 3, blocksPerStage: 2, width }));
  const model = parseOnnxModel(new Uint8Array(readFileSync(modelPath)), modelPath);
  const device = createHostDevice({ workDir: join(outDir, 'device') });
  const info = await device.info();
  const build = await buildAgent('host', { agentDir: join(repoRoot, 'device-agent'), env: process.env });
  const agentPath = posix.join(info.workDir, `prunelab-agent-${build.hash}`);
  mkdirSync(info.workDir, { recursive: true });
  await device.push(build.binaryPath, agentPath, { mode: 0o755 });
  const blob = await writeWeightsBlob(model, outDir);
  const devicePath = await pushWeightsBlob(device, info.workDir, blob);
  console.log(
    `model ${modelPath}: ${model.layers.length} prunable layers, ${distinctShapes(model.layers).length} distinct ` +
      `shapes, weights blob ${blob.sha256.slice(0, 16)}... (${(blob.sizeBytes / 1e6).toFixed(2)} MB); ` +
      `measured on ${os.cpus()[0]?.model.trim()} under whatever load the machine has`,
  );
  const sweepStart = performance.now();
  const points = await sweepModel(device, agentPath, build, model.layers, (name) => {
    const at = blob.byName.get(name);
    if (at === undefined) throw new Error(`layer ${name} is not in the weights blob`);
    return weightsRef(blob, devicePath, at);
  });
  const lut = fitLut(points, { createdAt: new Date().toISOString() });
  console.log(
    `sweep: ${points.length} cases in ${((performance.now() - sweepStart) / 1000).toFixed(1)} s, LUT fitted`,
  );
  const result = computeMapping({
    lut,
    modelName: model.name,
    layers: model.layers,
    mapper: 'rule',
    sparsity,
    threads: 1,
    seed: 1,
  });
  console.log(
    `rule mapping at sparsity ${sparsity}: ${result.layers.length} layers mapped` +
      (result.unpriced.length > 0
        ? `, ${result.unpriced.length} not priced (${result.unpriced.map((u) => u.name).join(', ')})`
        : '') +
      `; ${result.layers.map((l) => `${l.name} ${l.scheme}${l.block === null ? '' : ` ${l.block}`}`).join(', ')}`,
  );
  const reports: VerifyReport[] = [];
  for (let r = 1; r <= repeats; r++) {
    const report = await verifyOnDevice(
      device,
      build,
      result,
      { source: 'onnx', layers: model.layers },
      {
        seed: 1,
        threads: 1,
        backend: 'cpu',
        measurement: { warmup: 2, minReps: 10, minTimeMs: 200, maxReps: 10_000, maxTimeMs: 2_000 },
        timeoutMs: 20 * 60_000,
      },
    );
    reports.push(report);
    if (!options.json) printReport(report, r);
  }
  if (options.json)
    console.log(JSON.stringify({ model: modelPath, points: points.length, reports }, null, 2));
  else if (reports.length > 1) printSummary(reports);
}

await main();
