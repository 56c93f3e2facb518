/**
 * The measured-drop accuracy term on hand-written sensitivity data (stated numbers, not measurements): the
 * join refuses unmeasured options, both drop goals reach the brute-force optimum (DP exactly, search on
 * these small cases), and the rule mapper breaks ties by measured drop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { solveKnapsack } from './knapsack.ts';
import { type KnapsackProblem, toKnapsack, totals } from './objective.ts';
import { DEFAULT_RULE_TOLERANCE, ruleDecision } from './rule.ts';
import { searchKnapsack } from './search.ts';
import { type MeasuredDrop, type SensitivityTable, withMeasuredDrops } from './sensitivity.ts';
import { layer, option, prng } from './test-support.ts';
import type { LayerCandidates, SearchGoal } from './types.ts';

function table(layers: Record<string, MeasuredDrop[]>): SensitivityTable {
  return { metric: 'top1', layers: new Map(Object.entries(layers)) };
}

/** Every choice enumerated: the true optimum of a drop goal, by its own definition (not via the knapsack). */
function bruteForce(
  layers: readonly LayerCandidates[],
  goal: SearchGoal,
): { latencyNs: number; drop: number } {
  let best: { latencyNs: number; drop: number } | undefined;
  const walk = (g: number, choice: number[]): void => {
    if (g === layers.length) {
      const t = totals(layers, choice);
      const drop = t.drop as number;
      if (goal.kind === 'max-accuracy-drop') {
        if (drop > goal.maxDrop + 1e-12) return;
        if (best === undefined || t.latencyNs < best.latencyNs) best = { latencyNs: t.latencyNs, drop };
      } else if (goal.kind === 'latency-budget-drop') {
        if (t.latencyNs > goal.budgetNs) return;
        if (best === undefined || drop < best.drop) best = { latencyNs: t.latencyNs, drop };
      }
      return;
    }
    for (let i = 0; i < (layers[g] as LayerCandidates).options.length; i++) walk(g + 1, [...choice, i]);
  };
  walk(0, []);
  if (best === undefined) throw new Error('nothing fits');
  return best;
}

/** Random layers with measured drops (some negative: pruning can measure better than dense). */
function randomLayers(random: () => number, count: number, options: number): LayerCandidates[] {
  return Array.from({ length: count }, (_, l) => {
    const sparsities = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9].slice(0, options);
    const list = [
      { ...option('dense', null, 0, 1000, 1), drop: 0 },
      ...sparsities.map((s) => ({
        ...option('unstructured', null, s, Math.round(200 + random() * 800), 1 - s),
        drop: Math.round((random() * 0.1 - 0.01) * 1000) / 1000,
      })),
    ];
    return layer(`l${l}`, 'fc', list);
  });
}

test('the join keeps measured options with their drop, gives dense 0 and refuses the rest with a reason', () => {
  const priced = [
    layer('conv1', 'conv3x3', [
      option('dense', null, 0, 1000, 1),
      option('unstructured', null, 0.5, 700, 0.8),
      option('bcr', '4x1', 0.5, 500, 0.7),
    ]),
    layer('fc', 'fc', [option('dense', null, 0, 100, 1), option('unstructured', null, 0.5, 90, 0.8)]),
  ];
  const joined = withMeasuredDrops(
    priced,
    table({ conv1: [{ scheme: 'unstructured', block: null, sparsity: 0.5 + 1e-12, drop: 0.02 }] }),
  );
  const [conv1, fc] = joined as [LayerCandidates, LayerCandidates];
  assert.deepEqual(
    conv1.options.map((o) => [o.scheme, o.drop]),
    [
      ['dense', 0],
      ['unstructured', 0.02],
    ],
  );
  assert.equal(conv1.refused.length, 1);
  assert.match(conv1.refused[0]?.reason ?? '', /no measured drop for bcr 4x1 @0\.5.*refused, not guessed/);
  assert.deepEqual(
    fc.options.map((o) => o.scheme),
    ['dense'],
  );
  assert.match(fc.refused[0]?.reason ?? '', /layer fc is not in the sensitivity file/);
  assert.equal(totals(joined, [1, 0]).drop, 0.02);
  assert.equal(totals(priced, [1, 0]).drop, null, 'no sensitivity: no measured drop in the totals');
});

test('--max-accuracy-drop: DP and search reach the brute-force fastest choice within the summed drop', () => {
  const random = prng(24);
  let searchWorst = 0;
  for (let n = 0; n < 150; n++) {
    const layers = randomLayers(random, 2 + (n % 3), 2 + (n % 4));
    const maxDrop = Math.round(random() * 0.15 * 1000) / 1000;
    const goal: SearchGoal = { kind: 'max-accuracy-drop', maxDrop };
    const truth = bruteForce(layers, goal);
    const problem: KnapsackProblem = toKnapsack(layers, goal);
    // At any resolution the truth lies in the DP's bracket [achieved, upper bound] (knapsack.ts).
    const bracket = solveKnapsack(problem, 4000);
    assert.ok(bracket.choice !== null, `case ${n}`);
    assert.ok((totals(layers, bracket.choice).drop as number) <= maxDrop + 1e-9, `case ${n}: feasible`);
    assert.ok(-bracket.value >= truth.latencyNs - 1e-9 && -bracket.upperBound <= truth.latencyNs + 1e-9);
    // Drops here are multiples of 0.001: with one DP step per 0.001 every cost is a whole number of steps,
    // rounding up adds nothing, and the DP's achieved choice is the optimum itself.
    const steps = Math.max(1, Math.round(problem.capacity / 0.001));
    const exact = solveKnapsack(problem, steps);
    assert.ok(exact.choice !== null, `case ${n}`);
    const achieved = totals(layers, exact.choice);
    assert.ok((achieved.drop as number) <= maxDrop + 1e-9, `case ${n}: the DP's choice keeps the drop cap`);
    assert.equal(achieved.latencyNs, truth.latencyNs, `case ${n}: DP = brute force`);
    const found = searchKnapsack(problem);
    const searched = totals(layers, found.choice);
    assert.ok((searched.drop as number) <= maxDrop + 1e-9, `case ${n}: the search keeps the drop cap`);
    searchWorst = Math.max(searchWorst, (searched.latencyNs - truth.latencyNs) / truth.latencyNs);
  }
  assert.ok(searchWorst < 0.1, `search within 10% of the optimum on small cases (worst ${searchWorst})`);
});

test('--latency-budget-ms with drops: DP and search reach the least summed drop within the budget', () => {
  const random = prng(42);
  for (let n = 0; n < 150; n++) {
    const layers = randomLayers(random, 2 + (n % 3), 2 + (n % 4));
    const fastest = layers.reduce((s, l) => s + Math.min(...l.options.map((o) => o.latencyNs)), 0);
    const budgetNs = fastest + random() * (layers.length * 1000 - fastest);
    const goal: SearchGoal = { kind: 'latency-budget-drop', budgetNs };
    const truth = bruteForce(layers, goal);
    const problem = toKnapsack(layers, goal);
    const exact = solveKnapsack(problem, 4000);
    assert.ok(exact.choice !== null);
    const achieved = totals(layers, exact.choice);
    assert.ok(achieved.latencyNs <= budgetNs + 1e-9);
    // Latencies are whole ns and the step is under 1 ns at 4000 steps of a budget <= 4000 ns.
    assert.ok(Math.abs((achieved.drop as number) - truth.drop) < 1e-9, `case ${n}: DP = brute force`);
    const searched = totals(layers, searchKnapsack(problem).choice);
    assert.ok(searched.latencyNs <= budgetNs + 1e-9);
    assert.ok((searched.drop as number) >= truth.drop - 1e-9, 'nothing beats the optimum');
  }
});

test('a drop cap below what the least lossy choice sums to is infeasible, negative drops included', () => {
  const layers = [
    layer('a', 'fc', [
      { ...option('dense', null, 0, 1000, 1), drop: 0 },
      { ...option('unstructured', null, 0.5, 500, 0.8), drop: -0.01 },
    ]),
    layer('b', 'fc', [
      { ...option('dense', null, 0, 1000, 1), drop: 0 },
      { ...option('unstructured', null, 0.5, 500, 0.8), drop: 0.03 },
    ]),
  ];
  // Least lossy: a pruned (-0.01) + b dense (0) = -0.01; a cap of -0.02 cannot be met.
  assert.throws(() => searchKnapsack(toKnapsack(layers, { kind: 'max-accuracy-drop', maxDrop: -0.02 })));
  // A cap of 0 is met by pruning a (it measured better) and keeping b dense.
  const problem = toKnapsack(layers, { kind: 'max-accuracy-drop', maxDrop: 0 });
  assert.deepEqual(searchKnapsack(problem).choice, [1, 0]);
  assert.deepEqual(solveKnapsack(problem, 100).choice, [1, 0]);
});

test('rule mapper with measured drops: the least drop within tolerance wins over pattern and regularity', () => {
  const settings = { sparsity: 0.75, tolerance: DEFAULT_RULE_TOLERANCE };
  const l = layer('c3', 'conv3x3', [
    { ...option('dense', null, 0, 1000, 1), drop: 0 },
    { ...option('unstructured', null, 0.75, 420, 0.6), drop: 0.05 },
    { ...option('pattern', null, 0.75, 410, 0.5), drop: 0.04 },
    { ...option('bcr', '8x4', 0.75, 400, 0.45), drop: 0.01 },
    { ...option('bcr', '4x1', 0.75, 405, 0.45), drop: 0.01 },
    { ...option('filter', null, 0.75, 300, 0.2), drop: 0.2 },
  ]);
  // Fastest at 0.75: filter (300); within 10%: filter only. Widen the tolerance to take in the rest.
  assert.equal(ruleDecision(l, settings).index, 5);
  const wide = { sparsity: 0.75, tolerance: { ...DEFAULT_RULE_TOLERANCE, conv3x3: 0.5 } };
  const decision = ruleDecision(l, wide);
  // Within 50% of 300 (<= 450): all five. Least drop 0.01: bcr 8x4 and 4x1 tie; rule 5's order: smaller block.
  assert.equal(decision.index, 4);
  assert.match(decision.rule, /least measured drop \(1\.00 points\)/);
  // Without drops the same layer follows rule 4: pattern on a 3x3 conv.
  const proxyOnly = layer(
    'c3',
    'conv3x3',
    l.options.map(({ drop: _drop, ...rest }) => rest),
  );
  assert.equal(ruleDecision(proxyOnly, wide).index, 2);
});
