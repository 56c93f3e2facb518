/**
 * `--verify-on DEVICE`: the mapping timed on a device. One agent call runs (plan lines from verify-plan.ts):
 *  1. the mapped network end to end with the agent's network op (every layer back to back in one timed
 *     repetition, chained where the ONNX graph connects them), then the all-dense network and the best uniform
 *     baseline timed the same way: these are set against the LUT's predicted sums;
 *  2. every mapped layer again as its own case: the per-layer breakdown, and their sum against the network
 *     (the inter-layer effect: caches warm or cold between layers).
 * Hygiene as in a sweep: warm-up, repetitions, medians, and the disturbance probe: a line whose probe ran more
 * than `lab.disturbance.tolerance` slower than the call's fastest is measured again once (a second call) and
 * the calmer of the two kept. An ONNX model runs with its own weights (a blob pushed to the device); a
 * built-in table with the agent's seeded weights. The network op runs on the CPU only: a GPU LUT is verified
 * layer by layer (the sum of isolated layers is then the measured total, and no end-to-end figure is claimed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type {
  DoneLine,
  ErrorResultLine,
  NetworkPlanLine,
  NetworkResultLine,
  OkResultLine,
  PlanLine,
  WeightsRef,
} from '../../config/agent-protocol.ts';
import { DEFAULT_LAB } from '../../config/defaults.ts';
import type { LayerShape, MeasurementPolicy } from '../../config/types.ts';
import type { Backend } from '../../config/vocabulary.ts';
import { parseAgentOutputLine, parseNetworkOutputLine } from '../agent/parse-output.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import { pushWeightsBlob, type WeightsBlob, weightsRef, writeWeightsBlob } from '../models/weights-blob.ts';
import { summarizeResult } from '../scheduler/measurement.ts';
import type { Device } from '../transport/port.ts';
import type { MapResult } from './compute.ts';
import { VerifyError } from './errors.ts';
import {
  chainFlags,
  type NetworkVariant,
  networkLine,
  networkVariants,
  type VerifyChoice,
  verifyPlanLines,
} from './verify-plan.ts';

export interface VerifiedLayer {
  readonly name: string;
  readonly predictedNs: number;
  /** Median of the layer timed alone (the second pass). */
  readonly measuredNs: number;
  readonly density: number;
  readonly kernel: string;
  /** Reads the previous layer's output in the networks. */
  readonly chained: boolean;
}

export interface VerifiedNetwork {
  readonly id: string;
  readonly label: string;
  readonly predictedNs: number;
  /** Median of the end-to-end repetitions. */
  readonly measuredNs: number;
  readonly reps: number;
  /** (predicted - measured) / measured. */
  readonly relativeError: number;
  /** Measured a second time because its probe said the first was disturbed. */
  readonly remeasured: boolean;
}

export interface VerifyReport {
  readonly device: string;
  readonly agentHash: string;
  /** `seeded (seed N)` or the sha256 of the weights blob every line read. */
  readonly weights: string;
  /** The second pass: each mapped layer alone. */
  readonly layers: readonly VerifiedLayer[];
  /** The networks timed end to end (empty on the GPU backend). */
  readonly networks: readonly VerifiedNetwork[];
  /** The LUT's predicted sum for the mapping. */
  readonly predictedTotalNs: number;
  /** The mapped network end to end (on the GPU backend: the sum of the isolated layers). */
  readonly measuredTotalNs: number;
  /** (predicted - measured) / measured. */
  readonly relativeError: number;
  /** Sum of the isolated layers' medians. */
  readonly sumIsolatedNs: number;
  /** network / sum of isolated - 1 (null without a network). */
  readonly interLayerEffect: number | null;
  /** Measured: dense network / mapped network, uniform network / mapped network (null when not run). */
  readonly speedupOverDense: number | null;
  readonly speedupOverUniform: number | null;
  /** What the network op does not run, in the agent's words (null without a network). */
  readonly notRun: string | null;
  readonly remeasuredLines: readonly string[];
  readonly wallMs: number;
}

/** What verification needs of the model: its layers with weights (ONNX) and graph links. */
export interface VerifyModel {
  readonly source: 'built-in' | 'onnx';
  readonly layers: readonly {
    readonly name: string;
    readonly node?: string;
    readonly shape: LayerShape;
    readonly weights?: Float32Array;
    readonly inputFrom?: string | null;
  }[];
}

export interface VerifyOptions {
  readonly seed: number;
  readonly threads: number;
  /** The backend the LUT was measured on: the layers are verified on the same one. */
  readonly backend: Backend;
  readonly measurement: MeasurementPolicy;
  /** Longest each agent call may take. */
  readonly timeoutMs: number;
  /** A line whose probe ran more than this share slower than the call's fastest is measured again once. */
  readonly disturbanceTolerance?: number;
}

type Line = PlanLine | NetworkPlanLine;
type Outcome = OkResultLine | NetworkResultLine;

interface CallContext {
  readonly device: Device;
  readonly agentPath: string;
  readonly options: VerifyOptions;
  readonly what: string;
}

function parseLine(deviceId: string, text: string): Outcome | ErrorResultLine | DoneLine {
  const network = parseNetworkOutputLine(text);
  if (network.ok) return network.value;
  const parsed = parseAgentOutputLine(text);
  if (parsed.ok) return parsed.value;
  throw new VerifyError(
    `--verify-on ${deviceId}: the agent printed a line that is not protocol output: ${parsed.error.message}`,
    { device: deviceId },
  );
}

/** One agent call: every line must come back ok (an error record names the layer and why). */
async function runLines(ctx: CallContext, lines: readonly Line[]): Promise<Map<string, Outcome>> {
  const deviceId = ctx.device.identity.id;
  const shell = await ctx.device.shell([ctx.agentPath, 'run'], {
    timeoutMs: ctx.options.timeoutMs,
    stdin: lines.map((l) => `${JSON.stringify(l)}\n`).join(''),
  });
  if (shell.timedOut || shell.exitCode !== 0) {
    throw new VerifyError(
      `--verify-on ${deviceId}: the agent ${shell.timedOut ? `did not finish within ${ctx.options.timeoutMs} ms` : `exited with ${shell.exitCode ?? shell.signal}`}` +
        ` while running ${ctx.what}; stderr: ${shell.stderr.trim().slice(-300) || '(empty)'}`,
      { device: deviceId, exitCode: shell.exitCode, timedOut: shell.timedOut },
    );
  }
  const results = new Map<string, Outcome>();
  const errors: string[] = [];
  for (const text of shell.stdout.split('\n')) {
    if (text.trim() === '') continue;
    const value = parseLine(deviceId, text);
    if (value.type === 'done') continue;
    if (value.status === 'ok') results.set(value.id, value);
    else errors.push(`${value.id}: ${value.error}`);
  }
  if (errors.length > 0 || results.size !== lines.length) {
    throw new VerifyError(
      `--verify-on ${deviceId}: ${lines.length - results.size} of ${lines.length} lines (${ctx.what}) did not run: ` +
        `${errors.slice(0, 3).join('; ') || 'missing results'}`,
      { device: deviceId, errors },
    );
  }
  return results;
}

const slowestProbe = (r: Outcome): number => (r.probeNs === undefined ? Number.NaN : Math.max(...r.probeNs));

/** The lines whose probe says they ran disturbed, measured again once; the calmer result is kept. */
async function remeasureDisturbed(
  ctx: CallContext,
  lines: readonly Line[],
  results: Map<string, Outcome>,
): Promise<string[]> {
  const tolerance = ctx.options.disturbanceTolerance ?? DEFAULT_LAB.disturbance.tolerance;
  const fastest = Math.min(...[...results.values()].map((r) => slowestProbe(r)).filter(Number.isFinite));
  if (!Number.isFinite(fastest)) return [];
  const disturbed = lines.filter(
    (l) => slowestProbe(results.get(l.id) as Outcome) > fastest * (1 + tolerance),
  );
  if (disturbed.length === 0) return [];
  const again = await runLines({ ...ctx, what: `${disturbed.length} disturbed lines again` }, disturbed);
  for (const line of disturbed) {
    const second = again.get(line.id) as Outcome;
    if (slowestProbe(second) < slowestProbe(results.get(line.id) as Outcome)) results.set(line.id, second);
  }
  return disturbed.map((l) => l.id);
}

function median(result: Outcome, deviceId: string, what: string): number {
  if (result.op === 'network') return result.medianNs;
  const summary = summarizeResult(result);
  if (typeof summary === 'string')
    throw new VerifyError(`--verify-on ${deviceId}: ${what}: ${summary}`, { device: deviceId });
  return summary.median;
}

/** The model's weights blob, on the device, for an ONNX model; undefined (seeded weights) for a built-in one. */
async function deviceWeights(
  device: Device,
  workDir: string,
  model: VerifyModel,
  scratch: string,
): Promise<{ blob: WeightsBlob; devicePath: string } | undefined> {
  if (model.source !== 'onnx') return undefined;
  const layers = model.layers.flatMap((l) =>
    l.weights === undefined ? [] : [{ name: l.name, node: l.node ?? l.name, weights: l.weights }],
  );
  const blob = await writeWeightsBlob({ layers }, scratch);
  return { blob, devicePath: await pushWeightsBlob(device, workDir, blob) };
}

function report(
  base: Pick<VerifyReport, 'device' | 'agentHash' | 'weights' | 'remeasuredLines' | 'wallMs'>,
  result: MapResult,
  variants: readonly NetworkVariant[],
  chain: readonly boolean[],
  outcomes: ReadonlyMap<string, Outcome>,
  remeasured: ReadonlySet<string>,
): VerifyReport {
  const layers = result.layers.map((layer, i): VerifiedLayer => {
    const outcome = outcomes.get(`l${i}`) as OkResultLine;
    return {
      name: layer.name,
      predictedNs: layer.latencyNs,
      measuredNs: median(outcome, base.device, `layer ${layer.name}`),
      density: outcome.density,
      kernel: outcome.kernel,
      chained: chain[i] === true,
    };
  });
  const networks = variants.flatMap((v): VerifiedNetwork[] => {
    const outcome = outcomes.get(v.id) as NetworkResultLine | undefined;
    if (outcome === undefined) return [];
    return [
      {
        id: v.id,
        label: v.label,
        predictedNs: v.predictedNs,
        measuredNs: outcome.medianNs,
        reps: outcome.reps,
        relativeError: (v.predictedNs - outcome.medianNs) / outcome.medianNs,
        remeasured: remeasured.has(v.id),
      },
    ];
  });
  const sumIsolatedNs = layers.reduce((s, l) => s + l.measuredNs, 0);
  const byId = (id: string) => networks.find((n) => n.id === id);
  const mapped = byId('net-mapped');
  const measuredTotalNs = mapped?.measuredNs ?? sumIsolatedNs;
  const predictedTotalNs = result.totals.latencyNs;
  const speedup = (id: string) => {
    const other = byId(id);
    return other === undefined || mapped === undefined ? null : other.measuredNs / mapped.measuredNs;
  };
  const anyNetwork = outcomes.get('net-mapped') as NetworkResultLine | undefined;
  return {
    ...base,
    layers,
    networks,
    predictedTotalNs,
    measuredTotalNs,
    relativeError: (predictedTotalNs - measuredTotalNs) / measuredTotalNs,
    sumIsolatedNs,
    interLayerEffect: mapped === undefined ? null : mapped.measuredNs / sumIsolatedNs - 1,
    speedupOverDense: speedup('net-dense'),
    speedupOverUniform: speedup('net-uniform'),
    notRun: anyNetwork?.notRun ?? null,
  };
}

/** Every line read the weights it was given: the blob's, or the seeded ones; never a silent mix. */
function checkWeights(deviceId: string, outcomes: ReadonlyMap<string, Outcome>, expected: string): void {
  for (const [id, outcome] of outcomes) {
    const used = outcome.op === 'network' ? outcome.layers.map((l) => l.weights) : [outcome.weights];
    if (used.some((w) => w !== undefined && w !== expected)) {
      throw new VerifyError(
        `--verify-on ${deviceId}: line ${id} ran on weights ${used.join(', ')}, expected ${expected}; the agent on ` +
          'the device is older than real weights or the blob changed: rebuild and run again',
        { device: deviceId },
      );
    }
  }
}

/** A verification call's setup: the agent and (for an ONNX model) the weights blob on the device. */
interface DeviceSession {
  readonly agentPath: string;
  readonly weights: { blob: WeightsBlob; devicePath: string } | undefined;
  readonly weightsOf: (name: string) => WeightsRef | undefined;
  readonly inputFrom: ReadonlyMap<string, string | null>;
}

/** Pushes the agent and the model's weights, runs `body`, and removes the local scratch files. */
async function withDeviceSession<T>(
  device: Device,
  build: AgentBuild,
  model: VerifyModel,
  body: (session: DeviceSession) => Promise<T>,
): Promise<T> {
  const info = await device.info();
  const agentPath = posix.join(info.workDir, `prunelab-agent-${build.hash}`);
  await device.push(build.binaryPath, agentPath, { mode: 0o755 });
  const scratch = await mkdtemp(join(tmpdir(), 'prunelab-verify-'));
  try {
    const weights = await deviceWeights(device, info.workDir, model, scratch);
    const weightsOf = (name: string): WeightsRef | undefined => {
      const at = weights?.blob.byName.get(name);
      return weights === undefined || at === undefined
        ? undefined
        : weightsRef(weights.blob, weights.devicePath, at);
    };
    const inputFrom = new Map(model.layers.map((l) => [l.name, l.inputFrom ?? null]));
    return await body({ agentPath, weights, weightsOf, inputFrom });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function verifyOnDevice(
  device: Device,
  build: AgentBuild,
  result: MapResult,
  model: VerifyModel,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const started = performance.now();
  const deviceId = device.identity.id;
  return withDeviceSession(device, build, model, async ({ agentPath, weights, weightsOf, inputFrom }) => {
    const chain = chainFlags(result.layers, inputFrom);
    const variants = networkVariants(result);
    const lines = verifyPlanLines(variants, chain, options, weightsOf);
    const ctx: CallContext = {
      device,
      agentPath,
      options,
      what: `the ${result.layers.length} mapped layers`,
    };
    const outcomes = await runLines(ctx, lines);
    const remeasured = await remeasureDisturbed(ctx, lines, outcomes);
    checkWeights(deviceId, outcomes, weights?.blob.sha256 ?? 'seeded');
    return report(
      {
        device: deviceId,
        agentHash: build.hash,
        weights: weights === undefined ? `seeded (seed ${options.seed})` : weights.blob.sha256,
        remeasuredLines: remeasured,
        wallMs: performance.now() - started,
      },
      result,
      variants,
      chain,
      outcomes,
      new Set(remeasured),
    );
  });
}

/**
 * One layer list (a row of `map --evaluate-with`'s table) timed the way the mapping is verified: end to end
 * by the network op, chained as the ONNX graph connects the layers, on the model's own weights; on the GPU
 * backend (no network op) the sum of its layers timed alone. Returns that median in ns.
 */
export async function measureLayersOnDevice(
  device: Device,
  build: AgentBuild,
  layers: readonly VerifyChoice[],
  model: VerifyModel,
  options: VerifyOptions,
): Promise<number> {
  const deviceId = device.identity.id;
  return withDeviceSession(device, build, model, async ({ agentPath, weights, weightsOf, inputFrom }) => {
    const chain = chainFlags(layers, inputFrom);
    const variant: NetworkVariant = { id: 'net-row', label: 'row', predictedNs: Number.NaN, layers };
    const lines: Line[] =
      options.backend === 'cpu'
        ? [networkLine(variant, chain, options, weightsOf)]
        : verifyPlanLines([variant], chain, options, weightsOf);
    const ctx: CallContext = { device, agentPath, options, what: `a row of ${layers.length} layers` };
    const outcomes = await runLines(ctx, lines);
    await remeasureDisturbed(ctx, lines, outcomes);
    checkWeights(deviceId, outcomes, weights?.blob.sha256 ?? 'seeded');
    return lines.reduce(
      (sum, line) => sum + median(outcomes.get(line.id) as Outcome, deviceId, `line ${line.id}`),
      0,
    );
  });
}
