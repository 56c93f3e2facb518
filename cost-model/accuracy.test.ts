import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accuracyOf, nearestRank, relativeError } from './accuracy.ts';

test('accuracy figures on a literal case', () => {
  // Relative errors: +0.02, -0.04, +0.08, -0.1 (exactly on the edge), +0.5.
  const pairs = [
    { predictedNs: 102, measuredNs: 100 },
    { predictedNs: 96, measuredNs: 100 },
    { predictedNs: 216, measuredNs: 200 },
    { predictedNs: 45, measuredNs: 50 },
    { predictedNs: 15, measuredNs: 10 },
  ];
  assert.ok(Math.abs(relativeError(pairs[2] as (typeof pairs)[number]) - 0.08) < 1e-12);
  const accuracy = accuracyOf(pairs);
  assert.equal(accuracy.heldOut, 5);
  assert.equal(accuracy.within5, 2 / 5);
  assert.equal(accuracy.within10, 4 / 5);
  assert.ok(Math.abs(accuracy.mape - (0.02 + 0.04 + 0.08 + 0.1 + 0.5) / 5) < 1e-12);
  // |ln ratio| sorted: ln(1/0.96)=0.0408, ln 1.02=0.0198, ln 1.08=0.0770, ln(1/0.9)=0.1054, ln 1.5=0.405;
  // nearest rank ceil(0.9 * 5) = 5th: ln 1.5.
  assert.ok(Math.abs(accuracy.logErrorP90 - Math.log(1.5)) < 1e-12);
  const meanLog = (Math.log(1.02) - Math.log(0.96) + Math.log(1.08) - Math.log(0.9) + Math.log(1.5)) / 5;
  assert.ok(Math.abs(accuracy.meanLogError - meanLog) < 1e-12);
});

test('nearest-rank percentile picks an observed value', () => {
  const sorted = Array.from({ length: 20 }, (_, i) => i + 1);
  assert.equal(nearestRank(sorted, 0.9), 18);
  assert.equal(nearestRank([7], 0.9), 7);
  assert.ok(Number.isNaN(nearestRank([], 0.5)));
});
