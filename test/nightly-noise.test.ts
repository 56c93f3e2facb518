/**
 * Ten nights on a virtual phone with nothing changed: the natural noise of this machine (shared CPUs,
 * other processes) moves cases from night to night, but no alarm is confirmed and every night exits 0.
 * The noise each night saw is printed (`node --test` shows it), so thresholds are never tuned blind.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readNightlyTrends } from '../orchestrator/nightly/trends.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { describeNoise, type NightlyLab, onlyUnfit, startNightlyLab } from './nightly-lab.ts';

let lab: NightlyLab;
before(async () => {
  lab = await startNightlyLab('noise');
});
after(async () => {
  await lab?.stop();
});

test('ten unchanged nights: no confirmed alarm, exit 0 each night (3 only for a noisy night), trends stored', async (t) => {
  const nights = [];
  for (let night = 0; night < 10; night++) {
    const result = await lab.night();
    t.diagnostic(describeNoise(result.summary));
    nights.push(result);
    // Exit 0; or 3 when the sentinels themselves were too noisy that night (unfit, reported, never 1).
    assert.ok(
      result.exitCode === 0 || onlyUnfit(result.summary),
      `night ${night + 1}: ${describeNoise(result.summary)}\n${result.stderr}`,
    );
    // Only a changed agent build can be a code regression or improvement; a case that stays slower on a
    // second hit with the same build is reported as the device's (device-slower), which is no alarm.
    const alarms = result.summary.findings.filter(
      (f) => f.confirmed && (f.kind === 'regression' || f.kind === 'improvement'),
    );
    assert.deepEqual(alarms, [], `night ${night + 1}: ${JSON.stringify(result.summary.findings, null, 1)}`);
    assert.ok(
      result.summary.report !== null,
      `night ${night + 1} wrote its report: ${result.summary.notes.join('\n')}`,
    );
  }
  const all = nights.flatMap((n) => n.summary.findings);
  t.diagnostic(
    `10 nights: ${nights.filter((n) => n.exitCode === 0).length} clean, ` +
      `${nights.filter((n) => n.exitCode === 3).length} unfit (sentinel spread over nightly.maxSentinelSpread); ` +
      `suspects: ${all.filter((f) => !f.confirmed).length} not confirmed, ` +
      `${all.filter((f) => f.kind === 'device-slower').length} confirmed as the device's (same build)`,
  );
  for (const f of all.filter((finding) => finding.kind === 'device-slower'))
    t.diagnostic(
      `device-slower: ${f.label} ${(((f.ratio ?? 1) - 1) * 100).toFixed(1)}% (threshold ${((f.threshold ?? 0) * 100).toFixed(1)}%)`,
    );
  const [first] = nights;
  assert.equal(first?.summary.devices[0]?.judged, 0, 'the first night has no baseline');
  // A first night can also be unfit (this VM's neighbours spread its sentinels): then it has no baseline either.
  assert.ok(
    ['no-baseline', 'unfit'].includes(first?.summary.devices[0]?.state ?? ''),
    `the first night has no baseline (state ${first?.summary.devices[0]?.state})`,
  );
  assert.ok(
    nights.filter((n) => (n.summary.devices[0]?.judged ?? 0) > 0).length >= 3,
    'once three usable nights are stored, cases have a baseline and are judged',
  );
  assert.ok(
    nights.every((n) => n.summary.report !== null),
    'each night wrote its report',
  );

  const store = await openStore(lab.dbPath);
  try {
    const trends = await readNightlyTrends(store.db, { nights: 10 });
    assert.equal(trends.length, 1);
    const device = trends[0];
    assert.ok(device !== undefined);
    assert.equal(device.deviceId, lab.phone.serial);
    assert.equal(device.nights.length, 10);
    const last = device.nights.at(-1);
    assert.ok(last !== undefined && last.sentinelFactor !== null, 'sentinel factor once there is history');
    const judged = last.cases.filter((c) => !c.sentinel && c.ratio !== null);
    assert.ok(judged.length > 0);
    const ratios = judged.map((c) => Math.abs(Math.log(c.ratio as number)));
    t.diagnostic(
      `last night: ${judged.length} cases, largest |normalised change| ${((Math.exp(Math.max(...ratios)) - 1) * 100).toFixed(1)}%, ` +
        `thresholds ${Math.min(...judged.map((c) => c.threshold as number)).toFixed(3)}..${Math.max(...judged.map((c) => c.threshold as number)).toFixed(3)}`,
    );
  } finally {
    await store.close();
  }
});
