/**
 * `npm run bench:gpu [-- --json] [-- --min-reps N] [-- --min-time-ms T]`
 *
 * Runs the GPU backend's kernels through `prunelab-agent run` (backend gpu): every scheme's speedup over the
 * GPU dense kernel at 50/75/90% sparsity with its share of 1/d, and fp16 storage against fp32. On this
 * machine the OpenCL device is PoCL, which runs on the CPU: the output says so loudly, because these are not
 * GPU speeds. Not a test. The pure part is gpu-summary.ts.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GPU_BENCH_LAYERS,
  type GpuOutcome,
  gpuBenchCases,
  gpuPlanLine,
  median,
  renderGpu,
  summarizeGpu,
} from './gpu-summary.ts';

const agentDir = fileURLToPath(new URL('..', import.meta.url));
const agentPath = join(agentDir, 'build', 'host', 'prunelab-agent');

class BenchError extends Error {
  override readonly name = 'BenchError';
}

function parseArgs(argv: readonly string[]): { json: boolean; minReps: number; minTimeMs: number } {
  let json = false;
  let minReps = 10;
  let minTimeMs = 30;
  const positive = (flag: string, text: string | undefined): number => {
    const value = Number(text);
    if (text === undefined || !Number.isFinite(value) || value <= 0)
      throw new BenchError(`${flag} expects a positive number, got ${text ?? 'nothing'}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '--min-reps') minReps = Math.ceil(positive(arg, argv[++i]));
    else if (arg === '--min-time-ms') minTimeMs = positive(arg, argv[++i]);
    else throw new BenchError(`unknown argument ${arg}: expected --json, --min-reps N, --min-time-ms T`);
  }
  return { json, minReps, minTimeMs };
}

function run(command: string, args: readonly string[], input: string, what: string): string {
  const result = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error || result.status !== 0)
    throw new BenchError(
      `${what} failed (exit ${result.status}): ${result.error?.message ?? result.stderr.slice(-2000)}`,
    );
  return result.stdout;
}

function outcomeOf(line: Record<string, unknown>): GpuOutcome {
  if (line.status !== 'ok') return { ok: false, error: String(line.error) };
  const kernelNs = line.kernelNs;
  const samplesNs = line.samplesNs;
  if (!Array.isArray(kernelNs) || !Array.isArray(samplesNs) || kernelNs.length === 0)
    return { ok: false, error: 'result without kernelNs' };
  return {
    ok: true,
    kernelMedianNs: median(kernelNs as number[]),
    wallMedianNs: median(samplesNs as number[]),
    density: Number(line.density),
    kernel: String(line.kernel),
  };
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  run('make', ['-s', '-C', agentDir, 'host'], '', 'building the host agent (make -C device-agent host)');
  const info = JSON.parse(run(agentPath, ['info'], '', 'prunelab-agent info')) as {
    gpu: { error: string | null; platforms: { name: string; devices: { name: string; type: string }[] }[] };
  };
  if (info.gpu.error) throw new BenchError(`no OpenCL device: ${info.gpu.error}`);
  const cases = gpuBenchCases(GPU_BENCH_LAYERS);
  const sampling = { warmup: 2, minReps: opts.minReps, minTimeMs: opts.minTimeMs, maxTimeMs: 5000 };
  const plan = `${cases.map((c) => JSON.stringify(gpuPlanLine(c, sampling))).join('\n')}\n`;
  process.stderr.write(`running ${cases.length} GPU cases (PoCL compiles once, then caches)...\n`);
  const loadBefore = loadavg();
  const stdout = run(agentPath, ['run'], plan, 'prunelab-agent run');
  const loadAfter = loadavg();
  const outcomes = new Map<string, GpuOutcome>();
  let device = 'unknown';
  for (const text of stdout.split('\n').filter((t) => t.trim() !== '')) {
    const line = JSON.parse(text) as Record<string, unknown>;
    if (line.type !== 'result' || typeof line.id !== 'string') continue;
    outcomes.set(line.id, outcomeOf(line));
    const gpu = line.gpu as { platform?: string; device?: string } | undefined;
    if (gpu?.device) device = `${gpu.platform} / ${gpu.device}`;
  }
  const summary = summarizeGpu(cases, outcomes);
  const context = {
    device,
    sampling: `warm-up 2, then >= ${opts.minReps} reps and >= ${opts.minTimeMs} ms per case`,
    load: `1-min load average ${loadBefore[0]?.toFixed(2)} before, ${loadAfter[0]?.toFixed(2)} after (shared machine: figures are noisy)`,
    duration: `${((Date.now() - started) / 1000).toFixed(0)} s`,
  };
  if (opts.json) process.stdout.write(`${JSON.stringify({ context, ...summary }, null, 2)}\n`);
  else process.stdout.write(`${renderGpu(summary, context)}\n`);
}

try {
  main();
} catch (error: unknown) {
  process.stderr.write(`bench:gpu: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
