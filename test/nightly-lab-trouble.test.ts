/**
 * What is not a regression: a phone held hot (the virtual phone's thermal fault) is lab trouble, exit 3,
 * and no case is judged; a phone whose build fingerprint changed (an OS update) is reported as updated and
 * starts a new history, exit 0.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describeNoise, makeHistory, type NightlyLab, onlyUnfit, startNightlyLab } from './nightly-lab.ts';

let lab: NightlyLab;
before(async () => {
  // A short thermal wait: a hot phone's batches start after 300 ms anyway, and are recorded as such.
  lab = await startNightlyLab('trouble', { labExtra: '300' });
});
after(async () => {
  await lab?.stop();
});

test('history, then a hot phone: lab trouble (exit 3), not a regression', async (t) => {
  await makeHistory(lab, 3, (line) => t.diagnostic(line));
  lab.phone.faults.setTemperatureC(75, { hold: true });
  let hot: Awaited<ReturnType<NightlyLab['night']>>;
  try {
    hot = await lab.night();
  } finally {
    lab.phone.faults.setTemperatureC(30, { hold: false });
  }
  t.diagnostic(describeNoise(hot.summary));
  assert.equal(hot.exitCode, 3, hot.stderr);
  assert.equal(hot.summary.status, 'lab-trouble');
  assert.equal(hot.summary.devices[0]?.state, 'lab-trouble');
  assert.ok((hot.summary.devices[0]?.judged ?? 0) > 0, 'the cases had a baseline');
  assert.equal(hot.summary.devices[0]?.suspects, 0, 'nothing judged on a night the lab cannot be trusted');
  assert.ok(hot.summary.troubles.some((trouble) => /thermal gate gave up waiting/.test(trouble)));
  assert.deepEqual(
    hot.summary.findings.filter((f) => f.kind !== 'lab-trouble'),
    [],
    'lab trouble only: no regression, no improvement',
  );
  assert.match(hot.stderr, /lab trouble tonight/);
});

test('a changed build fingerprint is reported as an update and starts a new history', async (t) => {
  const before = await lab.night();
  const oldFingerprint = before.summary.devices[0]?.fingerprint;
  const newFingerprint = 'prunelab/nightly_trouble/nightly_trouble:14/PLV2/2:user/release-keys';
  lab.phone.setProperty('ro.build.fingerprint', newFingerprint);
  const updated = await lab.night();
  t.diagnostic(describeNoise(updated.summary));
  // Exit 0, or 3 when the phone's sentinels were too noisy tonight (shared CPUs): never 1.
  assert.ok(updated.exitCode === 0 || onlyUnfit(updated.summary), describeNoise(updated.summary));
  const device = updated.summary.devices[0];
  assert.equal(device?.fingerprint, newFingerprint);
  assert.equal(device?.judged, 0, 'no case compared with the nights of the old fingerprint');
  assert.equal(device?.sentinelFactor, null);
  const findings = updated.summary.findings;
  assert.deepEqual(
    findings.map((f) => f.kind).filter((kind) => kind !== 'unfit'),
    ['updated'],
  );
  assert.match(findings[0]?.message ?? '', new RegExp(`${oldFingerprint} -> ${newFingerprint}`));
});
