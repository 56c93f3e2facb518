import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SplitMix64, seededWeights } from './seeded-weights.ts';

/** splitmix64 in BigInt, straight from https://prng.di.unimi.it/splitmix64.c. */
function* reference(seed: bigint): Generator<bigint> {
  const mask = (1n << 64n) - 1n;
  let state = seed;
  for (;;) {
    state = (state + 0x9e3779b97f4a7c15n) & mask;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
    yield z ^ (z >> 31n);
  }
}

test('SplitMix64 matches the BigInt reference bit for bit, on small, large and 2^53 seeds', () => {
  for (const seed of [0, 1, 42, 2 ** 32 + 7, 2 ** 53]) {
    const ours = new SplitMix64(seed);
    const theirs = reference(BigInt(seed));
    for (let i = 0; i < 2000; i++)
      assert.equal(ours.nextBigInt(), theirs.next().value, `seed ${seed} draw ${i}`);
  }
});

test('seeded weights are Irwin-Hall(4) / 2 in fp32: within [-2, 2), mean near 0, variance near 1/3', () => {
  const w = seededWeights(20000, 1);
  let sum = 0;
  let squares = 0;
  for (const v of w) {
    assert.ok(v >= -2 && v < 2);
    assert.equal(v, Math.fround(v));
    sum += v;
    squares += v * v;
  }
  assert.ok(Math.abs(sum / w.length) < 0.02);
  // Var of one uniform on [-1, 1) is 1/3; four of them summed and halved: 4 * (1/3) / 4 = 1/3.
  assert.ok(Math.abs(squares / w.length - 1 / 3) < 0.02);
  assert.deepEqual(seededWeights(10, 7), seededWeights(10, 7));
  assert.notDeepEqual(seededWeights(10, 7), seededWeights(10, 8));
});

test('a seed outside [0, 2^53] is refused', () => {
  assert.throws(() => new SplitMix64(-1), RangeError);
  assert.throws(() => new SplitMix64(1.5), RangeError);
});
