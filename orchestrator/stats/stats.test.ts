import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bootstrapMedianInterval,
  MAD_NORMAL_SCALE,
  max,
  mean,
  median,
  medianAbsoluteDeviation,
  min,
  mulberry32,
  orderStatisticMedianInterval,
  quantile,
  type SortedSamples,
  summarize,
  toSortedSamples,
} from './index.ts';

function sorted(values: readonly number[]): SortedSamples {
  const samples = toSortedSamples(values);
  assert.ok(samples, 'non-empty literal');
  return samples;
}

test('toSortedSamples: sorts numerically, copies, refuses empty and non-finite input', () => {
  const input = [10, 9, 100, 1];
  assert.deepEqual(sorted(input), [1, 9, 10, 100]);
  assert.deepEqual(input, [10, 9, 100, 1], 'the input is not reordered');
  assert.equal(toSortedSamples([]), undefined);
  assert.throws(() => toSortedSamples([1, Number.NaN]), /sample 1 is NaN: expected a finite number/);
  assert.throws(() => toSortedSamples([Number.POSITIVE_INFINITY]), RangeError);
});

test('odd count: exact median, MAD, mean, min, max and type-7 quantiles', () => {
  const samples = sorted([4, 1, 100, 3, 2]);
  assert.equal(min(samples), 1);
  assert.equal(max(samples), 100);
  assert.equal(mean(samples), 22);
  assert.equal(median(samples), 3);
  // |x - 3| = 2, 1, 0, 1, 97 -> sorted 0, 1, 1, 2, 97 -> median 1 (raw, unscaled)
  assert.equal(medianAbsoluteDeviation(samples), 1);
  // p10: h = 4 x 0.1 = 0.4 -> 1 + 0.4 x (2 - 1); p90: h = 3.6 -> 4 + 0.6 x (100 - 4)
  assert.ok(Math.abs(quantile(samples, 0.1) - 1.4) < 1e-12);
  assert.ok(Math.abs(quantile(samples, 0.9) - 61.6) < 1e-12);
  assert.equal(quantile(samples, 0), 1);
  assert.equal(quantile(samples, 1), 100);
  assert.equal(quantile(samples, 0.5), median(samples));
  assert.throws(() => quantile(samples, 1.5), /expected p in \[0, 1\]/);
});

test('even count: the median and MAD average the two middle values', () => {
  const samples = sorted([1, 2, 3, 4]);
  assert.equal(median(samples), 2.5);
  // |x - 2.5| = 1.5, 0.5, 0.5, 1.5 -> median 1
  assert.equal(medianAbsoluteDeviation(samples), 1);
  assert.equal(quantile(samples, 0.25), 1.75);
  assert.equal(median(sorted([7])), 7);
  assert.equal(medianAbsoluteDeviation(sorted([7])), 0);
  assert.equal(MAD_NORMAL_SCALE.toFixed(4), '1.4826');
});

test('order-statistic interval of the median matches the binomial tables (Conover)', () => {
  const ranks = (n: number) => {
    const interval = orderStatisticMedianInterval(sorted(Array.from({ length: n }, (_, i) => i + 1)));
    return interval === undefined ? undefined : [interval.low, interval.high];
  };
  assert.equal(ranks(5), undefined, 'n = 5 cannot reach 95%: P(all on one side) = 2/32 > 5%');
  assert.deepEqual(ranks(6), [1, 6]);
  assert.deepEqual(ranks(10), [2, 9]);
  assert.deepEqual(ranks(20), [6, 15]);
  assert.deepEqual(ranks(100), [40, 61]);
});

/** Reference bootstrap: materialise and sort each resample, same PRNG stream as the implementation. */
function naiveBootstrap(samples: SortedSamples, resamples: number, seed: number): [number, number] {
  const random = mulberry32(seed);
  const medians: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const resample = Array.from(
      { length: samples.length },
      () => samples[Math.floor(random() * samples.length)] ?? 0,
    );
    medians.push(median(sorted(resample)));
  }
  const sortedMedians = sorted(medians);
  return [quantile(sortedMedians, 0.025), quantile(sortedMedians, 0.975)];
}

test('bootstrap interval equals a naive resample-and-sort implementation on the same draws', () => {
  for (const values of [
    [5, 1, 4, 2, 3],
    [10, 12, 11, 13, 50, 9, 10, 11],
    Array.from({ length: 31 }, (_, i) => (i * 37) % 17),
  ]) {
    const samples = sorted(values);
    const interval = bootstrapMedianInterval(samples, { resamples: 500, seed: 42 });
    assert.deepEqual([interval.low, interval.high], naiveBootstrap(samples, 500, 42));
  }
});

test('bootstrap interval: deterministic for a seed, brackets the median, degenerate cases exact', () => {
  const samples = sorted([101, 99, 100, 102, 98, 100, 250, 100, 97, 103]);
  const first = bootstrapMedianInterval(samples, { seed: 1 });
  assert.deepEqual(bootstrapMedianInterval(samples, { seed: 1 }), first);
  assert.ok(first.low <= median(samples) && median(samples) <= first.high);
  assert.ok(first.low >= min(samples) && first.high <= max(samples));
  assert.deepEqual(bootstrapMedianInterval(sorted([5, 5, 5, 5])), { low: 5, high: 5 });
  assert.deepEqual(bootstrapMedianInterval(sorted([8])), { low: 8, high: 8 });
  assert.throws(
    () => bootstrapMedianInterval(samples, { resamples: 0 }),
    /positive integer number of resamples/,
  );
  assert.throws(() => bootstrapMedianInterval(samples, { confidence: 1 }), /confidence in \(0, 1\)/);
});

test('mulberry32: same seed same stream, values in [0, 1), roughly uniform', () => {
  const a = mulberry32(123);
  const b = mulberry32(123);
  const values = Array.from({ length: 10_000 }, () => a());
  assert.deepEqual(
    Array.from({ length: 10_000 }, () => b()),
    values,
  );
  assert.ok(values.every((v) => v >= 0 && v < 1));
  const average = values.reduce((sum, v) => sum + v, 0) / values.length;
  assert.ok(Math.abs(average - 0.5) < 0.02, `mean ${average}`);
  assert.notDeepEqual(mulberry32(124)(), values[0]);
});

test('summarize gathers every statistic of one case', () => {
  const samples = sorted([4, 1, 100, 3, 2, 3]);
  const summary = summarize(samples, { resamples: 200, seed: 3 });
  const interval = bootstrapMedianInterval(samples, { resamples: 200, seed: 3 });
  assert.deepEqual(summary, {
    count: 6,
    min: 1,
    max: 100,
    mean: 113 / 6,
    median: 3,
    mad: 1,
    p10: 1.5,
    p90: 52,
    medianCiLow: interval.low,
    medianCiHigh: interval.high,
    medianOrderCiLow: 1,
    medianOrderCiHigh: 100,
  });
});
