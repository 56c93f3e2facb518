import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../errors.ts';
import { selectWeights } from './weights.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const rows = [
  { id: 1, measured_weights: null },
  { id: 2, measured_weights: 'seeded' },
  { id: 3, measured_weights: A },
  { id: 4, measured_weights: B },
];

test('a device with seeded and real-weight measurements is refused by default, naming the counts and the flag', () => {
  assert.throws(
    () => selectWeights('host:vm', rows, 'auto'),
    (error: unknown) =>
      error instanceof UsageError &&
      error.kind === 'input' &&
      /host:vm has 2 measurements with the agent's seeded weights and 2 with models' own/.test(
        error.message,
      ) &&
      /--weights seeded, --weights real, or --weights mixed/.test(error.message),
  );
});

test('seeded, real and mixed choose their rows, and the LUT is told which weights', () => {
  const seeded = selectWeights('d', rows, 'seeded');
  assert.deepEqual(
    seeded.rows.map((row) => row.id),
    [1, 2],
  );
  assert.equal(seeded.weights, undefined, 'a seeded LUT looks as every LUT before');
  const real = selectWeights('d', rows, 'real');
  assert.deepEqual(
    real.rows.map((row) => row.id),
    [3, 4],
  );
  assert.deepEqual(real.weights, { kind: 'real', files: [A, B] });
  const mixed = selectWeights('d', rows, 'mixed');
  assert.equal(mixed.rows.length, 4);
  assert.deepEqual(mixed.weights, { kind: 'mixed', files: [A, B] });
});

test('auto takes the one kind a device has', () => {
  assert.deepEqual(selectWeights('d', rows.slice(2), 'auto').weights, { kind: 'real', files: [A, B] });
  assert.equal(selectWeights('d', rows.slice(0, 2), 'auto').rows.length, 2);
});
