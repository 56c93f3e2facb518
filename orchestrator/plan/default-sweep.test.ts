/**
 * The default sweep as planned: the config's defaults run through the planner. Lives with the planner, not in
 * `config/`, because `config/` imports nothing of ours.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MEASUREMENT, DEFAULT_SWEEP } from '../../config/defaults.ts';
import { getModel } from '../../config/models/index.ts';
import { denseFlops, weightCount } from '../../config/shape.ts';
import type { ModelTable } from '../../config/types.ts';
import { SCHEMES } from '../../config/vocabulary.ts';
import { CONSERVATIVE_RATE_MODEL } from './estimate.ts';
import { planSweep } from './planner.ts';

function defaultPlan() {
  const models = DEFAULT_SWEEP.models
    .map((name) => getModel(name))
    .filter((m): m is ModelTable => m !== undefined);
  return planSweep(DEFAULT_SWEEP, models, {
    maxCasesPerBatch: DEFAULT_SWEEP.batch.maxCases,
    targetBatchMs: DEFAULT_SWEEP.batch.targetMs,
  });
}

test('default sweep: 12 distinct shapes, every scheme planned on some of them', () => {
  const plan = defaultPlan();
  // 12 distinct shapes in the 21 layers; every scheme is planned on some of them.
  assert.equal(new Set(plan.cases.map((c) => c.layers.join())).size, 12);
  assert.deepEqual(new Set(plan.cases.map((c) => c.scheme)), new Set(SCHEMES));
});

test('default sweep: the only drops are the 3-channel stem (x4 columns), the 10-output FC, pattern off 3x3 or at 0.5', () => {
  const reasons = new Set(defaultPlan().dropped.map((d) => `${d.layer}: ${d.reason}`));
  for (const reason of reasons) {
    assert.match(
      reason,
      /^resnet18-cifar10\/(conv1: block \dx4 does not divide (cin\*k\*k=27|cin=3)|fc: block \dx\d does not divide cout=10|.*: pattern needs a 3x3 conv, .*|.*: pattern keeps 4 of 9 taps .* got 0\.5; .*)$/,
    );
  }
});

test('default sweep: the conservative estimate is under 10 minutes, and even with every case at its cap', () => {
  const plan = defaultPlan();
  const tenMinutesMs = 10 * 60 * 1000;
  assert.ok(plan.estimatedMs < tenMinutesMs, `estimate ${(plan.estimatedMs / 60000).toFixed(1)} min`);
  assert.match(plan.estimateBasis, /not a measurement/);
  // Bound from the policy alone, whatever the kernels' speed: the agent ends each case at maxTimeMs (warm-up
  // included) plus the repetition under way. Take that repetition at 0.5 GFLOP/s (4x below the estimate's
  // rate) and preparation at the rate model's 100 ns per weight.
  const boundMs = plan.cases.reduce(
    (total, c) =>
      total +
      DEFAULT_MEASUREMENT.maxTimeMs +
      denseFlops(c.shape) / 0.5e6 +
      (weightCount(c.shape) * CONSERVATIVE_RATE_MODEL.prepareNsPerWeight) / 1e6 +
      CONSERVATIVE_RATE_MODEL.perCaseOverheadMs,
    0,
  );
  assert.ok(
    boundMs < tenMinutesMs,
    `cap bound ${(boundMs / 60000).toFixed(1)} min for ${plan.cases.length} cases`,
  );
});
