/**
 * bench:lab's worker half (lab.ts runs it): the shared queue of `sweep --enqueue` worked by `prunelab worker`s.
 *
 * 1. Throughput with 1, 2 and 4 workers: each worker (runWorker, in this process: the same code the CLI
 *    runs, without its start-up) has its own x86_64 virtual phone behind the real adb server; they idle on
 *    the queue, then one run of idle 20 ms cases is enqueued for their model, timed from the enqueue to the
 *    run done (first-batch preparation included: an agent push and lab set-up per phone per run).
 * 2. The queue's own cost per case, PostgreSQL against SQLite: a batch claimed and finished (SKIP LOCKED on
 *    PostgreSQL) shared over its cases, plus one commit fenced by both the device lease and the batch token.
 * 3. A dead worker: two real `prunelab worker` processes with a phone each, one SIGKILLed in the middle of a
 *    batch; the time until the other claims the dead one's batch (its lease running out) and until the run
 *    is done.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { AdbLab } from '../../test/adb-lab.ts';
import { enqueueIdleRun, IDLE_MEASUREMENT, idleRunConfig, midBatch } from '../../test/support/queue.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import { medianOf } from '../stats/index.ts';
import { upsertDevice } from '../store/devices.ts';
import { claimDevice } from '../store/leases.ts';
import type { OpenedStore } from '../store/open.ts';
import { findRun } from '../store/runs.ts';
import { commitMeasurement, insertTasks, pendingTasks } from '../store/tasks.ts';
import { claimBatch, finishBatch } from '../store/work-queue.ts';
import type { Device } from '../transport/port.ts';
import { runWorker } from '../worker/run-worker.ts';
import { BENCH_LAB } from './idle-sweep.ts';

export const BENCH_MODEL = 'Bench Phone';
const IDLE_CASE_US = 20_000;
const BATCH_CASES = 10;
const POLL_MS = 50;

let runCounter = 0;

/** One run of idle 20 ms cases in the queue for `target`; the bench lab's rules (no thermal waits). */
async function enqueueRun(store: OpenedStore, cases: number, target: string): Promise<string> {
  runCounter += 1;
  const runId = `bench-queue-${process.pid}-${runCounter}`;
  await enqueueIdleRun(store.db, {
    runId,
    target,
    cases,
    durationUs: IDLE_CASE_US,
    batchCases: BATCH_CASES,
    config: idleRunConfig(BENCH_LAB),
  });
  return runId;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`bench:lab timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const runDone = (store: OpenedStore, runId: string) => async () =>
  (await findRun(store.db, runId))?.status === 'done';

/** `workers` in-process workers with one phone each, one run of `cases` idle cases; wall from enqueue to done. */
async function timeWorkers(
  store: OpenedStore,
  phones: readonly Device[],
  buildAgent: BuildAgent,
  workers: number,
  cases: number,
) {
  const stop = new AbortController();
  const running = phones.slice(0, workers).map((phone) =>
    runWorker({
      db: store.db,
      dialect: store.dialect,
      dbPath: store.path,
      listDevices: async () => [phone],
      buildAgent,
      hostName: 'bench',
      pid: process.pid,
      emit: () => {},
      note: () => {},
      stop: stop.signal,
      hardStop: new AbortController().signal,
      leaseMs: 30_000,
      pollMs: POLL_MS,
    }),
  );
  try {
    await until(
      'the workers',
      async () => {
        const rows = await store.db
          .selectFrom('workers')
          .select('devices_json')
          .where('stopped_at', 'is', null)
          .execute();
        return rows.filter((row) => row.devices_json !== '[]').length >= workers;
      },
      60_000,
    );
    const started = performance.now();
    const runId = await enqueueRun(store, cases, `model=${BENCH_MODEL}`);
    await until('the run', runDone(store, runId), 300_000);
    return performance.now() - started;
  } finally {
    stop.abort();
    await Promise.all(running);
  }
}

export type BuildAgent = (abi: string) => Promise<AgentBuild>;

/** Throughput of 1, 2 and 4 workers over the same run size; runs per count, median wall. */
export async function workerThroughput(
  store: OpenedStore,
  lab: AdbLab,
  buildAgent: BuildAgent,
  cases: number,
  repeats: number,
) {
  const phones = lab.phones.map((phone) => lab.device(phone));
  const rows = [];
  for (const workers of [1, 2, 4]) {
    const walls: number[] = [];
    for (let repeat = 0; repeat < repeats; repeat++)
      walls.push(await timeWorkers(store, phones, buildAgent, workers, cases));
    const wallMs = medianOf(walls);
    rows.push({ workers, cases, wallMs, casesPerS: cases / (wallMs / 1000), wallsMs: walls });
  }
  const one = rows[0]?.casesPerS ?? 0;
  return rows.map((row) => ({ ...row, speedup: row.casesPerS / one }));
}

/** The queue's own cost per case: claim + finish of a batch over its cases, and one doubly fenced commit. */
export async function queueCalls(store: OpenedStore, batches: number) {
  const deviceId = `bench:queue-${runCounter}`;
  await upsertDevice(store.db, {
    identity: { id: deviceId, kind: 'adb', abi: 'host' },
    model: 'bench-queue',
    buildFingerprint: 'bench',
    cpuCount: 1,
    workDir: '/tmp',
    details: {},
  });
  const target = `device=${deviceId}`;
  const runId = await enqueueRun(store, batches * BATCH_CASES, target);
  const holder = { holderId: 'bench', host: 'bench', pid: process.pid, runId };
  const lease = await claimDevice(store.db, deviceId, holder, { leaseMs: 600_000, now: new Date() });
  if (!lease.claimed) throw new Error('bench: the device is held');
  const claimFinishMs: number[] = [];
  const commitMs: number[] = [];
  for (let i = 0; i < batches; i++) {
    let started = performance.now();
    const request = {
      targets: [target],
      workerId: 'bench',
      deviceId,
      host: 'bench',
      leaseMs: 30_000,
      now: new Date(),
    };
    const claimed = await claimBatch(store.db, store.dialect, request);
    if (claimed === undefined) throw new Error('bench: nothing to claim');
    let spentMs = performance.now() - started;
    await insertTasks(store.db, runId, deviceId, claimed.tasks);
    const fence = { ...lease.fence, batch: claimed.fence };
    for (const task of await pendingTasks(store.db, runId, deviceId)) {
      const at = performance.now();
      if (!(await commitMeasurement(store.db, task.id, IDLE_MEASUREMENT, new Date(), fence)))
        throw new Error('bench: a commit was refused');
      commitMs.push(performance.now() - at);
    }
    started = performance.now();
    await finishBatch(store.db, claimed.fence, new Date());
    spentMs += performance.now() - started;
    claimFinishMs.push(spentMs);
  }
  const claimPerCaseMs = medianOf(claimFinishMs) / BATCH_CASES;
  const fencedCommitMs = medianOf(commitMs);
  return {
    claimFinishPerBatchMs: medianOf(claimFinishMs),
    claimPerCaseMs,
    fencedCommitMs,
    perCaseMs: claimPerCaseMs + fencedCommitMs,
  };
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Two real `prunelab worker` processes (one phone each, lease `leaseMs`); one SIGKILLed mid-batch. Returns the
 * times from the kill to the dead worker's batch claimed by the other, and to the run done.
 */
export async function deadWorker(
  store: OpenedStore,
  lab: AdbLab,
  dbUrl: string,
  workDir: string,
  leaseMs: number,
) {
  const [first, second] = lab.phones;
  if (first === undefined || second === undefined) throw new Error('bench:lab needs two phones');
  const spawn = (serial: string) =>
    execa(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        join(ROOT, 'orchestrator/cli/main.ts'),
        'worker',
        '--db',
        dbUrl,
        '--device',
        serial,
        '--config',
        join(workDir, 'worker.yaml'),
        '--lease-ms',
        String(leaseMs),
        '--poll-ms',
        String(POLL_MS * 4),
      ],
      { cwd: workDir, env: { PRUNELAB_NO_ADB: '0', PRUNELAB_NO_HOST: '1' }, reject: false },
    );
  await writeFile(
    join(workDir, 'worker.yaml'),
    `devices:\n  host: { enabled: false }\n  adb: { servers: ["${lab.server}"], startServer: false, pollMs: 200 }\n`,
  );
  const workers = [spawn(first.serial), spawn(second.serial)];
  try {
    await until(
      'two worker processes',
      async () => {
        const rows = await store.db
          .selectFrom('workers')
          .select(['pid', 'devices_json'])
          .where('stopped_at', 'is', null)
          .execute();
        return workers.every((w) => rows.some((row) => row.pid === w.pid && row.devices_json !== '[]'));
      },
      180_000,
    );
    const runId = await enqueueRun(store, 8 * BATCH_CASES, `model=${BENCH_MODEL}`);
    const victim = workers[0];
    const victimId = (
      await store.db
        .selectFrom('workers')
        .select('id')
        .where('pid', '=', victim?.pid ?? -1)
        .executeTakeFirstOrThrow()
    ).id;
    let held: { readonly id: number; readonly token: number } | undefined;
    await until(
      'the first worker mid-batch',
      async () => {
        held = await midBatch(store.db, victimId);
        return held !== undefined;
      },
      120_000,
    );
    victim?.kill('SIGKILL');
    const killedMs = performance.now();
    await until(
      'the takeover',
      async () => {
        const row = await store.db
          .selectFrom('queue_batches')
          .select('token')
          .where('id', '=', held?.id ?? -1)
          .executeTakeFirstOrThrow();
        return row.token > (held?.token ?? 0);
      },
      120_000,
    );
    const takeoverMs = performance.now() - killedMs;
    await until('the run', runDone(store, runId), 300_000);
    return { leaseMs, takeoverMs, runDoneMs: performance.now() - killedMs };
  } finally {
    for (const worker of workers) worker.kill('SIGKILL');
    await Promise.allSettled(workers);
  }
}
