/**
 * The nightly's pure core with literal data (baseline, threshold, sentinel factor, suspects, verdicts, the
 * place of sentinel batches), the lock next to the database, and `--every` never running two nights at
 * once (a real croner schedule ticking every second, with a night that lasts longer than a tick).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CONFIG } from '../config/defaults.ts';
import { findCachedBuild, keepBuild } from '../orchestrator/build/build-cache.ts';
import { NightlyLockedError } from '../orchestrator/nightly/errors.ts';
import { checkCron, runEvery } from '../orchestrator/nightly/every.ts';
import { acquireNightlyLock } from '../orchestrator/nightly/lock.ts';
import {
  baselineOf,
  type CaseJudgement,
  confirmSuspect,
  judgeCase,
  judgeSentinels,
  type NoiseRule,
  relative,
} from '../orchestrator/nightly/regression.ts';
import { sentinelCases, sentinelNameOf, withSentinels } from '../orchestrator/nightly/sentinels.ts';
import type { TaskInput } from '../orchestrator/store/tasks.ts';
import { runPrunelab } from './support/cli.ts';

const RULE: NoiseRule = { minHistoryNights: 3, noiseK: 4, minThreshold: 0.05 };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunelab-nightly-core-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('baseline: none below minHistoryNights; median; k x robust spread with a floor', () => {
  assert.equal(baselineOf([100, 101], RULE), undefined);
  const quiet = baselineOf([100, 101, 99, 100, 100.5], RULE);
  assert.ok(quiet !== undefined);
  assert.equal(quiet.latencyNs, 100);
  assert.equal(quiet.nights, 5);
  // A quiet history sits on the floor (5%).
  assert.ok(Math.abs(relative(quiet.thresholdLog) - 0.05) < 1e-12);
  const noisy = baselineOf([100, 110, 90, 105, 95, 120, 85], RULE);
  assert.ok(noisy !== undefined);
  // |log deviations| from the median 100, sorted: 0, log(100/95)... ; their median is log(1.1).
  assert.ok(Math.abs(noisy.spreadLog - 1.482602218505602 * Math.log(1.1)) < 1e-12, String(noisy.spreadLog));
  assert.ok(Math.abs(noisy.thresholdLog - 4 * noisy.spreadLog) < 1e-12);
});

test('sentinels: the factor is the median of tonight over history; the spread ignores one outlier repeat', () => {
  const verdict = judgeSentinels(
    [
      { name: 'a', tonightNs: [130, 131, 129, 130], historyNs: [100, 100, 100] },
      { name: 'b', tonightNs: [26, 26, 26, 40], historyNs: [20, 20, 20] },
      { name: 'c', tonightNs: [14, 14], historyNs: [10, 10, 10] },
    ],
    3,
  );
  assert.ok(verdict.factor !== undefined && Math.abs(verdict.factor - 1.3) < 1e-9);
  assert.ok(verdict.spread < 0.02, `one slow repeat of four is not noise of the night: ${verdict.spread}`);
  const noisy = judgeSentinels([{ name: 'a', tonightNs: [100, 150, 80, 130], historyNs: [] }], 3);
  assert.equal(noisy.factor, undefined, 'no history: no factor');
  assert.ok(noisy.spread > 0.2);
  assert.equal(noisy.noisiest, 'a');
});

test('a hot phone slows sentinels and cases alike: no suspect; with a new build, the raw change is suspect', () => {
  const night = {
    caseKey: 'k',
    latencyNs: 1300,
    historyNormalisedNs: [1000, 1010, 990],
    historyRawNs: [1000, 1010, 990],
  };
  const hot = judgeCase(night, 1.3, false, RULE);
  assert.equal(hot.suspect, undefined);
  assert.ok(hot.ratio !== undefined && Math.abs(hot.ratio - 1) < 1e-9);
  const newBuild = judgeCase(night, 1.3, true, RULE);
  assert.equal(newBuild.suspect, 'slower');
  assert.equal(newBuild.suspectBy, 'raw');
  const slower = judgeCase({ ...night, latencyNs: 1200 }, 1, false, RULE);
  assert.equal(slower.suspect, 'slower');
  assert.equal(slower.suspectBy, 'normalised');
  const faster = judgeCase({ ...night, latencyNs: 800 }, 1, false, RULE);
  assert.equal(faster.suspect, 'faster');
  const young = judgeCase({ ...night, historyNormalisedNs: [1000], historyRawNs: [1000] }, 1, false, RULE);
  assert.equal(young.ratio, undefined, 'no baseline yet: never an alarm');
  assert.equal(young.suspect, undefined);
});

function suspect(latencyNs: number, factor: number, buildChanged: boolean): CaseJudgement {
  return judgeCase(
    { caseKey: 'k', latencyNs, historyNormalisedNs: [1000, 1000, 1000], historyRawNs: [1000, 1000, 1000] },
    factor,
    buildChanged,
    RULE,
  );
}

test('verdicts: A/B decides code or device; a second miss is not confirmed', () => {
  const code = confirmSuspect(
    suspect(1300, 1.3, true),
    {
      currentNs: [1300, 1290, 1310],
      previousNs: [1000, 1005, 995],
      buildChanged: true,
      previousMissing: false,
    },
    1.3,
  );
  assert.equal(code.kind, 'regression');
  assert.ok(Math.abs(code.ratio - 1.3) < 0.01);
  assert.match(code.how, /interleaved/);

  const device = confirmSuspect(
    suspect(1300, 1, true),
    {
      currentNs: [1300, 1290, 1310],
      previousNs: [1290, 1300, 1305],
      buildChanged: true,
      previousMissing: false,
    },
    1,
  );
  assert.equal(device.kind, 'device-slower', 'both builds slow: the device, not the code');

  const sameBuild = confirmSuspect(
    suspect(1300, 1, false),
    { currentNs: [1290, 1300, 1310], buildChanged: false, previousMissing: false },
    1,
  );
  assert.equal(sameBuild.kind, 'device-slower');

  const fluke = confirmSuspect(
    suspect(1300, 1, false),
    { currentNs: [1000, 1010, 1005], buildChanged: false, previousMissing: false },
    1,
  );
  assert.equal(fluke.kind, 'not-confirmed');

  const uncached = confirmSuspect(
    suspect(1300, 1, true),
    { currentNs: [1300, 1310, 1290], buildChanged: true, previousMissing: true },
    1,
  );
  assert.equal(uncached.kind, 'regression');
  assert.match(uncached.how, /no longer cached/);

  // Normalised by sentinels the slower build slowed even more, a case looks faster; the A/B tells the truth.
  const hidden = confirmSuspect(
    suspect(900, 1, true),
    {
      currentNs: [1300, 1290, 1310],
      previousNs: [1000, 1005, 995],
      buildChanged: true,
      previousMissing: false,
    },
    1.45,
  );
  assert.equal(hidden.kind, 'regression');

  const better = confirmSuspect(
    suspect(700, 1, true),
    { currentNs: [700, 710, 705], previousNs: [1000, 990, 1010], buildChanged: true, previousMissing: false },
    1,
  );
  assert.equal(better.kind, 'improvement');
});

test('sentinel batches go first, after every N sweep batches and last; sweep keys unchanged', () => {
  const sweep: TaskInput[] = [0, 0, 1, 2, 2].map((batchIndex, i) => ({
    caseKey: `c${i}`,
    batchIndex,
    seq: i,
    caseJson: {},
    planLine: { op: 'idle', durationUs: 1 },
  }));
  const sentinels = sentinelCases(DEFAULT_CONFIG);
  const names = DEFAULT_CONFIG.nightly.sentinels.map((s) => s.name);
  const tasks = withSentinels(sweep, sentinels, names, 2);
  const order = [...new Set(tasks.map((t) => t.batchIndex))].map((index) =>
    tasks
      .filter((t) => t.batchIndex === index)
      .map((t) => sentinelNameOf(t.caseKey) ?? t.caseKey)
      .join(','),
  );
  const s = names.join(',');
  assert.deepEqual(order, [s, 'c0,c1', 'c2', s, 'c3,c4', s]);
  assert.equal(new Set(tasks.map((t) => t.caseKey)).size, tasks.length, 'every task key once');
  assert.equal(sentinelNameOf('sentinel/dense-fc/2'), 'dense-fc');
  assert.equal(sentinelNameOf('sentinel/dense-fc'), 'dense-fc', 'the key of its nightly_cases row');
  assert.equal(sentinelNameOf('ab12'), undefined);
});

test('the lock: a second taker is refused while the owner runs; a stale lock is taken over', async () => {
  const path = join(dir, 'a.db.nightly.lock');
  const release = await acquireNightlyLock(path);
  await assert.rejects(acquireNightlyLock(path), NightlyLockedError);
  await release();
  // A pid that cannot be running (beyond pid_max on Linux).
  await writeFile(path, '4194305\n');
  const again = await acquireNightlyLock(path);
  assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
  await again();
});

test('--every never starts a night while one runs: overlapping ticks are skipped', async () => {
  assert.throws(() => checkCron('every night'), /--every: expected a cron expression/);
  const stop = new AbortController();
  let running = 0;
  let maxRunning = 0;
  let nights = 0;
  const skippedAt: Date[] = [];
  const done = runEvery({
    cron: '* * * * * *',
    stop: stop.signal,
    runOnce: async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      nights += 1;
      await sleep(2_300);
      running -= 1;
    },
    onSkip: (at) => skippedAt.push(at),
  });
  await sleep(5_500);
  stop.abort();
  const result = await done;
  assert.equal(maxRunning, 1, 'never two nights at once');
  assert.ok(nights >= 2, `expected at least two nights in 5.5 s, got ${nights}`);
  assert.ok(result.skipped >= 2 && result.skipped === skippedAt.length, `skipped ${result.skipped}`);
  assert.equal(result.runs, nights);
  assert.equal(running, 0, 'the night in progress finished before runEvery returned');
});

test('prunelab nightly --every with a bad cron expression is bad input (exit 2), before any run', async () => {
  const run = await runPrunelab(['nightly', '--every', 'every night', '--db', join(dir, 'never.db')]);
  assert.equal(run.exitCode, 2, run.stderr);
  assert.match(run.stderr, /--every: expected a cron expression .* got 'every night'/);
  const alone = await runPrunelab(['nightly', '--every', '--db', join(dir, 'never.db')]);
  assert.equal(alone.exitCode, 2, alone.stderr);
  assert.match(alone.stderr, /or nightly.schedule in the config; got neither/);
});

test('the build cache keeps the newest builds of each ABI by hash and runs nothing half-copied', async () => {
  const cache = join(dir, 'builds');
  const binary = join(dir, 'agent-binary');
  await writeFile(binary, 'not really an agent');
  const build = (hash: string, abi = 'host') => ({
    hash,
    abi,
    compiler: 'cc',
    flags: '-O3',
    binaryPath: binary,
  });
  await keepBuild(cache, build('aaaa'), 2, new Date('2026-01-01T00:00:00Z'));
  await keepBuild(cache, build('bbbb'), 2, new Date('2026-01-02T00:00:00Z'));
  await keepBuild(cache, build('cccc', 'arm64-v8a'), 2, new Date('2026-01-03T00:00:00Z'));
  // Keeping aaaa again refreshes it, so bbbb is now the oldest host build.
  await keepBuild(cache, build('aaaa'), 2, new Date('2026-01-04T00:00:00Z'));
  await keepBuild(cache, build('dddd'), 2, new Date('2026-01-05T00:00:00Z'));
  assert.equal(await findCachedBuild(cache, 'bbbb'), undefined, 'evicted: the oldest host build');
  const kept = await findCachedBuild(cache, 'aaaa');
  assert.equal(kept?.flags, '-O3');
  assert.equal(await readFile(kept?.binaryPath ?? '', 'utf8'), 'not really an agent');
  assert.ok((await findCachedBuild(cache, 'cccc')) !== undefined, 'another ABI is counted apart');
  assert.ok((await findCachedBuild(cache, 'dddd')) !== undefined);
  assert.equal(await findCachedBuild(cache, '../etc'), undefined, 'only hashes name a build');
});
