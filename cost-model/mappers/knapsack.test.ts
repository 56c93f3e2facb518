import assert from 'node:assert/strict';
import { test } from 'node:test';
import { solveKnapsack } from './knapsack.ts';
import type { KnapsackProblem } from './objective.ts';
import { paretoFront, searchKnapsack } from './search.ts';
import { prng } from './test-support.ts';

function bruteForce(problem: KnapsackProblem): number {
  let best = Number.NEGATIVE_INFINITY;
  const walk = (g: number, cost: number, value: number): void => {
    if (cost > problem.capacity) return;
    if (g === problem.groups.length) {
      best = Math.max(best, value);
      return;
    }
    for (const item of problem.groups[g] ?? []) walk(g + 1, cost + item.cost, value + item.value);
  };
  walk(0, 0, 0);
  return best;
}

function randomProblem(random: () => number, groups: number, items: number): KnapsackProblem {
  const list = Array.from({ length: groups }, () =>
    Array.from({ length: items }, () => ({ cost: 1 + random() * 99, value: random() })),
  );
  const cheapest = list.reduce((s, g) => s + Math.min(...g.map((i) => i.cost)), 0);
  const dearest = list.reduce((s, g) => s + Math.max(...g.map((i) => i.cost)), 0);
  return { groups: list, capacity: cheapest + random() * (dearest - cheapest) };
}

test('a literal case: the exact DP finds the optimum the greedy ratio misses', () => {
  // Capacity 10: best is A1 + B1 (value 9, cost 10); A2 alone has the best ratio but leaves B at value 0.
  const problem: KnapsackProblem = {
    capacity: 10,
    groups: [
      [
        { cost: 0, value: 0 },
        { cost: 5, value: 4 },
        { cost: 2, value: 3 },
      ],
      [
        { cost: 0, value: 0 },
        { cost: 5, value: 5 },
        { cost: 9, value: 5.5 },
      ],
    ],
  };
  const exact = solveKnapsack(problem, 100);
  assert.deepEqual(exact.choice, [1, 1]);
  assert.equal(exact.value, 9);
  assert.equal(exact.upperBound, 9);
  assert.equal(bruteForce(problem), 9);
});

test('the DP brackets the brute-force optimum on 300 random brute-forceable cases', () => {
  const random = prng(7);
  for (let n = 0; n < 300; n++) {
    const problem = randomProblem(random, 2 + (n % 4), 2 + (n % 5));
    const truth = bruteForce(problem);
    const exact = solveKnapsack(problem, 2000);
    assert.ok(exact.choice !== null);
    assert.ok(exact.cost <= problem.capacity + 1e-9, 'the achieved choice is feasible for the real costs');
    assert.ok(exact.value <= truth + 1e-12 && truth <= exact.upperBound + 1e-12, `case ${n}`);
    // At 2000 steps the bracket is tight on these sizes.
    assert.ok(exact.upperBound - exact.value <= 0.05 * Math.abs(truth) + 1e-9, `case ${n} bracket`);
  }
});

test('the search stays feasible and within 1% of the brute-force optimum on random cases', () => {
  const random = prng(11);
  let worst = 0;
  for (let n = 0; n < 200; n++) {
    const problem = randomProblem(random, 3 + (n % 4), 3 + (n % 4));
    const truth = bruteForce(problem);
    const found = searchKnapsack(problem);
    assert.ok(found.cost <= problem.capacity + 1e-9);
    worst = Math.max(worst, (truth - found.value) / Math.abs(truth));
  }
  // Small random cases are the search's hard ones (few layers to trade between); measured, not assumed.
  assert.ok(worst < 0.1, `worst gap ${worst}`);
});

test('nothing fits: the search says how cheap the cheapest choice is', () => {
  const problem: KnapsackProblem = {
    capacity: 1,
    groups: [[{ cost: 2, value: 1 }], [{ cost: 3, value: 1 }]],
  };
  assert.throws(() => searchKnapsack(problem), /cheapest choice costs 5/);
  assert.equal(solveKnapsack(problem, 10).choice, null);
});

test('pareto front drops options that are dearer and no better', () => {
  assert.deepEqual(
    paretoFront([
      { cost: 5, value: 1 },
      { cost: 1, value: 1 },
      { cost: 3, value: 2 },
      { cost: 4, value: 2 },
    ]),
    [1, 2],
  );
});
