/**
 * Issue 23's lab test: three real `prunelab worker` processes, each with its own adb server and two virtual
 * phones (four "Lab Pixel" among the six, two "Lab Galaxy"), one real PostgreSQL database, one run enqueued
 * with `sweep --enqueue --target "model=Lab Pixel"`. Mid-run one worker is SIGKILLed in the middle of a batch
 * and another SIGSTOPped until its batch was taken over (past its lease), then CONTinued. Checked: every case
 * measured exactly once, on a Lab Pixel, never on a Galaxy; the stopped worker's late results refused by the
 * token; the run done; `status --json` (workers alive / gone / stopped, the queue settled) and the report's
 * reading of the store agree; SIGTERM ends the other workers cleanly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import { readRunForReport } from '../orchestrator/report/read-store.ts';
import { type OpenedStore, openStore } from '../orchestrator/store/open.ts';
import { findRun } from '../orchestrator/store/runs.ts';
import { type AdbLab, startAdbLab } from './adb-lab.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { midBatch } from './support/queue.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-workers-'));
const LEASE_MS = 3_000;
const PIXEL = 'Lab Pixel';
const GALAXY = 'Lab Galaxy';
const labs: AdbLab[] = [];
const workers: ReturnType<typeof startWorker>[] = [];
let database: TestDatabase;
let store: OpenedStore;

before(async () => {
  database = await createTestDatabase('workers');
  // Built once here (x86_64 phones run the host build): three workers starting at once would otherwise all find it missing.
  await buildAgent('host', { agentDir: join(root, 'device-agent'), env: process.env });
  for (const models of [
    [PIXEL, PIXEL],
    [PIXEL, GALAXY],
    [PIXEL, GALAXY],
  ]) {
    labs.push(await startAdbLab(models.map((model) => ({ abi: 'x86_64', model }))));
  }
  store = await openStore(database.url);
});

after(async () => {
  for (const worker of workers) {
    if (worker.pid !== undefined && worker.exitCode === null) {
      worker.kill('SIGCONT');
      worker.kill('SIGKILL');
    }
  }
  await Promise.allSettled(workers);
  await store?.close();
  for (const lab of labs) await lab.stop();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function cliArgs(...args: string[]): string[] {
  return ['--import', import.meta.resolve('tsx'), join(root, 'orchestrator/cli/main.ts'), ...args];
}

// The suite keeps the CLI off adb phones and the host; these workers have their own adb servers.
const ENV = { PRUNELAB_NO_ADB: '0', PRUNELAB_NO_HOST: '1' };

function cli(...args: string[]) {
  return execa(process.execPath, cliArgs(...args), { cwd: dir, env: ENV, reject: false, timeout: 120_000 });
}

/** The sweep, and the lab and scheduler rules the workers apply to its batches (they come with the run). */
function writeSweepConfig(): string {
  const path = join(dir, 'sweep.yaml');
  writeFileSync(
    path,
    `sweep:
  models: [resnet18-cifar10]
  schemes: [dense, filter]
  sparsities: [0.5, 0.75]
  threads: [1]
  measurement: { warmup: 0, minReps: 2, minTimeMs: 250, maxTimeMs: 400 }
  batch: { maxCases: 3 }
lab:
  thermal: { thresholdC: 80, pollMs: 100, maxWaitMs: 2000, batchLimitC: 90 }
  disturbance: { remeasures: 0 }
scheduler:
  disconnectGraceMs: 2000
`,
  );
  return path;
}

function writeWorkerConfig(index: number, lab: AdbLab): string {
  const path = join(dir, `worker-${index}.yaml`);
  writeFileSync(
    path,
    `devices:
  host: { enabled: false }
  adb: { servers: ["${lab.server}"], startServer: false, pollMs: 200, workDir: /data/local/tmp/prunelab-w${index} }
`,
  );
  return path;
}

function startWorker(index: number, lab: AdbLab) {
  const args = ['--db', database.url, '--config', writeWorkerConfig(index, lab)];
  return execa(
    process.execPath,
    cliArgs('worker', ...args, '--lease-ms', String(LEASE_MS), '--poll-ms', '200'),
    { cwd: dir, env: ENV, reject: false },
  );
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('three workers share one enqueued run through a SIGKILL and a SIGSTOP: every case once, on a matching phone', async () => {
  const enqueued = await cli(
    'sweep',
    '--config',
    writeSweepConfig(),
    '--db',
    database.url,
    '--enqueue',
    '--target',
    `model=${PIXEL}`,
    '--json',
  );
  assert.equal(enqueued.exitCode, 0, `${enqueued.stdout}\n${enqueued.stderr}`);
  const { runId, cases, batches } = JSON.parse(String(enqueued.stdout)) as {
    runId: string;
    cases: number;
    batches: number;
  };
  assert.ok(
    cases >= 30 && batches >= 10,
    `a plan big enough to interrupt: ${cases} cases in ${batches} batches`,
  );

  const stderr = ['', '', ''];
  labs.forEach((lab, index) => {
    const worker = startWorker(index, lab);
    worker.stderr?.on('data', (chunk: Buffer) => {
      stderr[index] += chunk.toString();
    });
    workers.push(worker);
  });
  const [killed, stopped, steady] = workers;
  assert.ok(killed?.pid !== undefined && stopped?.pid !== undefined && steady?.pid !== undefined);
  const workerIdOf = (pid: number) =>
    waitFor(
      `worker pid ${pid} registered`,
      async () =>
        (await store.db.selectFrom('workers').select('id').where('pid', '=', pid).executeTakeFirst())?.id,
      90_000,
    );
  const killedId = await workerIdOf(killed.pid);
  const stoppedId = await workerIdOf(stopped.pid);

  // SIGKILL in the middle of a batch.
  await waitFor('the first worker mid-batch', () => midBatch(store.db, killedId), 90_000);
  killed.kill('SIGKILL');
  // SIGSTOP in the middle of a batch, held until another worker took that batch over (past the lease).
  const held = await waitFor('the second worker mid-batch', () => midBatch(store.db, stoppedId), 60_000);
  stopped.kill('SIGSTOP');
  const stoppedAtMs = Date.now();
  await waitFor(
    "the stopped worker's batch taken over",
    async () => {
      const row = await store.db
        .selectFrom('queue_batches')
        .select(['token', 'worker_id'])
        .where('id', '=', held.id)
        .executeTakeFirstOrThrow();
      return row.token > held.token ? row : undefined;
    },
    60_000,
  ).catch(async (error: unknown) => {
    const rows = await store.db
      .selectFrom('queue_batches')
      .select(['id', 'status', 'token', 'worker_id', 'lease_expires_at'])
      .execute();
    process.stderr.write(
      `${JSON.stringify({ held, now: new Date(), rows }, null, 1)}\n${stderr.join('\n-----\n')}\n`,
    );
    throw error;
  });
  // Its last renewal was at most a third of the lease before the stop: the lease ran out 2/3 of it later.
  const heldForMs = Date.now() - stoppedAtMs;
  assert.ok(
    heldForMs >= (LEASE_MS * 2) / 3 - 100,
    `taken over ${heldForMs} ms after the stop, before its lease ran out`,
  );
  const lateBefore = await store.db
    .selectFrom('queue_results')
    .select('case_key')
    .where('batch_id', '=', held.id)
    .where('token', '=', held.token)
    .execute();
  stopped.kill('SIGCONT');

  await waitFor(
    'the run done',
    async () => ((await findRun(store.db, runId))?.status === 'done' ? true : undefined),
    120_000,
  );

  // Every case exactly once, on a Lab Pixel; nothing on a Galaxy.
  const measured = await store.db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .innerJoin('devices as d', 'd.id', 't.device_id')
    .select(['t.case_key', 'd.model', 't.device_id', 'm.host'])
    .where('t.run_id', '=', runId)
    .execute();
  assert.equal(measured.length, cases, 'one measurement per case');
  assert.equal(new Set(measured.map((row) => row.case_key)).size, cases, 'no case twice');
  assert.deepEqual([...new Set(measured.map((row) => row.model))], [PIXEL]);
  const results = await store.db
    .selectFrom('queue_results')
    .selectAll()
    .where('run_id', '=', runId)
    .execute();
  assert.equal(results.length, cases);
  assert.ok(results.every((row) => row.status === 'done'));
  // The stopped worker stored nothing under its stale token after it was taken over, and said so.
  const lateAfter = await store.db
    .selectFrom('queue_results')
    .select('case_key')
    .where('batch_id', '=', held.id)
    .where('token', '=', held.token)
    .execute();
  assert.deepEqual(lateAfter, lateBefore);
  assert.match(stderr[1] ?? '', /taken over by another worker|refused by the store/);
  // Phones of all three labs took part, the killed one's before its death.
  const devicesUsed = new Set(measured.map((row) => row.device_id));
  for (const lab of labs) assert.ok(lab.phones.some((phone) => devicesUsed.has(phone.serial)));

  // status --json and the report's reading of the store agree with each other and with the store.
  const status = await cli('status', '--db', database.url, '--json');
  assert.equal(status.exitCode, 0, status.stderr);
  const lab = JSON.parse(String(status.stdout)) as {
    workers: { id: string; state: string }[];
    runs: {
      id: string;
      status: string;
      counts: { done: number };
      queue: { settled: number; cases: number; done: number; batches: number };
    }[];
  };
  const run = lab.runs.find((entry) => entry.id === runId);
  assert.ok(run !== undefined);
  assert.deepEqual(
    [run.status, run.queue.settled, run.queue.cases, run.queue.done, run.queue.batches],
    ['done', cases, cases, batches, batches],
  );
  assert.equal(lab.workers.find((worker) => worker.id === killedId)?.state, 'gone');
  assert.equal(lab.workers.find((worker) => worker.id === stoppedId)?.state, 'alive');
  const runRow = await findRun(store.db, runId);
  assert.ok(runRow !== undefined);
  const report = await readRunForReport(store.db, runRow);
  assert.equal(report.cases.length, run.queue.settled);
  assert.equal(report.run.counts.done, run.counts.done);
  assert.ok(
    report.cases.every((entry) =>
      labs.some((l) => l.phones.some((p) => p.serial === entry.deviceId && p.model === PIXEL)),
    ),
  );

  // SIGTERM: the two live workers stop cleanly, and status says so.
  stopped.kill('SIGTERM');
  steady.kill('SIGTERM');
  const ends = await Promise.all([stopped, steady]);
  for (const end of ends) assert.equal(end.exitCode, 0, String(end.stderr));
  assert.match(String(ends[1]?.stdout), /stopped cleanly/);
  const after = JSON.parse(String((await cli('status', '--db', database.url, '--json')).stdout)) as {
    workers: { id: string; state: string }[];
  };
  assert.deepEqual(after.workers.map((worker) => worker.state).sort(), ['gone', 'stopped', 'stopped']);
});
