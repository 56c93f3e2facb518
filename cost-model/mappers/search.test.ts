import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baselineAtProxy, baselinesAtProxy, bestBaseline } from './baselines.ts';
import { solveKnapsack } from './knapsack.ts';
import { toKnapsack, totals } from './objective.ts';
import { searchKnapsack } from './search.ts';
import { layer, option } from './test-support.ts';

// Two layers, literal numbers: a big layer where bcr pays well, a small one where nothing pays much.
const layers = [
  layer('big', 'conv3x3', [
    option('dense', null, 0, 1000, 1),
    option('unstructured', null, 0.5, 900, 0.9),
    option('bcr', '4x1', 0.5, 600, 0.8),
    option('unstructured', null, 0.75, 700, 0.7),
    option('bcr', '4x1', 0.75, 400, 0.6),
  ]),
  layer('small', 'fc', [
    option('dense', null, 0, 100, 1),
    option('unstructured', null, 0.5, 95, 0.9),
    option('bcr', '4x1', 0.5, 80, 0.8),
    option('unstructured', null, 0.75, 90, 0.7),
    option('bcr', '4x1', 0.75, 70, 0.6),
  ]),
];

test('latency budget: the search maximises the mean proxy within the budget, equal to the exact optimum', () => {
  // Budget 700: big bcr@0.5 (600) + small dense (100) = 700 gives proxy (0.8 + 1) / 2 = 0.9; the best.
  const problem = toKnapsack(layers, { kind: 'latency-budget', budgetNs: 700 });
  const found = searchKnapsack(problem);
  assert.deepEqual(found.choice, [2, 0]);
  assert.ok(Math.abs(totals(layers, found.choice).proxy - 0.9) < 1e-12);
  // At 1 ns a step the literal costs are exact, so the DP's achieved choice is the optimum.
  const exact = solveKnapsack(problem, 700);
  assert.deepEqual(exact.choice, [2, 0]);
  // Coarser steps round 600 + 100 up past the budget: the achieved DP choice is worse, and the upper bound
  // (costs rounded down) still holds the true optimum; that is why both are reported.
  const coarse = solveKnapsack(problem, 1000);
  assert.ok(coarse.value < 0.9 && coarse.upperBound >= 0.9);
});

test('sparsity cap: the search minimises latency removing at most that share of the weights', () => {
  // Each layer has 100 weights; cap 0.5 of 200 = 100 removed: big bcr@0.75 (75 removed, 400) + small
  // bcr@0.25? not offered; so small must stay within 25 removed -> dense. Total 500.
  const problem = toKnapsack(layers, { kind: 'sparsity', sparsity: 0.5 });
  const found = searchKnapsack(problem);
  assert.deepEqual(found.choice, [4, 0]);
  assert.equal(totals(layers, found.choice).latencyNs, 500);
  assert.equal(totals(layers, found.choice).sparsity, 0.375);
});

test('search progress: phases and steps are reported with the objective', () => {
  const events: string[] = [];
  searchKnapsack(toKnapsack(layers, { kind: 'latency-budget', budgetNs: 700 }), (e) =>
    events.push(e.type === 'phase' ? e.phase : 'step'),
  );
  assert.deepEqual(
    events.filter((e) => e !== 'step'),
    ['lagrangian', 'greedy', 'pairs', 'ruin-recreate'],
  );
});

test('uniform baselines at equal proxy: interpolated between grid sparsities; out of reach is said, not guessed', () => {
  // all bcr 4x1: proxy 0.8 at 0.5 (latency 680), 0.6 at 0.75 (470). Target 0.7 -> halfway: 575.
  const bcr = baselineAtProxy(layers, { name: 'all bcr 4x1', scheme: 'bcr', block: '4x1' }, 0.7);
  assert.equal(bcr.latencyNs, 575);
  assert.equal(bcr.sparsity, 0.625);
  const far = baselineAtProxy(layers, { name: 'all unstructured', scheme: 'unstructured', block: null }, 0.5);
  assert.equal(far.latencyNs, null);
  assert.match(far.note, /not compared/);
  const all = baselinesAtProxy(layers, ['4x1'], 0.7);
  assert.deepEqual(
    all.map((b) => b.name),
    ['all dense', 'all unstructured', 'all bcr 4x1', 'pattern where possible'],
  );
  assert.equal(bestBaseline(all)?.name, 'all bcr 4x1');
});
