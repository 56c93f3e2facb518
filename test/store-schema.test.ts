/**
 * The store against a real SQLite file: migrations, WAL, idempotent task insertion, one measurement per
 * task, and refusal of a database written by a newer prunelab.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { upsertDevice } from '../orchestrator/store/devices.ts';
import { SchemaTooNewError, StoreOpenError } from '../orchestrator/store/errors.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { createRun } from '../orchestrator/store/runs.ts';
import {
  commitMeasurement,
  insertTasks,
  type MeasurementInput,
  pendingTasks,
  recordFailure,
  releaseRunningTasks,
  setTasksStatus,
  type TaskInput,
  taskCounts,
} from '../orchestrator/store/tasks.ts';
import type { DeviceInfo } from '../orchestrator/transport/port.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const device: DeviceInfo = {
  identity: { id: 'host:test', kind: 'host', abi: 'host' },
  model: 'test CPU',
  buildFingerprint: 'Linux test',
  cpuCount: 2,
  workDir: dir,
  details: {},
};

function idleTask(index: number): TaskInput {
  return {
    caseKey: `k${index}`,
    batchIndex: Math.floor(index / 2),
    seq: index % 2,
    caseJson: { index },
    planLine: { op: 'idle', durationUs: 1000 + index },
  };
}

const measurement: MeasurementInput = {
  agent_hash: 'abc',
  build_fingerprint: 'Linux test',
  samples_ns_json: '[1,2,3]',
  telemetry_json: '{}',
  cpus_json: '[0]',
  density: 1,
  kept_blocks: 0,
  kept_energy: 1,
  kernel: 'idle',
  flops: 0,
  n: 3,
  min_ns: 1,
  max_ns: 3,
  median_ns: 2,
  mad_ns: 1,
  p10_ns: 1.2,
  p90_ns: 2.8,
  ci_low_ns: 1,
  ci_high_ns: 3,
};

test('a new database gets every table, WAL and foreign keys; reopening changes nothing', async () => {
  const path = join(dir, 'fresh.db');
  const store = await openStore(path);
  const tables = (await store.db.introspection.getTables()).map((table) => table.name).sort();
  assert.deepEqual(tables, [
    'agent_builds',
    'batch_runs',
    'device_gaps',
    'devices',
    'failures',
    'measurements',
    'nightly_cases',
    'nightly_devices',
    'nightly_findings',
    'nightly_runs',
    'run_devices',
    'runs',
    'tasks',
  ]);
  await store.close();
  const raw = new BetterSqlite3(path);
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  const applied = raw.prepare('select name from kysely_migration').all() as { name: string }[];
  raw.close();
  assert.deepEqual(
    applied.map((row) => row.name),
    ['0001_initial', '0002_nightly', '0003_probe', '0004_device_gaps', '0005_backend'],
  );
  const again = await openStore(path);
  await again.close();
});

test('tasks are unique per (run, device, case): inserting a plan twice adds nothing the second time', async () => {
  const store = await openStore(join(dir, 'tasks.db'));
  try {
    await upsertDevice(store.db, device);
    await createRun(store.db, {
      id: 'r1',
      configJson: '{}',
      configHash: 'h',
      gitRevision: null,
      host: 'test',
    });
    const tasks = [0, 1, 2, 3, 4].map(idleTask);
    assert.equal(await insertTasks(store.db, 'r1', device.identity.id, tasks), 5);
    assert.equal(await insertTasks(store.db, 'r1', device.identity.id, tasks), 0);
    const pending = await pendingTasks(store.db, 'r1', device.identity.id);
    assert.deepEqual(
      pending.map((task) => task.case_key),
      ['k0', 'k1', 'k2', 'k3', 'k4'],
    );
    assert.equal(pending[0]?.op, 'idle');
    assert.equal(pending[0]?.scheme, null);
  } finally {
    await store.close();
  }
});

test('a task gets at most one measurement, and a failure moves it to failed or back to pending', async () => {
  const store = await openStore(join(dir, 'commit.db'));
  try {
    await upsertDevice(store.db, device);
    await createRun(store.db, {
      id: 'r1',
      configJson: '{}',
      configHash: 'h',
      gitRevision: null,
      host: 'test',
    });
    await insertTasks(store.db, 'r1', device.identity.id, [0, 1, 2].map(idleTask));
    const [first, second, third] = await pendingTasks(store.db, 'r1', device.identity.id);
    assert.ok(first && second && third);
    assert.equal(await commitMeasurement(store.db, first.id, measurement), true);
    assert.equal(await commitMeasurement(store.db, first.id, { ...measurement, median_ns: 99 }), false);
    const stored = await store.db
      .selectFrom('measurements')
      .selectAll()
      .where('task_id', '=', first.id)
      .execute();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.median_ns, 2);

    const crash = {
      transient: true,
      reason: 'crash',
      message: 'died',
      stderr: 'boom',
      exitCode: 3,
      signal: null,
    };
    await recordFailure(store.db, second.id, crash, 'pending', true);
    await recordFailure(
      store.db,
      third.id,
      { ...crash, transient: false, reason: 'agent-error' },
      'failed',
      false,
    );
    const counts = await taskCounts(store.db, 'r1');
    assert.deepEqual(counts, { pending: 1, running: 0, done: 1, failed: 1, skipped: 0 });
    const retried = await store.db
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', second.id)
      .executeTakeFirstOrThrow();
    assert.equal(retried.attempts, 1);
    assert.equal(retried.last_error, 'died');
    const failures = await store.db.selectFrom('failures').selectAll().orderBy('id').execute();
    assert.deepEqual(
      failures.map((failure) => [failure.task_id, failure.reason, failure.stderr, failure.transient]),
      [
        [second.id, 'crash', 'boom', 1],
        [third.id, 'agent-error', 'boom', 0],
      ],
    );

    // A process that died mid-batch leaves `running` tasks: they become pending again.
    await setTasksStatus(store.db, [second.id], 'pending', 'running');
    assert.equal(await releaseRunningTasks(store.db, 'r1', device.identity.id), 1);
  } finally {
    await store.close();
  }
});

test('a database from a newer schema is refused, with the unknown migration named, and left untouched', async () => {
  const path = join(dir, 'newer.db');
  const store = await openStore(path);
  await store.close();
  const raw = new BetterSqlite3(path);
  raw
    .prepare('insert into kysely_migration (name, timestamp) values (?, ?)')
    .run('0002_from_the_future', new Date().toISOString());
  raw.close();
  const before = readFileSync(path);
  await assert.rejects(openStore(path), (error: unknown) => {
    assert.ok(error instanceof SchemaTooNewError);
    assert.equal(error.kind, 'input');
    assert.deepEqual(error.data.unknownMigrations, ['0002_from_the_future']);
    assert.match(error.message, /newer prunelab/);
    assert.match(error.message, /knows up to 0005_backend/);
    return true;
  });
  assert.deepEqual(readFileSync(path), before);
});

test('a file that is not SQLite is refused as bad input, and a missing file when it must exist', async () => {
  const path = join(dir, 'notes.txt');
  writeFileSync(path, 'these are not the rows you are looking for\n');
  await assert.rejects(
    openStore(path),
    (error: unknown) => error instanceof StoreOpenError && /not a prunelab database/.test(error.message),
  );
  await assert.rejects(
    openStore(join(dir, 'missing.db'), { mustExist: true }),
    (error: unknown) =>
      error instanceof StoreOpenError && error.kind === 'input' && /no database at/.test(error.message),
  );
});
