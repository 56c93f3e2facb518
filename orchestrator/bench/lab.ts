/**
 * `npm run bench:lab [-- --json] [-- --quick]`: what the shared store and its work queue cost, PostgreSQL
 * against SQLite, and what workers gain.
 *
 * 1. Whole overhead: idle cases of 20 ms (the agent only sleeps) through the real scheduler on the host
 *    transport with the real agent, the device claimed under a lease and each case committed in its own
 *    fenced transaction; (wall time - the agent's own time) / cases, median of 3 runs per store.
 * 2. The store's part alone: one fenced commit of a measurement, and one claim + release of a device lease,
 *    medians over every call; and the work queue's part (lab-workers.ts): a batch claimed and finished,
 *    shared over its cases, plus one commit fenced by the device lease and the batch token. Target: claim +
 *    commit <= 5 ms per case on PostgreSQL on loopback.
 * 3. Workers (lab-workers.ts): throughput of 1, 2 and 4 workers with a virtual phone each on one enqueued run
 *    of idle 20 ms cases (target: 4 workers >= 3x one), and the time a dead worker's batch takes to be taken
 *    over and its run to finish (two real `prunelab worker` processes, one SIGKILLed mid-batch).
 *
 * The PostgreSQL store is a throwaway database on PRUNELAB_TEST_PG_URL's server (the test server that
 * test/install-system-packages.sh starts), dropped at the end. The machine's load average is printed with
 * the figures: on a shared VM, timings move with it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AdbLab, startAdbLab } from '../../test/adb-lab.ts';
import { createTestDatabase } from '../../test/support/postgres.ts';
import { buildAgent } from '../build/agent-build.ts';
import { medianOf } from '../stats/index.ts';
import { upsertDevice } from '../store/devices.ts';
import { claimDevice, releaseLease } from '../store/leases.ts';
import { type OpenedStore, openStore } from '../store/open.ts';
import { createRun } from '../store/runs.ts';
import { commitMeasurement, insertTasks, type MeasurementInput, pendingTasks } from '../store/tasks.ts';
import { createHostDevice } from '../transport/host.ts';
import { idleSweep } from './idle-sweep.ts';
import { BENCH_MODEL, deadWorker, queueCalls, workerThroughput } from './lab-workers.ts';

const AGENT_DIR = fileURLToPath(new URL('../../device-agent', import.meta.url));
const TARGET_SPEEDUP_4 = 3;
const DEAD_WORKER_LEASE_MS = 5_000;

/** Workers on virtual phones: throughput at 1, 2 and 4, and a dead worker's batch taken over. */
async function measureWorkers(dbUrl: string, dir: string, quick: boolean) {
  const build = (abi: string) => buildAgent(abi, { agentDir: AGENT_DIR, env: process.env });
  await build('host');
  let lab: AdbLab | undefined;
  const store = await openStore(dbUrl);
  try {
    lab = await startAdbLab(Array.from({ length: 4 }, () => ({ abi: 'x86_64', model: BENCH_MODEL })));
    const throughput = await workerThroughput(store, lab, build, quick ? 80 : 160, quick ? 1 : 2);
    const dead = await deadWorker(store, lab, dbUrl, dir, DEAD_WORKER_LEASE_MS);
    return { throughput, dead };
  } finally {
    await store.close();
    await lab?.stop();
  }
}

const TARGET_STORE_MS = 5;
const IDLE_CASE_US = 20_000;

async function overhead(store: OpenedStore, workDir: string, cases: number) {
  const host = createHostDevice({ workDir });
  const perCase: number[] = [];
  for (let repeat = 0; repeat < 3; repeat++) {
    const { wallMs, agentMs } = await idleSweep(store, [host], cases, IDLE_CASE_US, 10);
    perCase.push((wallMs - agentMs) / cases);
  }
  return { cases, overheadMsPerCase: medianOf(perCase), runsMs: perCase };
}

const MEASUREMENT: MeasurementInput = {
  agent_hash: 'bench',
  build_fingerprint: 'bench',
  samples_ns_json: JSON.stringify(Array.from({ length: 50 }, (_, i) => 20_000_000 + i)),
  telemetry_json: '{}',
  cpus_json: '[0]',
  density: 1,
  kept_blocks: 0,
  kept_energy: 1,
  kernel: 'idle',
  flops: 0,
  n: 50,
  min_ns: 20_000_000,
  max_ns: 20_000_049,
  median_ns: 20_000_024,
  mad_ns: 12,
  p10_ns: 20_000_005,
  p90_ns: 20_000_044,
  ci_low_ns: 20_000_020,
  ci_high_ns: 20_000_028,
};

/** The store's part alone: claim + release of a lease, and a fenced commit, each timed call by call. */
async function storeCalls(store: OpenedStore, calls: number) {
  const deviceId = 'bench:store';
  const runId = 'bench-store';
  await upsertDevice(store.db, {
    identity: { id: deviceId, kind: 'host', abi: 'host' },
    model: 'bench',
    buildFingerprint: 'bench',
    cpuCount: 1,
    workDir: '/tmp',
    details: {},
  });
  await createRun(store.db, {
    id: runId,
    configJson: '{}',
    configHash: 'b',
    gitRevision: null,
    host: 'bench',
  });
  await insertTasks(
    store.db,
    runId,
    deviceId,
    Array.from({ length: calls }, (_, i) => ({
      caseKey: `k${i}`,
      batchIndex: 0,
      seq: i,
      caseJson: {},
      planLine: { op: 'idle' as const, durationUs: IDLE_CASE_US },
    })),
  );
  const holder = { holderId: 'bench', host: 'bench', pid: process.pid, runId };
  const claim = async () => {
    const result = await claimDevice(store.db, deviceId, holder, { leaseMs: 30_000, now: new Date() });
    if (!result.claimed) throw new Error('bench: the device is held');
    return result.fence;
  };
  const claimMs: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await releaseLease(store.db, await claim());
    claimMs.push(performance.now() - started);
  }
  const fence = await claim();
  const commitMs: number[] = [];
  for (const task of await pendingTasks(store.db, runId, deviceId)) {
    const started = performance.now();
    await commitMeasurement(store.db, task.id, MEASUREMENT, new Date(), fence);
    commitMs.push(performance.now() - started);
  }
  return { claimReleaseMs: medianOf(claimMs), commitMs: medianOf(commitMs) };
}

async function measureStore(store: OpenedStore, workDir: string, cases: number) {
  try {
    return { ...(await overhead(store, workDir, cases)), ...(await storeCalls(store, cases * 2)) };
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  const cases = quick ? 20 : 60;
  const dir = await mkdtemp(join(tmpdir(), 'prunelab-bench-lab-'));
  const database = await createTestDatabase('bench_lab');
  try {
    const loadBefore = loadavg()[0] ?? 0;
    const sqlite = await measureStore(await openStore(join(dir, 'bench.db')), join(dir, 'host-a'), cases);
    const postgres = await measureStore(await openStore(database.url), join(dir, 'host-b'), cases);
    const queue = {
      sqlite: await withStore(join(dir, 'queue.db'), (store) => queueCalls(store, quick ? 10 : 30)),
      postgres: await withStore(database.url, (store) => queueCalls(store, quick ? 10 : 30)),
    };
    const workers = await measureWorkers(database.url, dir, quick);
    const postgresStoreMs = queue.postgres.perCaseMs;
    const speedup4 = workers.throughput.find((row) => row.workers === 4)?.speedup ?? 0;
    const result = {
      note: 'idle cases of 20 ms; overhead = (wall - agent time) / cases; medians; measured on a shared VM',
      loadAverage1m: { before: loadBefore, after: loadavg()[0] ?? 0 },
      sqlite,
      postgres,
      postgresMinusSqliteMsPerCase: postgres.overheadMsPerCase - sqlite.overheadMsPerCase,
      queue,
      workers,
      target: {
        claimAndCommitMsPerCase: TARGET_STORE_MS,
        postgresMs: postgresStoreMs,
        met: postgresStoreMs <= TARGET_STORE_MS,
        speedupWith4Workers: TARGET_SPEEDUP_4,
        speedup4,
        speedupMet: speedup4 >= TARGET_SPEEDUP_4,
      },
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    process.stdout.write(describe(result, cases));
  } finally {
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function withStore<T>(path: string, use: (store: OpenedStore) => Promise<T>): Promise<T> {
  const store = await openStore(path);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

type StoreRow = Awaited<ReturnType<typeof measureStore>>;

function describe(
  result: {
    loadAverage1m: { before: number; after: number };
    sqlite: StoreRow;
    postgres: StoreRow;
    postgresMinusSqliteMsPerCase: number;
    queue: Record<'sqlite' | 'postgres', Awaited<ReturnType<typeof queueCalls>>>;
    workers: Awaited<ReturnType<typeof measureWorkers>>;
    target: { postgresMs: number; met: boolean; speedup4: number; speedupMet: boolean };
  },
  cases: number,
): string {
  const row = (name: string, r: StoreRow) =>
    `${name.padEnd(12)}${`${r.overheadMsPerCase.toFixed(2)} ms (runs ${r.runsMs.map((ms) => ms.toFixed(2)).join(', ')})`.padEnd(40)}${`${r.commitMs.toFixed(2)} ms`.padEnd(16)}${r.claimReleaseMs.toFixed(2)} ms`;
  const queueRow = (name: string, q: Awaited<ReturnType<typeof queueCalls>>) =>
    `${name.padEnd(12)}${`${q.claimFinishPerBatchMs.toFixed(2)} ms per batch of 10 = ${q.claimPerCaseMs.toFixed(2)} ms/case`.padEnd(44)}${`${q.fencedCommitMs.toFixed(2)} ms`.padEnd(16)}${q.perCaseMs.toFixed(2)} ms`;
  const { dead } = result.workers;
  return [
    `bench:lab (idle cases of 20 ms; medians; load average ${result.loadAverage1m.before.toFixed(1)} before, ${result.loadAverage1m.after.toFixed(1)} after, on 2 shared cores)`,
    `${'store'.padEnd(12)}${`whole overhead per case (${cases} cases)`.padEnd(40)}${'fenced commit'.padEnd(16)}device lease claim + release`,
    row('SQLite', result.sqlite),
    row('PostgreSQL', result.postgres),
    `  whole overhead, PostgreSQL - SQLite: ${result.postgresMinusSqliteMsPerCase.toFixed(2)} ms per case`,
    `${'queue'.padEnd(12)}${'batch claim + finish'.padEnd(44)}${'commit (2 fences)'.padEnd(16)}per case`,
    queueRow('SQLite', result.queue.sqlite),
    queueRow('PostgreSQL', result.queue.postgres),
    `  target: claim + commit <= ${TARGET_STORE_MS} ms per case on PostgreSQL: ${result.target.postgresMs.toFixed(2)} ms, ${result.target.met ? 'met' : 'NOT met'}`,
    'workers (one x86_64 virtual phone each, PostgreSQL, from enqueue to run done, first-batch preparation included)',
    ...result.workers.throughput.map(
      (r) =>
        `  ${r.workers} worker${r.workers === 1 ? ' ' : 's'}: ${r.cases} cases in ${(r.wallMs / 1000).toFixed(2)} s = ${r.casesPerS.toFixed(1)} cases/s, ${r.speedup.toFixed(2)}x (runs ${r.wallsMs.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s)`,
    ),
    `  target: 4 workers >= ${TARGET_SPEEDUP_4}x one: ${result.target.speedup4.toFixed(2)}x, ${result.target.speedupMet ? 'met' : 'NOT met'}`,
    `dead worker (SIGKILL mid-batch, lease ${dead.leaseMs / 1000} s): its batch taken over after ${(dead.takeoverMs / 1000).toFixed(2)} s, the run done ${(dead.runDoneMs / 1000).toFixed(2)} s after the kill`,
    '',
  ].join('\n');
}

await main();
