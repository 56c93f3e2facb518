/**
 * The mappers' proxy against the agent's own `keptEnergy` and `density` on the same seed: the TypeScript
 * masks (cost-model/mappers/proxy.ts) and seeded weights (seeded-weights.ts) mirror prune.c and layer.c, so
 * the numbers agree to rounding. Runs the host agent built by `make -C device-agent host`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { convShape, fcShape, gemmCols, gemmRows } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import type { Scheme } from '../config/vocabulary.ts';
import { energyTable, keptAt } from '../cost-model/mappers/proxy.ts';
import { seededWeights } from '../cost-model/mappers/seeded-weights.ts';

const agent = fileURLToPath(new URL('../device-agent/build/host/prunelab-agent', import.meta.url));

const cases: { shape: LayerShape; scheme: Scheme; block: string | null; sparsity: number; seed: number }[] = [
  { shape: convShape(16, 32, 8, 3, 1, 1), scheme: 'unstructured', block: null, sparsity: 0.75, seed: 1 },
  { shape: convShape(16, 32, 8, 3, 1, 1), scheme: 'pattern', block: null, sparsity: 0.8, seed: 2 },
  { shape: convShape(16, 32, 8, 3, 2, 1), scheme: 'bcr', block: '4x2', sparsity: 0.6, seed: 3 },
  { shape: convShape(16, 32, 8, 3, 1, 1), scheme: 'block-punched', block: '4x4', sparsity: 0.5, seed: 1 },
  { shape: convShape(24, 16, 6, 1, 1, 0), scheme: 'channel', block: null, sparsity: 0.5, seed: 5 },
  { shape: convShape(24, 16, 6, 1, 1, 0), scheme: 'filter', block: null, sparsity: 0.3, seed: 5 },
  { shape: fcShape(64, 40), scheme: 'bcr', block: '8x1', sparsity: 0.9, seed: 9 },
];

test('proxy and density equal the agent keptEnergy and density on seeded weights', () => {
  const plan = cases
    .map((c, i) => {
      const geometry =
        c.shape.op === 'fc'
          ? { op: 'fc', in: c.shape.cin, out: c.shape.cout }
          : {
              op: c.shape.op,
              cin: c.shape.cin,
              cout: c.shape.cout,
              h: c.shape.h,
              w: c.shape.w,
              k: c.shape.k,
              stride: c.shape.stride,
              pad: c.shape.pad,
            };
      return JSON.stringify({
        id: `c${i}`,
        ...geometry,
        scheme: c.scheme,
        ...(c.block === null ? {} : { block: c.block }),
        sparsity: c.sparsity,
        seed: c.seed,
        warmup: 0,
        minReps: 1,
        minTimeMs: 0,
      });
    })
    .join('\n');
  const run = spawnSync(agent, ['run'], { input: `${plan}\n`, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const results = run.stdout
    .trim()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(line) as {
          type: string;
          id: string;
          status: string;
          density: number;
          keptEnergy: number;
          error?: string;
        },
    )
    .filter((r) => r.type === 'result');
  assert.equal(results.length, cases.length);
  cases.forEach((c, i) => {
    const result = results.find((r) => r.id === `c${i}`);
    assert.equal(result?.status, 'ok', result?.error);
    const weights = seededWeights(gemmRows(c.shape) * gemmCols(c.shape), c.seed);
    const kept = keptAt(energyTable(weights, c.shape, c.scheme, c.block), c.sparsity);
    assert.equal(kept.density, result?.density, `${c.scheme} density`);
    assert.ok(
      Math.abs(kept.keptEnergy - (result?.keptEnergy ?? -1)) < 1e-9,
      `${c.scheme}: ${kept.keptEnergy} vs ${result?.keptEnergy}`,
    );
  });
});
