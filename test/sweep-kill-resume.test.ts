/**
 * The crash test of the store: `prunelab sweep` runs as a child process on a temporary database, is killed
 * with SIGKILL in the middle, and `sweep --resume` finishes the run. No finished case may be lost (same
 * measurement ids, same medians), none may be duplicated, and the whole plan must end done.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { execa } from 'execa';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-kill-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function prunelabArgs(...args: string[]): string[] {
  // tsx by absolute URL: the child runs in a temporary folder, where a bare `tsx` would not resolve.
  return ['--import', import.meta.resolve('tsx'), join(root, 'orchestrator/cli/main.ts'), ...args];
}

interface Finished {
  readonly task_id: number;
  readonly case_key: string;
  readonly measurement_id: number;
  readonly median_ns: number;
  /** Times the case was measured again because its probe said it was disturbed (the calmer result is kept). */
  readonly remeasures: number;
}

function readFinished(dbPath: string): Finished[] {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        'select t.id as task_id, t.case_key, m.id as measurement_id, m.median_ns, m.remeasures from tasks t join measurements m on m.task_id = t.id order by t.id',
      )
      .all() as Finished[];
  } finally {
    db.close();
  }
}

function countWhere(dbPath: string, sql: string): number {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
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

test('SIGKILL mid-sweep, then --resume: nothing finished is lost, nothing duplicated, the plan ends done', async () => {
  const dbPath = join(dir, 'killed.db');
  // About 50 cases of 20+ ms each, in agent calls of 6: long enough to be killed in the middle.
  const sweepArgs = [
    '--db',
    dbPath,
    '--models',
    'resnet18-cifar10',
    '--schemes',
    'dense,unstructured,filter,channel',
  ];
  sweepArgs.push('--sparsities', '0.75', '--min-time-ms', '20', '--batch-max-cases', '6');
  const child = execa(process.execPath, prunelabArgs('sweep', ...sweepArgs), { cwd: dir, reject: false });
  const finishedAtLeast = (n: number) => () => {
    try {
      return readFinished(dbPath).length >= n;
    } catch {
      return false; // the file or its tables do not exist yet
    }
  };
  await waitFor(finishedAtLeast(8), 120_000);
  child.kill('SIGKILL');
  const killed = await child;
  assert.equal(killed.signal, 'SIGKILL');

  const before = readFinished(dbPath);
  const planned = countWhere(dbPath, 'select count(*) as n from tasks');
  assert.ok(
    before.length >= 8 && before.length < planned,
    `killed mid-run: ${before.length} of ${planned} done`,
  );
  assert.equal(
    countWhere(dbPath, "select count(*) as n from runs where status = 'running'"),
    1,
    'the run was cut off',
  );

  const resumed = await execa(process.execPath, prunelabArgs('sweep', '--db', dbPath, '--resume', '--json'), {
    cwd: dir,
    reject: false,
  });
  assert.equal(resumed.exitCode, 0, String(resumed.stderr));
  const summary = JSON.parse(String(resumed.stdout)) as {
    status: string;
    resumed: boolean;
    plannedCases: number;
  };
  assert.equal(summary.status, 'done');
  assert.equal(summary.resumed, true);
  assert.equal(summary.plannedCases, planned, 'the resumed run re-planned the same cases');

  const afterResume = readFinished(dbPath);
  const byTask = new Map(afterResume.map((row) => [row.task_id, row]));
  for (const row of before) {
    const now = byTask.get(row.task_id);
    // A case the machine disturbed may have been measured again by the resumed run: same row, a calmer median.
    if (now !== undefined && now.remeasures > row.remeasures) {
      assert.equal(now.measurement_id, row.measurement_id, `case ${row.case_key} kept its measurement row`);
      continue;
    }
    assert.deepEqual(now, row, `case ${row.case_key} kept its measurement and median`);
  }
  assert.equal(afterResume.length, planned, 'every planned case has a measurement');
  assert.equal(new Set(afterResume.map((row) => row.case_key)).size, planned, 'no case measured twice');
  assert.equal(countWhere(dbPath, 'select count(*) as n from tasks'), planned, 'no task added by the resume');
  assert.equal(countWhere(dbPath, "select count(*) as n from tasks where status <> 'done'"), 0);
  assert.equal(countWhere(dbPath, 'select count(*) as n from runs'), 1);
  assert.equal(countWhere(dbPath, "select count(*) as n from runs where status = 'done'"), 1);
});

test('the entry point exits with 2 on bad input and prints the message on stderr (real process)', async () => {
  const result = await execa(process.execPath, prunelabArgs('sweep', '--dry-run', '--schemes', 'nope'), {
    cwd: dir,
    reject: false,
  });
  assert.equal(result.exitCode, 2);
  assert.match(String(result.stderr), /--schemes\[0\]: expected one of unstructured/);
});
