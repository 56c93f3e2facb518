/**
 * `npm run bench:orchestrator`: what the orchestrator costs on top of the agent's own work, measured on the
 * host transport with the real agent and a real SQLite store in a temporary folder.
 *
 * 1. The embedded default sweep (or `--quick`, a subset): its wall time against the sum of the agent's own
 *    case times (prepareNs + samplingNs from each result: weights and masks, warm-up and timed
 *    repetitions), the preparation alone (prepareNs; target <= 5% of wall), and against the agent's busy
 *    spans (first case start -> last case end of each call, so weight preparation between cases counts as
 *    agent work). The agent and Node both stamp CLOCK_MONOTONIC, but only agent-side differences are used.
 * 2. Idle cases of 1 ms and 20 ms (one timed repetition each, no warm-up): the wall time per case (between
 *    consecutive commits in one agent call) minus the agent's own time for that case; the median is the
 *    per-case overhead: agent bookkeeping, the pipe, parsing, statistics and one SQLite transaction.
 *
 * 3. With --disturbance, only this instead: the agent's probe (core and memory-streaming phases) and the
 *    cases it re-measures on the --quick sweep, calm and then loaded by a memory-streaming process the bench
 *    starts and stops (disturbance.ts).
 *
 *   npm run bench:orchestrator [-- --quick] [-- --json] [-- --disturbance]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import { buildAgent } from '../build/agent-build.ts';
import type { SchedulerEvent } from '../scheduler/events.ts';
import { runQueues } from '../scheduler/scheduler.ts';
import { medianOf } from '../stats/index.ts';
import { upsertDevice } from '../store/devices.ts';
import { type OpenedStore, openStore } from '../store/open.ts';
import { createRun } from '../store/runs.ts';
import { insertTasks, type TaskInput } from '../store/tasks.ts';
import { runSweep } from '../sweep/run-sweep.ts';
import { createHostDevice } from '../transport/host.ts';
import type { Device } from '../transport/port.ts';
import { benchDisturbance, renderDisturbance } from './disturbance.ts';

const TARGET_SWEEP_OVERHEAD_PCT = 5;
/** Preparation (weights, masks, packing, the dense kernel choice) as a share of the sweep's wall time. */
const TARGET_PREPARE_PCT = 5;
const TARGET_CASE_OVERHEAD_MS = 2;
const IDLE_CASES: readonly { readonly durationUs: number; readonly cases: number }[] = [
  { durationUs: 1_000, cases: 300 },
  { durationUs: 20_000, cases: 100 },
];
const IDLE_BATCH_CASES = 50;
/** The subset `--quick` sweeps: every layer of the default model, four schemes, one block and sparsity. */
const QUICK_OVERRIDES = {
  schemes: 'dense,unstructured,bcr,filter',
  blocks: '4x1',
  sparsities: '0.75',
} as const;

const agentDir = fileURLToPath(new URL('../../device-agent', import.meta.url));

interface Telemetry {
  readonly before: { readonly timeNs: number };
  readonly after: { readonly timeNs: number };
}

async function caseTimes(store: OpenedStore, runId: string) {
  const rows = await store.db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .select(['t.id', 't.batch_index', 't.seq', 'm.telemetry_json', 'm.prepare_ns', 'm.sampling_ns'])
    .where('t.run_id', '=', runId)
    .orderBy('t.batch_index')
    .orderBy('t.seq')
    .execute();
  return rows.map((row) => {
    const telemetry = JSON.parse(row.telemetry_json) as Telemetry;
    return {
      taskId: row.id,
      batch: row.batch_index,
      beforeNs: telemetry.before.timeNs,
      afterNs: telemetry.after.timeNs,
      prepareNs: row.prepare_ns ?? 0,
      // The agent's whole case: preparing weights and masks, then warm-up and timed repetitions.
      agentNs: (row.prepare_ns ?? 0) + (row.sampling_ns ?? telemetry.after.timeNs - telemetry.before.timeNs),
    };
  });
}

/**
 * The same plan lines, batch by batch, straight into the agent with its output discarded: what the sweep
 * would take with no orchestrator at all (a second measurement of the same cases, so it carries their noise).
 */
async function agentAlone(
  store: OpenedStore,
  runId: string,
  device: Device,
  agentPath: string,
): Promise<number> {
  const tasks = await store.db
    .selectFrom('tasks')
    .select(['id', 'batch_index', 'plan_line_json'])
    .where('run_id', '=', runId)
    .orderBy('batch_index')
    .orderBy('seq')
    .execute();
  const batches = new Map<number, string[]>();
  for (const task of tasks) {
    const line = JSON.stringify({ id: `t${task.id}`, ...JSON.parse(task.plan_line_json) });
    batches.set(task.batch_index, [...(batches.get(task.batch_index) ?? []), line]);
  }
  let totalMs = 0;
  for (const lines of batches.values()) {
    const result = await device.shell([agentPath, 'run'], {
      timeoutMs: 30 * 60_000,
      stdin: `${lines.join('\n')}\n`,
      onStdoutLine: () => {},
    });
    if (result.exitCode !== 0)
      throw new Error(`the agent alone failed (exit ${result.exitCode}): ${result.stderr}`);
    totalMs += result.durationMs;
  }
  return totalMs;
}

/** The default sweep (or the --quick subset) on the host into `store`, as `prunelab sweep` would run it. */
async function sweepOnce(
  store: OpenedStore,
  device: Device,
  quick: boolean,
  emit: (event: SchedulerEvent) => void,
) {
  const config = loadConfig(
    undefined,
    quick ? 'defaults + --quick' : 'defaults',
    quick ? QUICK_OVERRIDES : {},
  );
  return await runSweep(
    {
      db: store.db,
      dbPath: store.path,
      devices: [device],
      buildAgent: (abi) => buildAgent(abi, { agentDir }),
      gitRevision: async () => null,
      hostName: os.hostname(),
      emit: (event: SchedulerEvent) => {
        if (event.type === 'case-failed') process.stderr.write(`case failed: ${event.message}\n`);
        emit(event);
      },
      stop: new AbortController().signal,
      hardStop: new AbortController().signal,
    },
    { kind: 'new', config },
  );
}

async function benchSweep(dir: string, device: Device, agentPath: string, quick: boolean) {
  const store = await openStore(join(dir, 'sweep.db'));
  const hostMs: number[] = [];
  try {
    const summary = await sweepOnce(store, device, quick, (event) => {
      if (event.type === 'case-done') hostMs.push(event.hostMs);
    });
    const times = await caseTimes(store, summary.runId);
    const agentCaseMs = times.reduce((sum, t) => sum + t.agentNs / 1e6, 0);
    const prepareMs = times.reduce((sum, t) => sum + t.prepareNs / 1e6, 0);
    const spans = new Map<number, { first: number; last: number }>();
    for (const t of times) {
      const span = spans.get(t.batch);
      if (span === undefined) spans.set(t.batch, { first: t.beforeNs, last: t.afterNs });
      else
        spans.set(t.batch, { first: Math.min(span.first, t.beforeNs), last: Math.max(span.last, t.afterNs) });
    }
    const agentSpanMs = [...spans.values()].reduce((sum, span) => sum + (span.last - span.first) / 1e6, 0);
    const agentAloneMs = await agentAlone(store, summary.runId, device, agentPath);
    return {
      subset: quick ? 'quick' : 'default',
      cases: summary.plannedCases,
      done: summary.counts.done,
      failed: summary.counts.failed,
      agentCalls: spans.size,
      wallMs: summary.wallMs,
      agentCaseMs,
      overheadPct: ((summary.wallMs - agentCaseMs) / summary.wallMs) * 100,
      prepareMs,
      preparePct: (prepareMs / summary.wallMs) * 100,
      agentSpanMs,
      overheadOutsideAgentPct: ((summary.wallMs - agentSpanMs) / summary.wallMs) * 100,
      agentAloneMs,
      overheadVsAgentAlonePct: ((summary.wallMs - agentAloneMs) / summary.wallMs) * 100,
      hostMsPerCaseMedian: medianOf(hostMs),
      hostMsTotal: hostMs.reduce((sum, ms) => sum + ms, 0),
    };
  } finally {
    await store.close();
  }
}

async function benchIdle(dir: string, device: Device, agentPath: string, agentHash: string) {
  const store = await openStore(join(dir, 'idle.db'));
  try {
    const info = await device.info();
    await upsertDevice(store.db, info);
    const results = [];
    for (const { durationUs, cases } of IDLE_CASES) {
      const runId = `idle-${durationUs}us`;
      await createRun(store.db, {
        id: runId,
        configJson: '{}',
        configHash: runId,
        gitRevision: null,
        host: os.hostname(),
      });
      const tasks: TaskInput[] = Array.from({ length: cases }, (_, index) => ({
        caseKey: `idle-${index}`,
        batchIndex: Math.floor(index / IDLE_BATCH_CASES),
        seq: index % IDLE_BATCH_CASES,
        caseJson: { op: 'idle', durationUs },
        planLine: { op: 'idle', durationUs, warmup: 0, minReps: 1, minTimeMs: 0, maxReps: 1 },
      }));
      await insertTasks(store.db, runId, info.identity.id, tasks);
      const committedAtMs = new Map<number, number>();
      const startedMs = performance.now();
      await runQueues(
        [{ device, agentPath, provenance: { agentHash, buildFingerprint: info.buildFingerprint } }],
        {
          db: store.db,
          runId,
          retries: 0,
          maxConsecutiveFailures: 1,
          caseTimeoutMs: 60_000,
          stop: new AbortController().signal,
          hardStop: new AbortController().signal,
          emit: (event) => {
            if (event.type === 'case-done') committedAtMs.set(event.taskId, performance.now());
          },
        },
      );
      const wallMs = performance.now() - startedMs;
      const times = await caseTimes(store, runId);
      // Lines can arrive in bursts (several per pipe read), so single intervals are noisy: per agent call,
      // take the mean cycle between its first and last commit minus the agent's mean time for those cases.
      const perCallOverheadMs: number[] = [];
      const perCaseOverheadMs: number[] = [];
      const byBatch = new Map<number, typeof times>();
      for (const t of times) byBatch.set(t.batch, [...(byBatch.get(t.batch) ?? []), t]);
      for (const batch of byBatch.values()) {
        const first = batch[0];
        const last = batch.at(-1);
        if (first === undefined || last === undefined || batch.length < 2) continue;
        const cycleMs =
          ((committedAtMs.get(last.taskId) ?? Number.NaN) - (committedAtMs.get(first.taskId) ?? Number.NaN)) /
          (batch.length - 1);
        const agentMs =
          batch.slice(1).reduce((sum, t) => sum + (t.afterNs - t.beforeNs) / 1e6, 0) / (batch.length - 1);
        perCallOverheadMs.push(cycleMs - agentMs);
        for (let i = 1; i < batch.length; i++) {
          const previous = batch[i - 1];
          const current = batch[i];
          if (previous === undefined || current === undefined) continue;
          const intervalMs =
            (committedAtMs.get(current.taskId) ?? Number.NaN) -
            (committedAtMs.get(previous.taskId) ?? Number.NaN);
          perCaseOverheadMs.push(intervalMs - (current.afterNs - current.beforeNs) / 1e6);
        }
      }
      results.push({
        durationMs: durationUs / 1000,
        cases: times.length,
        agentCalls: Math.ceil(cases / IDLE_BATCH_CASES),
        wallMs,
        overheadMsPerCase: medianOf(perCallOverheadMs),
        overheadMsPerCasePairMedian: medianOf(perCaseOverheadMs),
        wallMsPerCaseMinusIdle: wallMs / cases - durationUs / 1000,
      });
    }
    return results;
  } finally {
    await store.close();
  }
}

/**
 * --disturbance: the probe and the re-measures it causes, calm and under a memory-streaming load of the
 * bench's own (disturbance.ts), on the --quick sweep subset (the full sweep re-measured under load would take
 * many minutes).
 */
async function disturbanceOnly(dir: string, device: Device, agentPath: string, json: boolean): Promise<void> {
  const cpus = os.availableParallelism();
  const report = await benchDisturbance({
    dir,
    device,
    agentPath,
    loadCpu: cpus > 1 && hasTaskset() ? cpus - 1 : undefined,
    sweep: async (dbPath, emit) => {
      const store = await openStore(dbPath);
      try {
        const summary = await sweepOnce(store, device, true, emit);
        return { runId: summary.runId, wallMs: summary.wallMs, cases: summary.plannedCases };
      } finally {
        await store.close();
      }
    },
  });
  if (json) process.stdout.write(`${JSON.stringify({ loadAvg1m: os.loadavg()[0], ...report }, null, 2)}\n`);
  else process.stdout.write(`${renderDisturbance(report, os.loadavg()[0]).join('\n')}\n`);
}

function hasTaskset(): boolean {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

function verdict(ok: boolean): string {
  return ok ? 'meets target' : 'MISSES target';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      disturbance: { type: 'boolean', default: false },
    },
  });
  const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-bench-'));
  try {
    const device = createHostDevice({ workDir: join(dir, 'host') });
    const build = await buildAgent('host', { agentDir });
    const agentPath = join(dir, 'host', `prunelab-agent-${build.hash}`);
    await device.push(build.binaryPath, agentPath, { mode: 0o755 });
    if (values.disturbance === true) {
      await disturbanceOnly(dir, device, agentPath, values.json === true);
      return;
    }
    const idle = await benchIdle(dir, device, agentPath, build.hash);
    const sweep = await benchSweep(dir, device, agentPath, values.quick === true);
    const report = {
      machine: {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cpus: os.availableParallelism(),
        loadAvg1m: os.loadavg()[0],
      },
      agentHash: build.hash,
      sweep,
      idle,
      targets: {
        sweepOverheadPct: TARGET_SWEEP_OVERHEAD_PCT,
        preparePct: TARGET_PREPARE_PCT,
        caseOverheadMs: TARGET_CASE_OVERHEAD_MS,
      },
    };
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const s = sweep;
    const lines = [
      `prunelab orchestrator overhead, host transport (${report.machine.cpu}, ${report.machine.cpus} CPUs, load ${report.machine.loadAvg1m?.toFixed(1)})`,
      '',
      `${s.subset} sweep: ${s.cases} cases (${s.done} done, ${s.failed} failed) in ${s.agentCalls} agent calls`,
      `  wall time                                  ${(s.wallMs / 1000).toFixed(1)} s`,
      `  sum of the agent's case times              ${(s.agentCaseMs / 1000).toFixed(1)} s  -> overhead ${s.overheadPct.toFixed(1)}% of wall (${verdict(s.overheadPct <= TARGET_SWEEP_OVERHEAD_PCT)} <= ${TARGET_SWEEP_OVERHEAD_PCT}%)`,
      `  of which preparation (prepareNs)           ${(s.prepareMs / 1000).toFixed(1)} s  -> ${s.preparePct.toFixed(1)}% of wall (${verdict(s.preparePct <= TARGET_PREPARE_PCT)} <= ${TARGET_PREPARE_PCT}%)`,
      `  sum of the agent's busy spans (with prep)  ${(s.agentSpanMs / 1000).toFixed(1)} s  -> ${s.overheadOutsideAgentPct.toFixed(1)}% of wall outside the agent`,
      `  the agent alone on the same plan lines     ${(s.agentAloneMs / 1000).toFixed(1)} s  -> the orchestrator adds ${(s.overheadVsAgentAlonePct).toFixed(1)}% of wall`,
      `  host work per case (stats + commit)        median ${s.hostMsPerCaseMedian.toFixed(2)} ms, total ${(s.hostMsTotal / 1000).toFixed(2)} s (overlaps the agent)`,
      '',
      `idle cases                                 ${idle.map((r) => `${r.durationMs} ms`.padEnd(14)).join('')}`,
      `  cases (agent calls)                      ${idle.map((r) => `${r.cases} (${r.agentCalls})`.padEnd(14)).join('')}`,
      `  per-case overhead (median of calls)      ${idle.map((r) => `${r.overheadMsPerCase.toFixed(3)} ms`.padEnd(14)).join('')} (${verdict(idle.every((r) => r.overheadMsPerCase <= TARGET_CASE_OVERHEAD_MS))} <= ${TARGET_CASE_OVERHEAD_MS} ms)`,
      `  median of single commit intervals - case ${idle.map((r) => `${r.overheadMsPerCasePairMedian.toFixed(3)} ms`.padEnd(14)).join('')} (bursty)`,
      `  wall / cases - idle (with process start) ${idle.map((r) => `${r.wallMsPerCaseMinusIdle.toFixed(3)} ms`.padEnd(14)).join('')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
