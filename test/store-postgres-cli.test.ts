/**
 * Every command that takes `--db` on a PostgreSQL store (a throwaway database on the real server): a tiny
 * host sweep, its resume after a kill (tasks left running, as a killed process leaves them), export, fit,
 * report and one nightly whose YAML names the store as `store.url`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { runPrunelab } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-pgcli-'));
let database: TestDatabase;
let runId = '';
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database?.drop();
});

const prunelab = (...args: string[]) => runPrunelab(args);

async function query<Row extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

// 12 dense ResNet-18 layers, few repetitions, no re-measures: the store is under test, not the timings.
const LAB_YAML = `sweep:
  models: [resnet18-cifar10]
  schemes: [dense]
  threads: [1]
  measurement: { warmup: 1, minReps: 3, minTimeMs: 1, maxTimeMs: 50 }
  batch: { maxCases: 12 }
lab:
  thermal: { maxWaitMs: 1000 }
  disturbance: { remeasures: 0 }
`;

before(async () => {
  database = await createTestDatabase('cli');
  const config = join(dir, 'lab.yaml');
  writeFileSync(config, LAB_YAML);
  const sweep = await prunelab('sweep', '--json', '--config', config, '--db', database.url, '--no-report');
  assert.equal(sweep.exitCode, 0, sweep.stderr);
  const summary = JSON.parse(sweep.stdout) as { runId: string; dbPath: string; status: string };
  assert.equal(summary.status, 'done');
  assert.doesNotMatch(summary.dbPath, /:prunelab@/, 'the printed store carries no password');
  runId = summary.runId;
});

test('a sweep on PostgreSQL stores one measurement per task; a resume measures only what a kill left', async () => {
  const [counts] = await query<{ tasks: number; measurements: number }>(
    'select (select count(*)::int from tasks) as tasks, (select count(*)::int from measurements) as measurements',
  );
  assert.ok(counts && counts.tasks > 4);
  assert.equal(counts.measurements, counts.tasks);
  // What a SIGKILL leaves: the cases in flight `running` and unmeasured.
  const killed = await query<{ id: number }>(
    "update tasks set status = 'running' where id in (select id from tasks order by id desc limit 3) returning id",
  );
  await query('delete from measurements where task_id = any($1)', [killed.map((row) => row.id)]);
  const resume = await prunelab('sweep', '--json', '--db', database.url, '--resume', runId, '--no-report');
  assert.equal(resume.exitCode, 0, resume.stderr);
  const resumed = JSON.parse(resume.stdout) as { status: string; resumed: boolean; counts: { done: number } };
  assert.equal(resumed.status, 'done');
  assert.equal(resumed.resumed, true);
  assert.equal(resumed.counts.done, counts.tasks);
  const [after] = await query<{ measurements: number; distinct_tasks: number }>(
    'select count(*)::int as measurements, count(distinct task_id)::int as distinct_tasks from measurements',
  );
  assert.deepEqual(after, { measurements: counts.tasks, distinct_tasks: counts.tasks });
});

test('export, fit and report read the PostgreSQL store', async () => {
  const [{ measurements } = { measurements: 0 }] = await query<{ measurements: number }>(
    'select count(*)::int as measurements from measurements',
  );
  const out = join(dir, 'results.jsonl');
  const exported = await prunelab(
    'export',
    '--db',
    database.url,
    '--format',
    'jsonl',
    '--out',
    out,
    '--json',
  );
  assert.equal(exported.exitCode, 0, exported.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines.length, measurements);
  const medians = (await query<{ median_ns: number }>('select median_ns from measurements')).map(
    (row) => row.median_ns,
  );
  for (const line of lines) {
    const row = JSON.parse(line) as { median_ns: number; samples_ns: number[] };
    assert.ok(medians.includes(row.median_ns), 'every exported median is a stored one, at full precision');
    assert.ok(row.samples_ns.length >= 3);
  }

  const luts = join(dir, 'luts');
  const fit = await prunelab('fit', '--db', database.url, '--out', luts, '--json');
  assert.equal(fit.exitCode, 0, fit.stderr);
  const lutPath = join(luts, `lut-host_${os.hostname().replace(/[^\w.-]/g, '_')}.json`);
  const written = (JSON.parse(fit.stdout) as { luts: { path: string }[] }).luts.map((lut) => lut.path);
  assert.equal(written.length, 1, fit.stdout);
  assert.ok(existsSync(written[0] ?? lutPath));

  const html = join(dir, 'report.html');
  const report = await prunelab('report', '--db', database.url, '--run', runId, '--out', html);
  assert.equal(report.exitCode, 0, report.stderr);
  assert.match(readFileSync(html, 'utf8'), new RegExp(runId));
});

test('status reads the PostgreSQL store: the run complete, a lease whose holder is gone shown expired', async () => {
  await query(
    "insert into device_leases values ('phone-x', 4, 'h', 'lab-gone', 99, null, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:30.000Z')",
  );
  const status = await prunelab('status', '--db', database.url, '--json');
  assert.equal(status.exitCode, 0, status.stderr);
  const lab = JSON.parse(status.stdout) as {
    runs: { id: string; status: string; tasks: number; counts: { done: number } }[];
    leases: { deviceId: string; state: string }[];
  };
  const run = lab.runs.find((candidate) => candidate.id === runId);
  assert.equal(run?.status, 'done');
  assert.equal(run?.counts.done, run?.tasks);
  assert.deepEqual(lab.leases, [{ ...lab.leases[0], deviceId: 'phone-x', state: 'expired' }]);
  const text = await prunelab('status', '--db', database.url);
  assert.match(text.stdout, /phone-x: EXPIRED .*pid 99 on lab-gone is gone or hung/);
  await query("delete from device_leases where device_id = 'phone-x'");
});

test('a nightly with store.url in its YAML runs on the PostgreSQL store', async () => {
  const config = join(dir, 'nightly.yaml');
  writeFileSync(
    config,
    `${LAB_YAML}store:
  url: ${database.url}
`,
  );
  const night = await runPrunelab(['nightly', '--config', config, '--out', join(dir, 'nightly'), '--json']);
  assert.ok([0, 1, 3].includes(night.exitCode), `${night.stdout}\n${night.stderr}`);
  const rows = await query<{ status: string }>('select status from nightly_runs');
  assert.equal(rows.length, 1, 'the night is recorded in the PostgreSQL store');
  assert.notEqual(rows[0]?.status, 'running');
});

test('a bad store.url is bad input naming the field', async () => {
  const config = join(dir, 'bad.yaml');
  writeFileSync(config, 'store:\n  url: mysql://somewhere/db\n');
  const sweep = await prunelab('sweep', '--config', config, '--dry-run');
  assert.equal(sweep.exitCode, 2);
  assert.match(sweep.stderr, /store\.url/);
  assert.match(sweep.stderr, /PostgreSQL URL/);
});
