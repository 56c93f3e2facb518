/**
 * judgeNight with literal reads of the nightly store: a healthy device with a suspect after a build change,
 * an updated device whose night is unfit and troubled, and a troubled device whose suspects are not judged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_NIGHTLY } from '../../config/defaults.ts';
import { type DeviceNight, judgeNight } from './judge-night.ts';
import type { DeviceNightRead } from './read-night.ts';

const RULE = DEFAULT_NIGHTLY; // minHistoryNights 3, floor 5%, maxSentinelSpread 10%, maxFailedShare 10%

const steadyHistory = new Map([
  ['sentinel/conv', { normalisedNs: [100, 100, 100], rawNs: [100, 100, 100] }],
  ['c1', { normalisedNs: [1000, 1000, 1000], rawNs: [1000, 1000, 1000] }],
  ['c2', { normalisedNs: [500, 500, 500], rawNs: [500, 500, 500] }],
]);

function read(fields: Partial<DeviceNightRead> & Pick<DeviceNightRead, 'deviceId'>): DeviceNightRead {
  return {
    medians: [],
    labels: new Map(),
    previous: { build_fingerprint: 'fp-1', agent_hash: 'old' },
    lastUsable: { build_fingerprint: 'fp-1', agent_hash: 'old' },
    history: new Map(),
    labTrouble: [],
    gaps: [],
    failedShare: 0,
    ...fields,
  };
}

function night(
  deviceId: string,
  fields: Partial<DeviceNightRead>,
  tonight: Partial<DeviceNight['tonight']> = {},
) {
  return {
    tonight: {
      deviceId,
      model: 'Pixel',
      fingerprint: 'fp-1',
      buildHash: 'new',
      stoppedReason: undefined,
      ...tonight,
    },
    read: read({ deviceId, ...fields }),
  };
}

// The device ran 10% slow tonight (sentinels 110 against 100); c1 is 30% slower on top of that, c2 is not
// (normalised), though it is 10% slower raw.
const healthy = night('A', {
  history: steadyHistory,
  labels: new Map([['c1', 'conv1 bcr 4x1 s=0.75']]),
  medians: [
    { case_key: 'sentinel/conv/0', agent_hash: 'new', median_ns: 110 },
    { case_key: 'c1', agent_hash: 'new', median_ns: 1430 },
    { case_key: 'sentinel/conv/1', agent_hash: 'new', median_ns: 110 },
    { case_key: 'c2', agent_hash: 'new', median_ns: 550 },
  ],
});

test('a healthy device: cases normalised by the sentinel factor, the slow one suspect, the build change kept', () => {
  const judged = judgeNight([healthy], RULE);
  assert.deepEqual(judged.findings, []);
  assert.deepEqual(judged.troubles, []);
  assert.deepEqual([...judged.fitDevices], [['A', 'new']]);
  const [device] = judged.devices;
  assert.ok(device !== undefined);
  assert.equal(device.state, 'ok');
  assert.equal(device.agentHash, 'new');
  assert.equal(device.previousAgentHash, 'old');
  assert.ok(Math.abs((device.sentinelFactor ?? 0) - 1.1) < 1e-12);
  assert.deepEqual([device.cases, device.judged, device.suspects], [2, 2, 2]);
  const suspects = judged.suspects.get('A');
  assert.ok(suspects !== undefined);
  assert.equal(suspects.previousHash, 'old');
  assert.equal(suspects.labels.get('c1'), 'conv1 bcr 4x1 s=0.75');
  assert.deepEqual(
    suspects.judgements.map((j) => [j.caseKey, j.suspect, j.suspectBy]),
    [
      ['c1', 'slower', 'normalised'],
      // The build changed: 10% slower raw is beyond the 5% floor too (the sentinels run the same kernels).
      ['c2', 'slower', 'raw'],
    ],
  );
  const [record] = judged.records;
  assert.ok(record !== undefined);
  assert.equal(record.usable, true);
  assert.equal(record.note, undefined);
  assert.deepEqual(
    record.cases.map((c) => [c.caseKey, c.sentinel, Math.round(c.normalisedNs), c.ratio?.toFixed(3)]),
    [
      ['sentinel/conv', true, 110, undefined],
      ['c1', false, 1300, '1.300'],
      ['c2', false, 500, '1.000'],
    ],
  );
  // A quiet history sits on the 5% floor.
  assert.ok(Math.abs((record.cases[1]?.threshold ?? 0) - 0.05) < 1e-12);
});

test('an updated device with noisy sentinels and failed cases: updated, unfit, lab trouble, not usable', () => {
  const troubled = night(
    'B',
    {
      previous: { build_fingerprint: 'fp-0', agent_hash: 'new' },
      lastUsable: { build_fingerprint: 'fp-0', agent_hash: 'new' },
      failedShare: 0.5,
      medians: [100, 150, 100, 150]
        .map((ns, repeat) => ({ case_key: `sentinel/conv/${repeat}`, agent_hash: 'measured', median_ns: ns }))
        .concat([{ case_key: 'c1', agent_hash: 'measured', median_ns: 1000 }]),
    },
    { buildHash: undefined, stoppedReason: 'stopped after 5 failures in a row' },
  );
  const judged = judgeNight([troubled], RULE);
  assert.deepEqual(
    judged.findings.map((f) => [f.kind, f.deviceId]),
    [
      ['updated', 'B'],
      ['unfit', 'B'],
      ['lab-trouble', 'B'],
      ['lab-trouble', 'B'],
    ],
  );
  assert.match(judged.findings[0]?.message ?? '', /fp-0 -> fp-1/);
  assert.equal(judged.troubles.length, 3);
  assert.match(judged.troubles[0] ?? '', /unfit for LUT production tonight: sentinel conv varied/);
  assert.equal(judged.troubles[1], 'B: stopped after 5 failures in a row');
  assert.equal(judged.troubles[2], 'B: 50.0% of its cases did not finish (nightly.maxFailedShare: 10.0%)');
  assert.equal(judged.suspects.size, 0);
  assert.equal(judged.fitDevices.size, 0);
  const [device] = judged.devices;
  assert.equal(device?.state, 'unfit');
  assert.equal(
    device?.agentHash,
    'measured',
    'without a build of its own tonight, the hash the cases ran with',
  );
  assert.equal(device?.judged, 0);
  const [record] = judged.records;
  assert.equal(record?.usable, false);
  assert.equal(
    record?.note,
    'stopped after 5 failures in a row; 50.0% of its cases did not finish (nightly.maxFailedShare: 10.0%)',
  );
});

test('a device with lab trouble: its suspects are not re-measured, and it says so', () => {
  const hot = night('C', {
    history: steadyHistory,
    labTrouble: ['1 batch(es) flagged: too hot'],
    medians: [
      { case_key: 'sentinel/conv/0', agent_hash: 'new', median_ns: 100 },
      { case_key: 'c1', agent_hash: 'new', median_ns: 1500 },
    ],
  });
  const judged = judgeNight([healthy, hot], RULE);
  assert.deepEqual([...judged.suspects.keys()], ['A']);
  assert.deepEqual([...judged.fitDevices.keys()], ['A']);
  assert.deepEqual(judged.troubles, ['C: 1 batch(es) flagged: too hot']);
  const device = judged.devices.find((d) => d.deviceId === 'C');
  assert.equal(device?.state, 'lab-trouble');
  assert.equal(device?.suspects, 0);
  assert.deepEqual(device?.notes, [
    'cases beyond their threshold were not judged: the lab was not trustworthy tonight',
  ]);
});

test('a phone back during the night with the same build is judged as usual, with a note; with another build, lab trouble', () => {
  const gap = {
    lost_at: '2026-01-01T02:10:00.000Z',
    back_at: '2026-01-01T02:10:12.500Z',
    flaps: 0,
    fingerprint_before: 'fp-1',
    fingerprint_after: 'fp-1',
  };
  const back = night('A', { ...healthy.read, gaps: [gap] });
  const judged = judgeNight([back], RULE);
  assert.deepEqual(judged.troubles, []);
  assert.deepEqual([...judged.suspects.keys()], ['A'], 'its slow case is still re-measured');
  assert.deepEqual(judged.devices[0]?.notes, [
    'lost at 2026-01-01T02:10:00.000Z, back after 12.5 s; prepared again',
  ]);
  const rebuilt = night('A', { ...healthy.read, gaps: [{ ...gap, fingerprint_after: 'fp-2' }] });
  const troubled = judgeNight([rebuilt], RULE);
  assert.equal(troubled.devices[0]?.state, 'lab-trouble');
  assert.match(
    troubled.troubles[0] ?? '',
    /^A: its build fingerprint changed during the night \(fp-1 -> fp-2/,
  );
  assert.deepEqual([...troubled.suspects.keys()], []);
});
