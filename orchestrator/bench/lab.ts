/**
 * `npm run bench:lab [-- --json] [-- --quick]`: what the store costs per case on PostgreSQL against SQLite.
 *
 * 1. Whole overhead: idle cases of 20 ms (the agent only sleeps) through the real scheduler on the host
 *    transport with the real agent, the device claimed under a lease and each case committed in its own
 *    fenced transaction; (wall time - the agent's own time) / cases, median of 3 runs per store.
 * 2. The store's part alone: one fenced commit of a measurement, and one claim + release of a device lease,
 *    medians over every call. Target: claim + commit <= 5 ms per case on PostgreSQL on loopback (a claim per
 *    case is the worst case: a device is claimed once per queue).
 *
 * The PostgreSQL store is a throwaway database on PRUNELAB_TEST_PG_URL's server (the test server that
 * test/install-system-packages.sh starts), dropped at the end. Not measured (the parts of issue 23 that do
 * not exist yet): throughput with 1, 2 and 4 `prunelab worker` processes, and how long the queue takes to
 * notice a dead worker; the bench says so in its output.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../../test/support/postgres.ts';
import { medianOf } from '../stats/index.ts';
import { upsertDevice } from '../store/devices.ts';
import { claimDevice, releaseLease } from '../store/leases.ts';
import { type OpenedStore, openStore } from '../store/open.ts';
import { createRun } from '../store/runs.ts';
import { commitMeasurement, insertTasks, type MeasurementInput, pendingTasks } from '../store/tasks.ts';
import { createHostDevice } from '../transport/host.ts';
import { idleSweep } from './idle-sweep.ts';

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
  const cases = process.argv.includes('--quick') ? 20 : 60;
  const dir = await mkdtemp(join(tmpdir(), 'prunelab-bench-lab-'));
  const database = await createTestDatabase('bench_lab');
  try {
    const sqlite = await measureStore(await openStore(join(dir, 'bench.db')), join(dir, 'host-a'), cases);
    const postgres = await measureStore(await openStore(database.url), join(dir, 'host-b'), cases);
    const postgresStoreMs = postgres.claimReleaseMs + postgres.commitMs;
    const result = {
      note: 'host transport, idle cases of 20 ms, one device; overhead = (wall - agent time) / cases; medians',
      sqlite,
      postgres,
      postgresMinusSqliteMsPerCase: postgres.overheadMsPerCase - sqlite.overheadMsPerCase,
      target: {
        claimAndCommitMsPerCase: TARGET_STORE_MS,
        postgresMs: postgresStoreMs,
        met: postgresStoreMs <= TARGET_STORE_MS,
      },
      notMeasured: [
        'throughput with 1, 2 and 4 workers: `prunelab worker` does not exist yet',
        "time for the queue to notice a dead worker and finish its work: no worker yet (a dead holder's device lease runs out after 30 s; on its own host it is taken at once)",
      ],
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const row = (name: string, r: typeof sqlite) =>
      `${name.padEnd(12)}${`${r.overheadMsPerCase.toFixed(2)} ms (runs ${r.runsMs.map((ms) => ms.toFixed(2)).join(', ')})`.padEnd(40)}${`${r.commitMs.toFixed(2)} ms`.padEnd(16)}${r.claimReleaseMs.toFixed(2)} ms`;
    process.stdout.write(
      [
        'bench:lab (host transport, idle cases of 20 ms, one device; medians)',
        `${'store'.padEnd(12)}${`whole overhead per case (${cases} cases)`.padEnd(40)}${'fenced commit'.padEnd(16)}claim + release`,
        row('SQLite', sqlite),
        row('PostgreSQL', postgres),
        `  whole overhead, PostgreSQL - SQLite: ${result.postgresMinusSqliteMsPerCase.toFixed(2)} ms per case`,
        `  target: claim + commit <= ${TARGET_STORE_MS} ms per case on PostgreSQL: ${postgresStoreMs.toFixed(2)} ms, ${result.target.met ? 'met' : 'NOT met'}`,
        ...result.notMeasured.map((line) => `not measured: ${line}`),
        '',
      ].join('\n'),
    );
  } finally {
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
