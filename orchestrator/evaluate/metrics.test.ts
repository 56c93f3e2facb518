import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addBatch, emptyTotals, finishMetrics, relativeError, topK } from './metrics.ts';

test('topK ranks the largest first and breaks ties on the lower index', () => {
  assert.deepEqual(topK([0.1, 0.9, 0.3, 0.9, -1], 3), [1, 3, 2]);
  assert.deepEqual(topK([2, 1], 5), [0, 1]);
  assert.deepEqual(topK([5, 5, 5], 1), [0]);
});

test('relative error is the L2 distance over the dense norm', () => {
  assert.equal(relativeError([3, 4], [3, 4]), 0);
  assert.equal(relativeError([0, 0], [3, 4]), 1);
  assert.ok(Math.abs(relativeError([3, 5], [3, 4]) - 0.2) < 1e-12);
  assert.equal(relativeError([0, 0], [0, 0]), 0);
  assert.equal(relativeError([1, 0], [0, 0]), 1);
});

test('top-1, top-5, agreement and mean relative error over two batches', () => {
  // 6 classes. Sample rows: candidate, dense.
  const totals = emptyTotals();
  addBatch(
    totals,
    [0, 1, 2, 3, 4, 5, /**/ 5, 4, 3, 2, 1, 0],
    [0, 1, 2, 3, 4, 5, /**/ 0, 1, 2, 3, 4, 5],
    6,
    [5, 0], // sample 0: top-1 right; sample 1: candidate's top-1 is 0, right
  );
  addBatch(totals, [9, 0, 0, 0, 0, 1], [9, 0, 0, 0, 0, 0], 6, [5]); // label 5 is 2nd: top-5 only
  const m = finishMetrics(totals);
  assert.equal(m.samples, 3);
  assert.equal(m.top1, 2 / 3);
  assert.equal(m.top5, 3 / 3);
  assert.equal(m.agreement, 2 / 3); // sample 1 disagrees (0 vs 5)
  assert.equal(m.denseTop1, 1 / 3); // dense says 5, 5, 0 for labels 5, 0, 5
  assert.equal(m.denseTop5, 1 / 3); // label 0 is dense row 1 last; label 5 ties below class 0..4 in row 2
  const e1 = Math.sqrt((25 + 9 + 1 + 1 + 9 + 25) / 55);
  assert.ok(Math.abs(m.meanRelativeError - (0 + e1 + 1 / 9) / 3) < 1e-12);
});

test('without labels top-1 and top-5 are null; shapes that do not fit throw', () => {
  const totals = addBatch(emptyTotals(), [1, 2], [1, 2], 2, null);
  assert.deepEqual(finishMetrics(totals), {
    samples: 1,
    top1: null,
    top5: null,
    denseTop1: null,
    denseTop5: null,
    agreement: 1,
    meanRelativeError: 0,
  });
  assert.throws(() => addBatch(emptyTotals(), [1, 2, 3], [1, 2], 2, null), /equal size/);
  assert.throws(() => addBatch(emptyTotals(), [1, 2], [1, 2], 2, [0, 1]), /expected 1 labels/);
});
