/**
 * Issue 23, item 6, as a new user tried it: a sweep killed mid-run, then two `prunelab sweep --resume` of
 * it started at once (real processes, one SQLite file). The device lease lets one of them run the pending
 * cases; the other names the holder and runs nothing. Every pending case is run once (counted from both
 * processes' progress lines), none twice, and the run ends done.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { execa } from 'execa';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-two-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function prunelabArgs(...args: string[]): string[] {
  return ['--import', import.meta.resolve('tsx'), join(root, 'orchestrator/cli/main.ts'), ...args];
}

function count(dbPath: string, query: string): number {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(query).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Progress lines of cases measured: `[host:vm] 5/24 ok <key> median ...`. */
function casesRun(stderr: string): number {
  return stderr.split('\n').filter((line) => /^\[[^\]]+\] \d+\/\d+ ok /.test(line)).length;
}

test('two `sweep --resume` at once: one runs the pending cases, the other names it and runs nothing', async () => {
  const dbPath = join(dir, 'two.db');
  const config = join(dir, 'lab.yaml');
  // 24 cases of 100+ ms in agent calls of 4; no re-measures, so every case runs exactly once.
  writeFileSync(
    config,
    `sweep:
  models: [resnet18-cifar10]
  schemes: [dense, filter]
  sparsities: [0.5]
  threads: [1]
  measurement: { warmup: 1, minReps: 3, minTimeMs: 100, maxTimeMs: 300 }
  batch: { maxCases: 4 }
lab:
  disturbance: { remeasures: 0 }
`,
  );
  const first = execa(process.execPath, prunelabArgs('sweep', '--config', config, '--db', dbPath), {
    cwd: dir,
    reject: false,
  });
  const done = () => {
    try {
      return count(dbPath, 'select count(*) as n from measurements') >= 4;
    } catch {
      return false;
    }
  };
  await waitFor(done, 120_000);
  first.kill('SIGKILL');
  await first;
  const planned = count(dbPath, 'select count(*) as n from tasks');
  const pending = count(dbPath, "select count(*) as n from tasks where status <> 'done'");
  assert.ok(pending > 4, `killed mid-run: ${pending} of ${planned} pending`);

  const resume = () =>
    execa(process.execPath, prunelabArgs('sweep', '--db', dbPath, '--resume', '--no-report'), {
      cwd: dir,
      reject: false,
      env: { PRUNELAB_NO_ADB: '1' },
    });
  const [a, b] = await Promise.all([resume(), resume()]);
  const results = [a, b];
  const ran = results.filter((result) => result.exitCode === 0);
  const held = results.filter((result) =>
    /held: host:\S+ is running cases for another process \(pid \d+ on /.test(
      String(result.stdout) + String(result.stderr),
    ),
  );
  assert.equal(ran.length, 1, results.map((r) => `exit ${r.exitCode}\n${r.stderr}`).join('\n----\n'));
  assert.equal(held.length, 1, 'the second process named the holder');
  assert.equal(held[0]?.exitCode, 1);
  assert.equal(casesRun(String(held[0]?.stderr)), 0, 'the held process ran no case');
  assert.equal(
    casesRun(String(a.stderr)) + casesRun(String(b.stderr)),
    pending,
    'each pending case ran once',
  );

  assert.equal(count(dbPath, 'select count(*) as n from measurements'), planned);
  assert.equal(count(dbPath, 'select count(distinct task_id) as n from measurements'), planned);
  assert.equal(count(dbPath, "select count(*) as n from tasks where status <> 'done'"), 0);
  assert.equal(count(dbPath, "select count(*) as n from runs where status = 'done'"), 1, 'the run ends done');
  assert.equal(count(dbPath, 'select count(*) as n from device_leases'), 0, 'every lease given back');
});
