/**
 * A phone that leaves one lab host and turns up on another continues there (issue 23, faults): two workers
 * (runWorker in this process, as the CLI runs it, each with its own adb server and host name) on one
 * PostgreSQL queue, a run enqueued for the phone's serial. Mid-run the phone is `adb disconnect`ed from the
 * first host's server and `adb connect`ed to the second's: the first gives its batch back after the run's
 * grace, the second finds the phone at its next device poll and finishes the run. Every case once, on that
 * phone, measured by both hosts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ADB, DEFAULT_CONFIG } from '../config/defaults.ts';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import { type OpenedStore, openStore } from '../orchestrator/store/open.ts';
import { findRun } from '../orchestrator/store/runs.ts';
import { discoverAdbDevices } from '../orchestrator/transport/adb/discovery.ts';
import { runWorker } from '../orchestrator/worker/run-worker.ts';
import { type AdbLab, startAdbLab } from './adb-lab.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { enqueueIdleRun, idleRunConfig } from './support/queue.ts';

const AGENT_DIR = fileURLToPath(new URL('../device-agent', import.meta.url));
const labs: AdbLab[] = [];
let database: TestDatabase;
let store: OpenedStore;

before(async () => {
  database = await createTestDatabase('device_moves');
  store = await openStore(database.url);
  labs.push(await startAdbLab([{ abi: 'x86_64', model: 'Mover' }]));
  labs.push(await startAdbLab([]));
});

after(async () => {
  await store?.close();
  for (const lab of labs) await lab.stop();
  await database?.drop();
});

/** The phones this lab's adb server lists now (no reconnecting: a phone that moved away stays away). */
function lister(lab: AdbLab) {
  return async () =>
    (
      await discoverAdbDevices({
        ...DEFAULT_ADB,
        servers: [lab.server],
        startServer: false,
        reconnectTcp: false,
        pollMs: 100,
        env: lab.env,
      })
    ).devices;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a phone moved from one worker host to another mid-run: the run finishes there, every case once', async () => {
  const [labA, labB] = labs;
  const phone = labA?.phones[0];
  assert.ok(labA !== undefined && labB !== undefined && phone !== undefined);
  const runId = 'moves-1';
  const cases = 24;
  const lab = {
    ...DEFAULT_CONFIG.lab,
    thermal: { ...DEFAULT_CONFIG.lab.thermal, thresholdC: 80, batchLimitC: 90, pollMs: 100 },
  };
  await enqueueIdleRun(store.db, {
    runId,
    target: `device=${phone.serial}`,
    cases,
    durationUs: 150_000,
    batchCases: 3,
    config: idleRunConfig(lab, 1_000),
  });

  const stop = new AbortController();
  const notes: string[] = [];
  const worker = (lab: AdbLab, hostName: string) =>
    runWorker({
      db: store.db,
      dialect: store.dialect,
      dbPath: store.path,
      listDevices: lister(lab),
      buildAgent: (abi) => buildAgent(abi, { agentDir: AGENT_DIR, env: process.env }),
      hostName,
      pid: process.pid,
      emit: (event) => {
        if (event.type === 'device-note') notes.push(`${hostName}: ${event.message}`);
      },
      note: (text) => notes.push(`${hostName}: ${text}`),
      stop: stop.signal,
      hardStop: new AbortController().signal,
      leaseMs: 3_000,
      pollMs: 200,
    });
  const running = [worker(labA, 'host-a'), worker(labB, 'host-b')];
  try {
    const settled = async () =>
      Number(
        (
          await store.db
            .selectFrom('queue_results')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('run_id', '=', runId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    await until('a few cases on host-a', async () => (await settled()) >= 4, 90_000);
    assert.equal((await labA.adb(['disconnect', phone.serial])).exitCode, 0);
    const connected = await labB.adb(['connect', phone.serial]);
    assert.match(connected.stdout, /connected to/);
    await until('the run done', async () => (await findRun(store.db, runId))?.status === 'done', 120_000);
  } finally {
    stop.abort();
    await Promise.all(running);
  }
  const measured = await store.db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .select(['t.case_key', 't.device_id', 'm.host'])
    .where('t.run_id', '=', runId)
    .execute();
  assert.equal(measured.length, cases, notes.join('\n'));
  assert.equal(new Set(measured.map((row) => row.case_key)).size, cases);
  assert.deepEqual([...new Set(measured.map((row) => row.device_id))], [phone.serial]);
  assert.deepEqual([...new Set(measured.map((row) => row.host))].sort(), ['host-a', 'host-b']);
});
