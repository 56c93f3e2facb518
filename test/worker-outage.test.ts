/**
 * The lab database goes away under a worker (a TCP proxy between the worker and the real PostgreSQL server is
 * cut for 2 s, as a network cut or a server restart would): the worker (runWorker in this process, as the CLI
 * runs it, on the host CPU) keeps the results its agent returns meanwhile, commits them once the store
 * answers, and the run ends done with every case stored once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { findRun } from '../orchestrator/store/runs.ts';
import { createHostDevice } from '../orchestrator/transport/host.ts';
import { runWorker } from '../orchestrator/worker/run-worker.ts';
import { createTestDatabase, TEST_PG_URL, type TestDatabase } from './support/postgres.ts';
import { enqueueIdleRun, idleRunConfig } from './support/queue.ts';
import { startProxy } from './support/tcp-proxy.ts';

const AGENT_DIR = fileURLToPath(new URL('../device-agent', import.meta.url));
const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-worker-outage-'));
let database: TestDatabase | undefined;
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database?.drop();
});

test('a store cut for 2 s under a worker: its results are kept and committed, the run ends done, none twice', async () => {
  database = await createTestDatabase('worker_outage');
  const direct = await openStore(database.url);
  const proxy = await startProxy(new URL(TEST_PG_URL));
  const viaProxy = new URL(database.url);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const store = await openStore(viaProxy.href);
  const stop = new AbortController();
  const notes: string[] = [];
  let worker: Promise<unknown> | undefined;
  try {
    const runId = 'outage-1';
    const cases = 24;
    // Agent calls of 12 cases of 150 ms: the cut falls inside one.
    await enqueueIdleRun(direct.db, {
      runId,
      target: 'abi=host',
      cases,
      durationUs: 150_000,
      batchCases: 12,
      config: idleRunConfig(),
    });
    const host = createHostDevice({ workDir: join(dir, 'host') });
    worker = runWorker({
      db: store.db,
      dialect: store.dialect,
      dbPath: store.path,
      listDevices: async () => [host],
      buildAgent: (abi) => buildAgent(abi, { agentDir: AGENT_DIR, env: process.env }),
      hostName: 'outage-host',
      pid: process.pid,
      emit: (event) => {
        if (event.type === 'device-note') notes.push(event.message);
      },
      note: (text) => notes.push(text),
      stop: stop.signal,
      hardStop: new AbortController().signal,
      // Longer than the cut: the batch stays this worker's.
      leaseMs: 20_000,
      pollMs: 100,
    });
    const settled = async () =>
      Number(
        (
          await direct.db
            .selectFrom('queue_results')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('run_id', '=', runId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const deadline = Date.now() + 120_000;
    while ((await settled()) < 2) {
      assert.ok(Date.now() < deadline, `the worker measured nothing within 120 s:\n${notes.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const before = await settled();
    await proxy.cut(2_000);
    while ((await findRun(direct.db, runId))?.status !== 'done') {
      assert.ok(Date.now() < deadline + 60_000, `the run did not end:\n${notes.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(before < cases, 'the cut fell before the end of the run');
    const measured = await direct.db
      .selectFrom('measurements as m')
      .innerJoin('tasks as t', 't.id', 'm.task_id')
      .select('t.case_key')
      .where('t.run_id', '=', runId)
      .execute();
    assert.equal(measured.length, cases, notes.join('\n'));
    assert.equal(new Set(measured.map((row) => row.case_key)).size, cases);
    assert.equal(await settled(), cases);
  } finally {
    stop.abort();
    await worker;
    await store.close();
    await direct.close();
    proxy.stop();
  }
});
