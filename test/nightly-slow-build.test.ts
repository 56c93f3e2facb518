/**
 * A kernel made slower by an agent build option: three ordinary nights make a history, then the agent is
 * built with -DPRUNELAB_SLOWDOWN_PCT=30 (PRUNELAB_AGENT_CFLAGS, a testing aid). The sentinels slow down with
 * the cases (same kernels), so normalisation alone would hide it; the build change makes the raw change
 * suspect, and the A/B re-measure against the previous night's cached build confirms it: exit 1, with both
 * build hashes named.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openStore } from '../orchestrator/store/open.ts';
import { describeNoise, makeHistory, type NightlyLab, onlyUnfit, startNightlyLab } from './nightly-lab.ts';
import { launchChromium, openReportPage } from './support/chromium.ts';

let lab: NightlyLab;
before(async () => {
  lab = await startNightlyLab('slow');
});
after(async () => {
  await lab?.stop();
});

test('a 30% slower agent build is caught and confirmed against the previous build, which is named', async (t) => {
  // Three usable nights make the history (a night the lab cannot trust does not count).
  const previousHash = (await makeHistory(lab, 3, (line) => t.diagnostic(line)))?.devices[0]?.agentHash;

  // A night the lab cannot trust (sentinels too noisy on these shared CPUs) is not judged: try again; the
  // comparison stays with the last usable night's build.
  let slow = await lab.night({ PRUNELAB_AGENT_CFLAGS: '-DPRUNELAB_SLOWDOWN_PCT=30' });
  t.diagnostic(describeNoise(slow.summary));
  for (let retry = 0; retry < 2 && onlyUnfit(slow.summary); retry++) {
    slow = await lab.night({ PRUNELAB_AGENT_CFLAGS: '-DPRUNELAB_SLOWDOWN_PCT=30' });
    t.diagnostic(describeNoise(slow.summary));
  }
  const device = slow.summary.devices[0];
  assert.ok(device !== undefined && previousHash !== undefined);
  assert.notEqual(device.agentHash, previousHash, 'the build option changes the build hash');
  assert.equal(device.previousAgentHash, previousHash);
  const regressions = slow.summary.findings.filter((f) => f.kind === 'regression' && f.confirmed);
  assert.ok(
    regressions.length > 0,
    `expected a confirmed regression: ${JSON.stringify(slow.summary, null, 1)}`,
  );
  assert.equal(slow.exitCode, 1);
  assert.equal(slow.summary.status, 'regression');
  for (const regression of regressions) {
    assert.equal(regression.agentHash, device.agentHash);
    assert.equal(regression.previousAgentHash, previousHash);
    assert.match(regression.message, new RegExp(`${previousHash}.*->.*${device.agentHash}`));
    assert.match(regression.how ?? '', /interleaved re-measures, current vs previous build/);
    assert.ok(regression.ratio !== null && regression.ratio > 1 + (regression.threshold ?? 0));
  }
  const ratios = regressions.map((r) => r.ratio as number).sort((a, b) => a - b);
  t.diagnostic(
    `${regressions.length} of ${device.cases} cases confirmed; A/B ratios ${ratios.map((r) => r.toFixed(2)).join(' ')}`,
  );

  const store = await openStore(lab.dbPath);
  try {
    // The re-measure ran both builds on the phone, alternating, in the night's confirmation run.
    const rows = await store.db
      .selectFrom('measurements as m')
      .innerJoin('tasks as t', 't.id', 'm.task_id')
      .select(['m.agent_hash', 't.batch_index'])
      .where('t.run_id', '=', slow.summary.confirmRunId as string)
      .orderBy('t.batch_index')
      .execute();
    const byBatch = [...new Map(rows.map((r) => [r.batch_index, r.agent_hash])).values()];
    assert.deepEqual(byBatch.slice(0, 4), [device.agentHash, previousHash, device.agentHash, previousHash]);
    const stored = await store.db
      .selectFrom('nightly_findings')
      .selectAll()
      .where('nightly_run_id', '=', slow.summary.nightlyRunId)
      .where('kind', '=', 'regression')
      .where('confirmed', '=', 1)
      .execute();
    assert.equal(stored.length, regressions.length);
  } finally {
    await store.close();
  }

  // The night's own report shows it in "Nightly trends", in a real browser: the confirmed regressions in the
  // findings table and as flagged dots of the ratio chart.
  const reportPath = slow.summary.report;
  assert.ok(reportPath !== null, slow.summary.notes.join('\n'));
  const profile = await mkdtemp(join(tmpdir(), 'prunelab-nightly-report-'));
  const context = await launchChromium(profile);
  try {
    const { page, problems } = await openReportPage(context, reportPath);
    const rows = page.locator('#nightly-findings tbody tr', { hasText: 'regression' });
    assert.equal(await rows.filter({ hasText: previousHash }).count(), regressions.length);
    const flagged = page.locator('#chart-nightly-ratios svg g[aria-label="dot"] circle[stroke="#b3261e"]');
    // Every confirmed regression is a flagged dot; an unconfirmed suspect of that night is flagged too.
    assert.ok((await flagged.count()) >= regressions.length, 'a flagged dot per confirmed regression');
    assert.ok((await page.locator('#chart-nightly-sentinels svg g[aria-label="dot"] circle').count()) >= 1);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
