/**
 * `npm run bench:kernels [-- --json] [-- --quick] [-- --min-reps N] [-- --min-time-ms T] [-- --rounds R]`
 *
 * Builds the host agent and a tiny OpenBLAS timer, times ResNet-50's 1x1 and 3x3 convs and two FC layers
 * under every scheme at 50/75/90% sparsity (the agent's `run` command, one JSON-lines plan), the same GEMM
 * shapes in OpenBLAS, and 1 against 2 threads on the large layers; then, shape by shape, the agent's dense
 * kernel and ONNX Runtime on every conv shape of the four built-in models (the anchor: anchor-cases.ts, ort.ts);
 * prints the tables and checks the issue's targets. Not a test: figures depend on the machine and on whatever
 * else runs on it (the load average is printed beside them). The I/O lives here and in ort.ts / ort-anchor.ts;
 * cases.ts, anchor-cases.ts, summarize.ts, anchor.ts and the render modules are pure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SamplingFields } from '../../config/agent-protocol.ts';
import { type AnchorSummary, type OrtShapeTimes, summarizeAnchor } from './anchor.ts';
import { anchorCases, anchorLayers } from './anchor-cases.ts';
import {
  type BenchCase,
  type BenchLayer,
  benchCases,
  benchLayers,
  gemmShape,
  planLine,
  variantName,
} from './cases.ts';
import { ortVersion } from './ort.ts';
import { callFloorNs, timeOrtShapes } from './ort-anchor.ts';
import { renderText } from './render.ts';
import { renderAnchor } from './render-anchor.ts';
import { type BenchSummary, type CaseOutcome, gemmKey, median, summarize } from './summarize.ts';

const agentDir = fileURLToPath(new URL('..', import.meta.url));
const agentPath = join(agentDir, 'build', 'host', 'prunelab-agent');
const blasPath = join(agentDir, 'build', 'host', 'openblas-sgemm');
const blasSource = join(agentDir, 'bench', 'openblas-sgemm.c');

/** Defaults: enough samples for a stable median, a full run in a few minutes on 2 cores. */
const DEFAULT_MIN_REPS = 15;
const DEFAULT_MIN_TIME_MS = 50;
const DEFAULT_MAX_TIME_MS = 5000;
const DEFAULT_ROUNDS = 2;

class BenchError extends Error {
  override readonly name = 'BenchError';
  constructor(
    message: string,
    readonly data: Readonly<Record<string, unknown>>,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

interface Options {
  readonly json: boolean;
  readonly quick: boolean;
  readonly minReps: number;
  readonly minTimeMs: number;
  /** The whole plan runs this many times and each case's samples are pooled, so a burst of other work on
   * the machine hits every scheme of a layer alike instead of one case. */
  readonly rounds: number;
}

function parseArgs(argv: readonly string[]): Options {
  let json = false;
  let quick = false;
  let minReps = DEFAULT_MIN_REPS;
  let minTimeMs = DEFAULT_MIN_TIME_MS;
  let rounds = DEFAULT_ROUNDS;
  const positive = (flag: string, text: string | undefined): number => {
    const value = Number(text);
    if (text === undefined || !Number.isFinite(value) || value <= 0)
      throw new BenchError(`${flag} expects a positive number, got ${text ?? 'nothing'}`, { flag, text });
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '--quick') quick = true;
    else if (arg === '--min-reps') minReps = Math.ceil(positive(arg, argv[++i]));
    else if (arg === '--min-time-ms') minTimeMs = positive(arg, argv[++i]);
    else if (arg === '--rounds') rounds = Math.ceil(positive(arg, argv[++i]));
    else
      throw new BenchError(
        `unknown argument ${arg}: expected --json, --quick, --min-reps N, --min-time-ms T, --rounds R`,
        {
          arg,
        },
      );
  }
  return { json, quick, minReps, minTimeMs, rounds };
}

function runChecked(command: string, args: readonly string[], what: string, hint: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error || result.status !== 0) {
    const detail = result.error ? result.error.message : (result.stderr || result.stdout).trim().slice(-2000);
    throw new BenchError(
      `${what} failed (${command} ${args.join(' ')}): ${detail}\n${hint}`,
      { command, args },
      {
        cause: result.error,
      },
    );
  }
  return result.stdout;
}

function build(): void {
  runChecked(
    'make',
    ['-s', '-C', agentDir, 'host'],
    'building the host agent',
    'fix the C build first (make -C device-agent host)',
  );
  runChecked(
    'cc',
    ['-O2', '-std=gnu11', '-Wall', '-o', blasPath, blasSource, '-lopenblas'],
    'building the OpenBLAS timer',
    'it needs OpenBLAS: apt-get install libopenblas-dev',
  );
}

function agentDescription(): string {
  const info = JSON.parse(runChecked(agentPath, ['info'], 'prunelab-agent info', '')) as Record<
    string,
    unknown
  >;
  const pick = (k: string) =>
    typeof info[k] === 'string' || typeof info[k] === 'number' ? String(info[k]) : undefined;
  const simd = Array.isArray(info.simd) ? (info.simd as unknown[]).join(',') : pick('simd');
  return [pick('abi'), pick('buildHash') && `build ${pick('buildHash')}`, simd && `simd ${simd}`]
    .filter(Boolean)
    .join(', ');
}

/** One case's result lines over all rounds -> its outcome: samples pooled; any error wins. */
function outcomeOf(lines: readonly Record<string, unknown>[]): CaseOutcome {
  const samples: number[] = [];
  for (const line of lines) {
    if (line.status !== 'ok')
      return { ok: false, error: typeof line.error === 'string' ? line.error : 'agent error' };
    const s = line.samplesNs;
    if (!Array.isArray(s) || s.length === 0 || !s.every((x) => typeof x === 'number'))
      return { ok: false, error: 'result without samplesNs' };
    samples.push(...(s as number[]));
  }
  const first = lines[0];
  if (!first) return { ok: false, error: 'not measured' };
  return {
    ok: true,
    medianNs: median(samples),
    fastestNs: Math.min(...samples),
    samples: samples.length,
    density: Number(first.density),
    flops: Number(first.flops),
    kernel: String(first.kernel),
  };
}

/** Runs the plan (rounds times over) through `prunelab-agent run`, with progress on stderr. */
async function runAgent(
  cases: readonly BenchCase[],
  sampling: SamplingFields,
  rounds: number,
): Promise<Map<string, CaseOutcome>> {
  const child = spawn(agentPath, ['run'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const byId = new Map(cases.map((c) => [c.id, c]));
  const results = new Map<string, Record<string, unknown>[]>();
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (cause) =>
      reject(new BenchError(`cannot start ${agentPath}: ${cause.message}`, {}, { cause })),
    );
    child.on('close', resolve);
  });
  // Odd rounds run the plan backwards, so slow drift (heat, other work) does not always favour the same end.
  const lines = cases.map((c) => JSON.stringify(planLine(c, sampling)));
  const plan = Array.from({ length: rounds }, (_, r) =>
    (r % 2 === 0 ? lines : [...lines].reverse()).join('\n'),
  );
  child.stdin.end(`${plan.join('\n')}\n`);
  const total = cases.length * rounds;
  let seen = 0;
  for await (const text of createInterface({ input: child.stdout })) {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch (cause) {
      throw new BenchError(
        `the agent printed a line that is not JSON: ${text.slice(0, 200)}`,
        { text },
        { cause },
      );
    }
    if (line.type !== 'result' || typeof line.id !== 'string') continue;
    seen++;
    results.set(line.id, [...(results.get(line.id) ?? []), line]);
    const c = byId.get(line.id);
    if (!c) continue;
    const what = `${c.layer.key} ${variantName(c.variant)}${c.sparsity ? ` @${c.sparsity}` : ''} t${c.threads}`;
    const samples = Array.isArray(line.samplesNs) ? (line.samplesNs as number[]) : [];
    const got =
      line.status === 'ok' && samples.length > 0
        ? `${(median(samples) / 1e3).toFixed(1)} us  ${String(line.kernel)}`
        : `refused: ${String(line.error)}`;
    process.stderr.write(`[${String(seen).padStart(4)}/${total}] ${what}: ${got}\n`);
  }
  const code = await exited;
  if (code !== 0) throw new BenchError(`prunelab-agent run exited with ${code}`, { code });
  return new Map(cases.map((c) => [c.id, outcomeOf(results.get(c.id) ?? [])]));
}

function runOpenblas(
  shapes: readonly string[],
  opts: Options,
): { core: string; medians: Map<string, number> } {
  // A fair baseline: OpenBLAS picks its own kernel for this CPU (these variables pin a kernel when set
  // machine-wide), on one thread like the agent's single-thread figures.
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const result = spawnSync(
    blasPath,
    ['--min-reps', String(opts.minReps), '--min-time-ms', String(opts.minTimeMs), ...shapes],
    {
      encoding: 'utf8',
      env,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  if (result.status !== 0)
    throw new BenchError(
      `openblas-sgemm failed: ${result.stderr || result.error?.message}`,
      { shapes },
      { cause: result.error },
    );
  let core = 'unknown';
  const medians = new Map<string, number>();
  for (const text of result.stdout.split('\n').filter((t) => t.trim() !== '')) {
    const line = JSON.parse(text) as {
      type: string;
      corename?: string;
      m?: number;
      k?: number;
      n?: number;
      samplesNs?: number[];
    };
    if (line.type === 'openblas') core = line.corename ?? core;
    else if (line.samplesNs && line.m && line.k && line.n)
      medians.set(gemmKey(line.m, line.k, line.n), median(line.samplesNs));
  }
  return { core, medians };
}

/**
 * The anchor: layer by layer, the agent's dense kernel (1 and 2 threads, its own process) and then ONNX
 * Runtime (1 and 2 threads) on the same shape, so a burst of other work on the shared machine lands on both
 * sides of one shape rather than on one side of the table. Then the anchor's tables.
 */
async function anchorPart(
  anchor: readonly BenchLayer[],
  layers: readonly BenchLayer[],
  blasNs: ReadonlyMap<string, number>,
  summary: BenchSummary,
  opts: Options,
): Promise<{ summary: AnchorSummary; ortVersion: string; callFloorNs: number }> {
  const agentSampling: SamplingFields = {
    warmup: 2,
    minReps: opts.minReps,
    minTimeMs: opts.minTimeMs,
    maxTimeMs: DEFAULT_MAX_TIME_MS,
  };
  const ortSampling = {
    warmup: 2,
    minReps: opts.minReps,
    minTimeMs: opts.minTimeMs,
    maxTimeMs: DEFAULT_MAX_TIME_MS,
  };
  process.stderr.write(`anchor: the agent's dense kernel and ONNX Runtime on ${anchor.length} shapes...\n`);
  const cases: BenchCase[] = [];
  const outcomes = new Map<string, CaseOutcome>();
  const ort = new Map<string, OrtShapeTimes>();
  for (const layer of anchor) {
    const mine = anchorCases([layer]);
    cases.push(...mine);
    for (const [id, outcome] of await runAgent(mine, agentSampling, opts.rounds)) outcomes.set(id, outcome);
    const times = await timeOrtShapes([layer], ortSampling, opts.rounds, (text) =>
      process.stderr.write(`${text}\n`),
    );
    for (const [key, t] of times) ort.set(key, t);
  }
  // OpenBLAS on every anchor shape's GEMM the scheme tables did not already time (depthwise is no one GEMM).
  const gemms = anchor
    .filter((l) => l.shape.op !== 'dwconv')
    .map((l) => gemmShape(l.shape))
    .map(({ m, k, n }) => gemmKey(m, k, n))
    .filter((key) => !blasNs.has(key));
  process.stderr.write(`timing OpenBLAS on ${gemms.length} more GEMM shapes...\n`);
  const more =
    gemms.length === 0 ? new Map<string, number>() : runOpenblas([...new Set(gemms)], opts).medians;
  const allBlasNs = new Map([...blasNs, ...more]);
  return {
    summary: summarizeAnchor({
      anchorLayers: anchor,
      schemeLayers: layers,
      schemeTables: summary.layers,
      cases,
      outcomes,
      blasNs: allBlasNs,
      ort,
    }),
    ortVersion: await ortVersion(),
    callFloorNs: await callFloorNs(ortSampling),
  };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  process.stderr.write('building the host agent and the OpenBLAS timer...\n');
  build();
  const agent = agentDescription();
  const layers = benchLayers(opts.quick);
  const cases = benchCases(layers);
  const sampling: SamplingFields = {
    warmup: 2,
    minReps: opts.minReps,
    minTimeMs: opts.minTimeMs,
    maxTimeMs: DEFAULT_MAX_TIME_MS,
  };
  const loadBefore = loadavg();
  const outcomes = await runAgent(cases, sampling, opts.rounds);
  const shapes = [...new Set(layers.map((l) => gemmShape(l.shape)).map(({ m, k, n }) => gemmKey(m, k, n)))];
  process.stderr.write(`timing OpenBLAS on ${shapes.length} GEMM shapes...\n`);
  const blas = runOpenblas(shapes, opts);
  const summary = summarize(layers, cases, outcomes, blas.medians);
  // The anchor's layers: every conv shape of the four models, plus the scheme table's fc layers.
  const anchor = [...anchorLayers(opts.quick), ...layers.filter((l) => l.group === 'fc')];
  const ort = await anchorPart(anchor, layers, blas.medians, summary, opts);
  const loadAfter = loadavg();
  const durationS = (Date.now() - started) / 1000;
  const samplingText = `warm-up 2, then >= ${opts.minReps} reps and >= ${opts.minTimeMs} ms per case, ${opts.rounds} round(s) pooled`;
  if (opts.json) {
    const context = {
      agent,
      openblasCore: blas.core,
      sampling: samplingText,
      loadBefore,
      loadAfter,
      durationS,
    };
    const anchorContext = { ortVersion: ort.ortVersion, ortCallFloorNs: ort.callFloorNs };
    process.stdout.write(
      `${JSON.stringify({ context: { ...context, ...anchorContext }, ...summary, anchor: ort.summary }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(
      `${renderText(summary, { agent, openblasCore: blas.core, sampling: samplingText, loadBefore, loadAfter, durationS })}\n`,
    );
    process.stdout.write(
      `\n${renderAnchor(ort.summary, { ortVersion: ort.ortVersion, callFloorNs: ort.callFloorNs })}\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:kernels: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`,
  );
  process.exit(1);
});
