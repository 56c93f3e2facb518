/**
 * The store against a real SQLite file and a real PostgreSQL database: migrations (SQLite's schema exactly
 * as before the dialects were split), WAL, idempotent task insertion, one measurement per task, and refusal
 * of a database written by a newer prunelab.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import pg from 'pg';
import { upsertDevice } from '../orchestrator/store/devices.ts';
import { SchemaTooNewError, StoreOpenError } from '../orchestrator/store/errors.ts';
import { migrationProvider } from '../orchestrator/store/migrations/index.ts';
import { type OpenedStore, openStore } from '../orchestrator/store/open.ts';
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
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-store-'));
const databases: TestDatabase[] = [];
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const database of databases) await database.drop();
});

type Dialect = 'sqlite' | 'postgres';
const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

/** A new, empty store of the dialect: a file, or a throwaway PostgreSQL database. */
async function freshStore(dialect: Dialect, name: string): Promise<OpenedStore> {
  if (dialect === 'sqlite') return openStore(join(dir, `${name}.db`));
  const database = await createTestDatabase(`store_${name}`);
  databases.push(database);
  return openStore(database.url);
}

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
    'device_leases',
    'devices',
    'failures',
    'measurements',
    'nightly_cases',
    'nightly_devices',
    'nightly_findings',
    'nightly_runs',
    'queue_batches',
    'queue_results',
    'run_devices',
    'runs',
    'tasks',
    'workers',
  ]);
  await store.close();
  const raw = new BetterSqlite3(path);
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  const applied = raw.prepare('select name from kysely_migration').all() as { name: string }[];
  raw.close();
  assert.deepEqual(
    applied.map((row) => row.name),
    [
      '0001_initial',
      '0002_nightly',
      '0003_probe',
      '0004_device_gaps',
      '0005_backend',
      '0006_leases_and_hosts',
      '0007_model_nodes',
      '0009_work_queue',
    ],
  );
  const again = await openStore(path);
  await again.close();
});

for (const dialect of DIALECTS) {
  test(`tasks are unique per (run, device, case): inserting a plan twice adds nothing the second time (${dialect})`, async () => {
    const store = await freshStore(dialect, 'tasks');
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

  test(`a task gets at most one measurement, and a failure moves it to failed or back to pending (${dialect})`, async () => {
    const store = await freshStore(dialect, 'commit');
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
}

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
    assert.match(error.message, /knows up to 0009_work_queue/);
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

test('the SQLite schema up to 0003 is exactly the one written before the dialects were split', async () => {
  const path = join(dir, 'frozen.db');
  const sqlite = new BetterSqlite3(path);
  // biome-ignore lint/suspicious/noExplicitAny: the bare migrations, as an old prunelab ran them.
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: sqlite }) });
  const migrator = new Migrator({
    db,
    provider: migrationProvider('sqlite'),
    migrationTableName: 'kysely_migration',
  });
  const { error } = await migrator.migrateTo('0003_probe');
  assert.equal(error, undefined);
  const schema = await db
    .selectFrom('sqlite_master')
    .select(['type', 'name', 'tbl_name', 'sql'])
    .where('name', 'not like', 'sqlite_%')
    .where('name', 'not like', 'kysely_%')
    .orderBy('type')
    .orderBy('name')
    .execute();
  await db.destroy();
  // Captured from the migrations as they stood before column-types.ts (Kysely's own tables left out).
  const frozen = (
    JSON.parse(readFileSync(new URL('fixtures/sqlite-schema-0003.json', import.meta.url), 'utf8')) as {
      name: string;
    }[]
  ).filter((row) => !row.name.startsWith('kysely_'));
  assert.deepEqual(schema, frozen);
});

test('PostgreSQL: every table, floating-point columns as double precision, a newer schema refused', async () => {
  const database = await createTestDatabase('store_fresh');
  databases.push(database);
  const store = await openStore(database.url);
  assert.equal(store.dialect, 'postgres');
  assert.doesNotMatch(store.path, /:prunelab@/, 'the shown URL carries no password');
  const tables = (await store.db.introspection.getTables()).map((table) => table.name).sort();
  assert.equal(tables.length, 17);
  await store.close();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const types = await client.query(
      "select column_name, data_type from information_schema.columns where table_name = 'measurements' and column_name in ('median_ns', 'id') order by column_name",
    );
    assert.deepEqual(
      types.rows.map((row) => [row.column_name, row.data_type]),
      [
        ['id', 'integer'],
        ['median_ns', 'double precision'],
      ],
    );
    await client.query('insert into kysely_migration (name, timestamp) values ($1, $2)', [
      '0099_from_the_future',
      new Date().toISOString(),
    ]);
  } finally {
    await client.end();
  }
  await assert.rejects(openStore(database.url), (error: unknown) => {
    assert.ok(error instanceof SchemaTooNewError);
    assert.deepEqual(error.data.unknownMigrations, ['0099_from_the_future']);
    return true;
  });
});

test('PostgreSQL: a refused password, a missing database and an empty one are bad input that says what to do', async () => {
  const database = await createTestDatabase('store_empty');
  databases.push(database);
  const wrong = new URL(database.url);
  wrong.password = 'not-the-password';
  await assert.rejects(openStore(wrong.href), (error: unknown) => {
    assert.ok(error instanceof StoreOpenError);
    assert.equal(error.kind, 'input');
    assert.match(error.message, /refused user prunelab/);
    assert.doesNotMatch(error.message, /not-the-password/);
    return true;
  });
  const missing = new URL(database.url);
  missing.pathname = '/prunelab_no_such_database';
  await assert.rejects(openStore(missing.href), /CREATE DATABASE prunelab_no_such_database/);
  await assert.rejects(openStore(database.url, { mustExist: true }), /no prunelab store in/);
  await assert.rejects(
    openStore('postgres://nohost'),
    /expected a PostgreSQL URL with a host and a database/,
  );
});
