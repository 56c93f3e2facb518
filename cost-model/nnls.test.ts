import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nnls } from './nnls.ts';

test('nnls returns the least-squares solution when it is already non-negative', () => {
  // b = 2*x0 + 3*x1 exactly, columns of very different scale.
  const rows = [
    [1e6, 1],
    [2e6, 5],
    [3e6, 2],
    [5e6, 7],
  ];
  const b = rows.map(([a, c]) => 2e-6 * (a as number) + 3 * (c as number));
  const { x } = nnls(rows, b);
  assert.ok(Math.abs((x[0] as number) - 2e-6) / 2e-6 < 1e-9);
  assert.ok(Math.abs((x[1] as number) - 3) / 3 < 1e-9);
});

test('nnls clamps a coefficient that unconstrained least squares makes negative', () => {
  // Unconstrained: b = 1*x0 - 1*x1 fits exactly; with x >= 0 the optimum drops x1 and fits x0 alone:
  // x0 = (a . b) / (a . a).
  const rows = [
    [1, 0.5],
    [2, 0.1],
    [3, 2],
    [4, 1],
  ];
  const b = rows.map(([a, c]) => (a as number) - (c as number));
  const { x } = nnls(rows, b);
  const a = rows.map((r) => r[0] as number);
  const expected = a.reduce((s, v, i) => s + v * (b[i] as number), 0) / a.reduce((s, v) => s + v * v, 0);
  assert.equal(x[1], 0);
  assert.ok(Math.abs((x[0] as number) - expected) < 1e-9);
});
