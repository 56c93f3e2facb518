/**
 * `npm run bench:orchestrator -- --disturbance`: does the agent's probe (device-agent/src/probe.h: a core phase
 * and a memory-streaming phase) see a neighbour competing for memory bandwidth, and what do the re-measures it
 * causes cost? In one run: the probe's two phases on idle cases, alternately on the machine as it is ("calm":
 * whatever else runs on it) and with a memory-streaming process that this bench starts (and stops) beside the
 * agent; then the --quick sweep calm and loaded. Reports per condition the probe phases' medians and their cost
 * per case, the cases re-measured, the wall time and how much of it went to re-measure passes (their calm waits
 * included), and how much CPU the load process really got.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAgentOutputLine } from '../agent/parse-output.ts';
import type { SchedulerEvent } from '../scheduler/events.ts';
import { sleepUnlessAborted } from '../sleep.ts';
import { medianOf } from '../stats/index.ts';
import { openStore } from '../store/open.ts';
import type { Device } from '../transport/port.ts';

/** Idle cases whose probes are sampled per condition (each carries two probes). */
const PROBE_CASES = 40;
/** Floats per array of the load: 2 x 64 MB, far beyond any last-level cache, so every copy goes to DRAM. */
const LOAD_FLOATS = 8 * 1024 * 1024;
/** Probe samples alternate calm / loaded this many times. */
const ALTERNATIONS = 3;
/** Time the load runs before anything is measured under it. */
const LOAD_SETTLE_MS = 500;

/**
 * The neighbour: a Node process copying one 64 MB Float64Array into another forever (TypedArray.set is a
 * memcpy, about as hard on DRAM as one core can be), pinned with taskset to the last CPU when taskset exists.
 */
export function startMemoryLoad(cpu: number | undefined): ChildProcess {
  const script = `const a = new Float64Array(${LOAD_FLOATS}).fill(1), b = new Float64Array(${LOAD_FLOATS}); for (;;) b.set(a);`;
  const [command, args] =
    cpu === undefined
      ? [process.execPath, ['-e', script]]
      : ['taskset', ['-c', String(cpu), process.execPath, '-e', script]];
  return spawn(command, args, { stdio: 'ignore' });
}

async function stopMemoryLoad(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

export interface ProbeSample {
  readonly cases: number;
  readonly streamBytes: number | undefined;
  readonly coreMedianNs: number;
  readonly streamMedianNs: number;
  readonly totalMedianNs: number;
  /** What the probes cost a case: its span between the telemetry stamps minus its sampling (both probes, the
   * untimed warm-up probe and two telemetry reads), median over the idle cases. */
  readonly caseOverheadMedianNs: number;
}

/** PROBE_CASES idle cases of 1 ms in one agent call; the medians of every probe's phases. */
async function sampleProbes(device: Device, agentPath: string): Promise<ProbeSample> {
  const plan = Array.from({ length: PROBE_CASES }, (_, i) =>
    JSON.stringify({ id: `p${i}`, op: 'idle', durationUs: 1000, warmup: 0, minReps: 1, minTimeMs: 0 }),
  );
  const core: number[] = [];
  const stream: number[] = [];
  const total: number[] = [];
  const overhead: number[] = [];
  let streamBytes: number | undefined;
  const result = await device.shell([agentPath, 'run'], {
    timeoutMs: 120_000,
    stdin: `${plan.join('\n')}\n`,
    onStdoutLine: (text) => {
      const parsed = parseAgentOutputLine(text);
      if (!parsed.ok || parsed.value.type !== 'result' || parsed.value.status !== 'ok') return;
      core.push(...(parsed.value.probeCoreNs ?? []));
      stream.push(...(parsed.value.probeStreamNs ?? []));
      total.push(...(parsed.value.probeNs ?? []));
      streamBytes = parsed.value.probeStreamBytes ?? streamBytes;
      const { before, after } = parsed.value.telemetry;
      if (parsed.value.samplingNs !== undefined)
        overhead.push(after.timeNs - before.timeNs - parsed.value.samplingNs);
    },
  });
  if (result.exitCode !== 0 || core.length === 0 || stream.length === 0)
    throw new Error(
      `the probe sample failed: expected ${PROBE_CASES} idle results with probeCoreNs and probeStreamNs, got ${core.length / 2} (exit ${result.exitCode}): ${result.stderr.slice(-500)}`,
    );
  return {
    cases: PROBE_CASES,
    streamBytes,
    coreMedianNs: medianOf(core),
    streamMedianNs: medianOf(stream),
    totalMedianNs: medianOf(total),
    caseOverheadMedianNs: medianOf(overhead),
  };
}

/** The medians of several samples' medians (one per alternation). */
function pooledSample(samples: readonly ProbeSample[]): ProbeSample {
  const first = samples[0];
  if (first === undefined) throw new RangeError('no probe samples');
  const m = (pick: (p: ProbeSample) => number) => medianOf(samples.map(pick));
  return {
    cases: samples.reduce((sum, p) => sum + p.cases, 0),
    streamBytes: first.streamBytes,
    coreMedianNs: m((p) => p.coreMedianNs),
    streamMedianNs: m((p) => p.streamMedianNs),
    totalMedianNs: m((p) => p.totalMedianNs),
    caseOverheadMedianNs: m((p) => p.caseOverheadMedianNs),
  };
}

/** CPU seconds a process has used (utime + stime of /proc/PID/stat); undefined when /proc cannot say. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name; in clock ticks (100/s
    // on Linux unless the kernel says otherwise, which getconf CLK_TCK would show).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export interface SweepUnderCondition {
  readonly cases: number;
  readonly wallMs: number;
  /** Cases measured again at least once, and re-measures in all. */
  readonly remeasuredCases: number;
  readonly remeasures: number;
  /** Re-measure passes: from the first pass's calm wait to the end of the sweep. */
  readonly remeasurePassesMs: number;
  /** Of which waiting for a calm probe (lab.disturbance.calmWaitMs caps each wait). */
  readonly calmWaitMs: number;
  readonly passes: number;
}

/** Runs one sweep through `runSweep` (the caller's) into `dbPath`, and counts what the probe sent round again. */
async function sweepUnder(
  dbPath: string,
  sweep: (
    dbPath: string,
    emit: (event: SchedulerEvent) => void,
  ) => Promise<{ runId: string; wallMs: number; cases: number }>,
): Promise<SweepUnderCondition> {
  const startedMs = performance.now();
  let firstPassStartMs: number | undefined;
  let calmWaitMs = 0;
  let passes = 0;
  const { runId, wallMs, cases } = await sweep(dbPath, (event) => {
    if (event.type !== 'remeasure-start') return;
    passes++;
    calmWaitMs += event.calmWaitMs;
    firstPassStartMs ??= performance.now() - event.calmWaitMs;
  });
  const endedMs = performance.now();
  const store = await openStore(dbPath);
  try {
    const rows = await store.db
      .selectFrom('measurements as m')
      .innerJoin('tasks as t', 't.id', 'm.task_id')
      .select(['m.remeasures'])
      .where('t.run_id', '=', runId)
      .execute();
    return {
      cases,
      wallMs,
      remeasuredCases: rows.filter((r) => r.remeasures > 0).length,
      remeasures: rows.reduce((sum, r) => sum + r.remeasures, 0),
      remeasurePassesMs: firstPassStartMs === undefined ? 0 : endedMs - Math.max(firstPassStartMs, startedMs),
      calmWaitMs,
      passes,
    };
  } finally {
    await store.close();
  }
}

export interface DisturbanceReport {
  readonly loadCpu: number | undefined;
  /** Alternations of the probe sample without and with the load. */
  readonly alternations: number;
  /** CPU time the load process got / the wall time it ran: how much of a neighbour it really was. */
  readonly loadCpuShare: number | undefined;
  readonly calm: { readonly probes: ProbeSample; readonly sweep: SweepUnderCondition };
  readonly loaded: { readonly probes: ProbeSample; readonly sweep: SweepUnderCondition };
}

export async function benchDisturbance(options: {
  readonly dir: string;
  readonly device: Device;
  readonly agentPath: string;
  /** The last CPU, for taskset; undefined = unpinned. */
  readonly loadCpu: number | undefined;
  readonly sweep: (
    dbPath: string,
    emit: (event: SchedulerEvent) => void,
  ) => Promise<{ runId: string; wallMs: number; cases: number }>;
}): Promise<DisturbanceReport> {
  const { dir, device, agentPath, loadCpu, sweep } = options;
  // The probe samples alternate calm / loaded, so drift in the machine's other work hits both alike.
  const calmProbes: ProbeSample[] = [];
  const loadedProbes: ProbeSample[] = [];
  let loadMs = 0;
  let loadCpuS = 0;
  const underLoad = async <T>(work: () => Promise<T>): Promise<T> => {
    const load = startMemoryLoad(loadCpu);
    const startedMs = performance.now();
    try {
      await sleepUnlessAborted(LOAD_SETTLE_MS, undefined);
      if (load.exitCode !== null)
        throw new Error(`the memory-streaming load exited at once (code ${load.exitCode})`);
      return await work();
    } finally {
      loadCpuS += cpuSecondsOf(load.pid) ?? Number.NaN;
      loadMs += performance.now() - startedMs;
      await stopMemoryLoad(load);
    }
  };
  process.stderr.write(`disturbance: ${ALTERNATIONS} alternations of the probe sample, calm / loaded...\n`);
  for (let i = 0; i < ALTERNATIONS; i++) {
    calmProbes.push(await sampleProbes(device, agentPath));
    loadedProbes.push(await underLoad(() => sampleProbes(device, agentPath)));
  }
  process.stderr.write('disturbance: the --quick sweep on the machine as it is...\n');
  const calmSweep = await sweepUnder(join(dir, 'calm.db'), sweep);
  process.stderr.write('disturbance: the same with a memory-streaming neighbour...\n');
  const loadedSweep = await underLoad(() => sweepUnder(join(dir, 'loaded.db'), sweep));
  return {
    loadCpu,
    alternations: ALTERNATIONS,
    loadCpuShare: Number.isFinite(loadCpuS) ? loadCpuS / (loadMs / 1000) : undefined,
    calm: { probes: pooledSample(calmProbes), sweep: calmSweep },
    loaded: { probes: pooledSample(loadedProbes), sweep: loadedSweep },
  };
}

/** The report's text lines. */
export function renderDisturbance(r: DisturbanceReport, loadAvg1m: number | undefined): string[] {
  const us = (ns: number) => `${(ns / 1e3).toFixed(0)} us`;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const { calm, loaded } = r;
  const mb = calm.probes.streamBytes === undefined ? '?' : (calm.probes.streamBytes / 2 ** 20).toFixed(0);
  const share = r.loadCpuShare === undefined ? '?' : `${(r.loadCpuShare * 100).toFixed(0)}%`;
  return [
    `disturbance probe: calm vs loaded by this bench (a Node process copying 64 MB arrays, ${r.loadCpu === undefined ? 'unpinned' : `pinned to CPU ${r.loadCpu}`},`,
    `  which got ${share} of a CPU while it ran); one run; the machine is shared with other work (1-min load`,
    `  ${loadAvg1m?.toFixed(1) ?? '?'} at the end), so "calm" means no load of ours. Probe rows: median of ${r.alternations} alternating`,
    `  samples of ${PROBE_CASES} idle cases each.`,
    `                                   calm        loaded      loaded/calm`,
    `  probe core phase (median)        ${us(calm.probes.coreMedianNs).padEnd(12)}${us(loaded.probes.coreMedianNs).padEnd(12)}${ratio(loaded.probes.coreMedianNs, calm.probes.coreMedianNs)}`,
    `  probe stream phase, ${mb} MB       ${us(calm.probes.streamMedianNs).padEnd(12)}${us(loaded.probes.streamMedianNs).padEnd(12)}${ratio(loaded.probes.streamMedianNs, calm.probes.streamMedianNs)}`,
    `  probe (sum: what is judged)      ${us(calm.probes.totalMedianNs).padEnd(12)}${us(loaded.probes.totalMedianNs).padEnd(12)}${ratio(loaded.probes.totalMedianNs, calm.probes.totalMedianNs)}`,
    `  probe cost per case              ${us(calm.probes.caseOverheadMedianNs).padEnd(12)}${us(loaded.probes.caseOverheadMedianNs)}`,
    `  sweep cases                      ${String(calm.sweep.cases).padEnd(12)}${String(loaded.sweep.cases)}`,
    `  cases re-measured (re-measures)  ${`${calm.sweep.remeasuredCases} (${calm.sweep.remeasures})`.padEnd(12)}${loaded.sweep.remeasuredCases} (${loaded.sweep.remeasures})`,
    `  sweep wall time                  ${s(calm.sweep.wallMs).padEnd(12)}${s(loaded.sweep.wallMs)}`,
    `  of which re-measure passes       ${s(calm.sweep.remeasurePassesMs).padEnd(12)}${s(loaded.sweep.remeasurePassesMs)}  (${calm.sweep.passes} / ${loaded.sweep.passes} passes)`,
    `  of which waiting for calm        ${s(calm.sweep.calmWaitMs).padEnd(12)}${s(loaded.sweep.calmWaitMs)}`,
  ];
}
