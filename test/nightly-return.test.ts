/**
 * A phone that reboots during the night (issue #22): killed mid-sweep (its work folder emptied) and started
 * again on the same port. The night finishes its sweep on it and is not lab trouble; the gap is a note.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { describeNoise, type NightlyLab, onlyUnfit, startNightlyLab } from './nightly-lab.ts';

let lab: NightlyLab;
before(async () => {
  lab = await startNightlyLab('return');
});
after(async () => {
  await lab?.stop();
});

/** Measurements in the store so far (the night writes them as they come; WAL lets us read meanwhile). */
function measuredSoFar(dbPath: string): number {
  try {
    const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('select count(*) as n from measurements').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

test('a phone restarted during the night finishes its sweep; the night is not lab trouble', async (t) => {
  let restarted = false;
  const restart = (async () => {
    const deadline = performance.now() + 120_000;
    while (measuredSoFar(lab.dbPath) < 4) {
      if (performance.now() > deadline) return;
      await sleep(50);
    }
    const startAgain = await lab.lab.kill(lab.lab.phones[0] ?? lab.phone);
    await sleep(500);
    await startAgain();
    restarted = true;
  })();
  const night = await lab.night();
  await restart;
  t.diagnostic(describeNoise(night.summary));
  assert.ok(restarted, 'the phone was restarted mid-night');
  // Exit 0, or 3 only when the phone's sentinels were too noisy (shared CPUs): never for the reboot.
  assert.ok(
    night.exitCode === 0 || onlyUnfit(night.summary),
    `${describeNoise(night.summary)}\n${night.stderr}`,
  );
  assert.deepEqual(
    night.summary.troubles.filter((trouble) => !/unfit/.test(trouble)),
    [],
    'no lab trouble from the reboot',
  );
  const device = night.summary.devices[0];
  assert.ok(
    device?.notes.some((note) => /lost at .*, back after [\d.]+ s/.test(note)),
    JSON.stringify(device?.notes),
  );
  const db = new BetterSqlite3(lab.dbPath, { readonly: true });
  try {
    const counts = db
      .prepare('select status, count(*) as n from tasks where run_id = ? group by status')
      .all(night.summary.sweepRunId) as { status: string; n: number }[];
    assert.deepEqual(
      counts.map((c) => c.status),
      ['done'],
      JSON.stringify(counts),
    );
  } finally {
    db.close();
  }
});
