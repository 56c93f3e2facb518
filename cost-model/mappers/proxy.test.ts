import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape, fcShape } from '../../config/shape.ts';
import { energyTable, keptAt } from './proxy.ts';

/** Brute force: remove units smallest-first exactly as prune.c's loop does (never the last one), sum what is kept. */
function bruteKept(
  unitEnergies: number[],
  unitSize: number,
  startKept: number,
  target: number,
  total: number,
  totalEnergy: number,
  startEnergy: number,
) {
  const sorted = [...unitEnergies].sort((a, b) => a - b);
  let kept = startKept;
  let energy = startEnergy;
  let removed = 0;
  while (removed < sorted.length - 1 && kept > target && 2 * (kept - target) >= unitSize) {
    kept -= unitSize;
    energy -= sorted[removed] as number;
    removed++;
  }
  return { keptWeights: kept, density: kept / total, keptEnergy: energy / totalEnergy };
}

test('unstructured keeps the largest weights: a literal FC', () => {
  const shape = fcShape(4, 2); // 2 rows x 4 cols
  const w = Float32Array.from([1, -2, 3, -4, 0.5, 6, -7, 8]);
  const total = [...w].reduce((s, v) => s + v * v, 0);
  const table = energyTable(w, shape, 'unstructured', null);
  const half = keptAt(table, 0.5); // keep 4 of 8: 8, -7, 6, -4
  assert.equal(half.keptWeights, 4);
  assert.ok(Math.abs(half.keptEnergy - (64 + 49 + 36 + 16) / total) < 1e-12);
  assert.deepEqual(keptAt(energyTable(w, shape, 'dense', null), 0), {
    keptWeights: 8,
    density: 1,
    keptEnergy: 1,
  });
});

test('filter, channel and bcr units on a literal 1x1 conv; the kept count stops nearest the target', () => {
  const shape = convShape(4, 4, 2, 1, 1, 0); // 4 x 4 GEMM
  const w = Float32Array.from([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]);
  const total = 4 * (1 + 4 + 9 + 16);
  // filter: rows of energy 4, 16, 36, 64; 50% removes the two smallest rows.
  const filter = keptAt(energyTable(w, shape, 'filter', null), 0.5);
  assert.equal(filter.keptWeights, 8);
  assert.ok(Math.abs(filter.keptEnergy - 100 / total) < 1e-12);
  // 60%: target lround(6.4) = 6. From 8 kept, 2 x (8 - 6) >= 4 still removes a row (the agent's tie rule) -> 4.
  assert.equal(keptAt(energyTable(w, shape, 'filter', null), 0.6).keptWeights, 4);
  // channel: every column has energy 30: 25% removes one column of 4.
  assert.equal(keptAt(energyTable(w, shape, 'channel', null), 0.25).keptWeights, 12);
  // bcr 2x1: column segments of rows {0,1} (energy 5) and {2,3} (energy 25); 50% removes the four of energy 5.
  const bcr = keptAt(energyTable(w, shape, 'bcr', '2x1'), 0.5);
  assert.equal(bcr.keptWeights, 8);
  assert.ok(Math.abs(bcr.keptEnergy - 100 / total) < 1e-12);
});

test('every scheme agrees with a brute-force removal loop on random weights and many sparsities', () => {
  const shape = convShape(8, 8, 4, 3, 1, 1); // 8 x 72
  const w = new Float32Array(8 * 72).map((_, i) => Math.fround(Math.sin(i * 12.9898) * 2));
  const totalEnergy = [...w].reduce((s, v) => s + v * v, 0);
  for (const [scheme, block] of [
    ['unstructured', null],
    ['filter', null],
    ['channel', null],
    ['bcr', '4x2'],
    ['block-punched', '2x4'],
    ['pattern', null],
  ] as const) {
    const table = energyTable(w, shape, scheme, block);
    const units: number[] = [];
    for (let r = 1; r < table.prefix.length; r++)
      units.push((table.prefix[r] as number) - (table.prefix[r - 1] as number));
    for (const s of [0.56, 0.6, 0.75, 0.9, 0.97]) {
      const target = Math.round((1 - s) * 576);
      const want = bruteKept(
        units,
        table.unitSize,
        table.startKept,
        target,
        576,
        totalEnergy,
        table.startEnergy,
      );
      const got = keptAt(table, s);
      assert.equal(got.keptWeights, want.keptWeights, `${scheme} ${s}`);
      assert.ok(Math.abs(got.keptEnergy - want.keptEnergy) < 1e-9, `${scheme} ${s}`);
    }
  }
});

test('pattern keeps at most 4/9 of the weights and their energy is the best pattern per kernel', () => {
  const shape = convShape(1, 1, 3, 3, 1, 1);
  // The bottom-right square holds the energy: pattern 7 (taps 4, 5, 7, 8).
  const w = Float32Array.from([0, 0, 0, 0, 1, 2, 0, 3, 4]);
  const table = energyTable(w, shape, 'pattern', null);
  const kept = keptAt(table, 5 / 9);
  assert.equal(kept.keptWeights, 4);
  assert.equal(kept.keptEnergy, 1);
});
