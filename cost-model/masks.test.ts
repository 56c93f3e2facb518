import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape, fcShape } from '../config/shape.ts';
import { computeMask, maskFnv1a, maskProblem } from './masks.ts';

test('maskFnv1a is FNV-1a 64 (published vectors: empty and "a")', () => {
  assert.equal(maskFnv1a(new Uint8Array()), 'cbf29ce484222325');
  assert.equal(maskFnv1a(new TextEncoder().encode('a')), 'af63dc4c8601ec8c');
  assert.equal(maskFnv1a(new TextEncoder().encode('foobar')), '85944171f73967e8');
});

// fc 4 in -> 2 out: GEMM rows are outputs.
const fc = fcShape(4, 2);
const w = Float32Array.from([1, -4, 0.5, 3, -2, 0.25, 5, -1]);

test('unstructured keeps the largest magnitudes; ties break on the lower index removed first', () => {
  const m = computeMask(w, fc, { scheme: 'unstructured', block: null, sparsity: 0.5 });
  assert.deepEqual([...m.mask], [0, 1, 0, 1, 1, 0, 1, 0]);
  const tied = Float32Array.from([1, -1, 1, -1, 2, 2, 2, 2]);
  const t = computeMask(tied, fc, { scheme: 'unstructured', block: null, sparsity: 0.25 });
  assert.deepEqual([...t.mask], [0, 0, 1, 1, 1, 1, 1, 1]);
});

test('filter removes whole rows, the nearest reachable count (never all of them)', () => {
  // Target 8 * 0.4 = 3.2 -> 3 kept: removing one row (4) gets to 4, removing both would leave none.
  const m = computeMask(w, fc, { scheme: 'filter', block: null, sparsity: 0.6 });
  // Row energies: 1+16+0.25+9 = 26.25, 4+0.0625+25+1 = 30.06: row 0 goes.
  assert.deepEqual([...m.mask], [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.equal(m.keptBlocks, 1);
  const all = computeMask(w, fc, { scheme: 'filter', block: null, sparsity: 0.99 });
  assert.equal(all.keptWeights, 4);
});

test('bcr 2x1 removes column segments shared by the block rows', () => {
  // Column energies over both rows: 5, 16.0625, 25.25, 10 -> the two smallest (cols 0 and 3) go at 50%.
  const m = computeMask(w, fc, { scheme: 'bcr', block: '2x1', sparsity: 0.5 });
  assert.deepEqual([...m.mask], [0, 1, 1, 0, 0, 1, 1, 0]);
  assert.equal(m.keptBlocks, 2);
  assert.equal(m.density, 0.5);
});

test('pattern keeps the best of the 8 four-tap patterns per 3x3 kernel', () => {
  const shape = convShape(1, 1, 3, 3, 1, 1);
  const kernel = Float32Array.from([9, 9, 0, 9, 1, 0, 0, 0, 0]); // top-left square wins
  const m = computeMask(kernel, shape, { scheme: 'pattern', block: null, sparsity: 5 / 9 });
  assert.deepEqual([...m.mask], [1, 1, 0, 1, 1, 0, 0, 0, 0]);
});

test("maskProblem speaks the agent's words for layers that cannot exist", () => {
  assert.equal(
    maskProblem(fc, { scheme: 'bcr', block: '4x1', sparsity: 0.5 }),
    'block 4x1 does not divide cout=2',
  );
  assert.match(
    maskProblem(convShape(3, 8, 5, 3, 1, 1), { scheme: 'pattern', block: null, sparsity: 0.3 }) ?? '',
    /sparsity must be >= 0.556/,
  );
  assert.throws(() => computeMask(w, fc, { scheme: 'dense', block: null, sparsity: 0.5 }), /removes nothing/);
  assert.throws(
    () => computeMask(w.subarray(1), fc, { scheme: 'dense', block: null, sparsity: 0 }),
    /expected 8/,
  );
});
