/**
 * The search mapper: per layer one (scheme, block, sparsity) option, maximising the knapsack value (the
 * proxy under a latency budget, or minus the latency under a sparsity target; objective.ts) in three phases:
 *  1. Lagrangian relaxation: per layer, argmax of value - lambda x cost, lambda bisected to the smallest
 *     that fits; gives a good feasible point on the convex hull of each layer's options;
 *  2. greedy: the single-layer change with the best value gain per cost unit that still fits, repeated;
 *  3. local search: the best feasible exchange between two layers (one gives cost back, the other takes
 *     it), repeated until none improves; pair moves reach points off the convex hull that 1 and 2 miss;
 *  4. ruin and recreate: each layer forced to each of its options, the rest repaired and refilled
 *     greedily, kept when better (up to 3 rounds).
 * Only each layer's Pareto front (no option both dearer and no better) is searched. Deterministic.
 */
import { type KnapsackProblem, knapsackValue } from './objective.ts';
import type { MapperProgress } from './types.ts';

export interface SearchResult {
  readonly choice: number[];
  readonly value: number;
  readonly cost: number;
  /** Improvements made by each phase (how much the later phases mattered). */
  readonly moves: { readonly greedy: number; readonly pairs: number; readonly recreated: number };
}

const EPS = 1e-12;

/** Indices of a group's Pareto front, by increasing cost (and so increasing value). */
export function paretoFront(group: readonly { cost: number; value: number }[]): number[] {
  const order = group
    .map((_, i) => i)
    .sort((a, b) => {
      const x = group[a] as { cost: number; value: number };
      const y = group[b] as { cost: number; value: number };
      return x.cost - y.cost || y.value - x.value || a - b;
    });
  const front: number[] = [];
  let best = Number.NEGATIVE_INFINITY;
  for (const i of order) {
    const item = group[i] as { cost: number; value: number };
    if (item.value > best + EPS) {
      front.push(i);
      best = item.value;
    }
  }
  return front;
}

export class InfeasibleGoalError extends RangeError {
  override readonly name = 'InfeasibleGoalError';
  constructor(
    readonly minimumCost: number,
    readonly capacity: number,
  ) {
    super(`nothing fits: the cheapest choice costs ${minimumCost}, the capacity is ${capacity}`);
  }
}

/** The problem as the phases see it: each group's Pareto front, and cost and value of choices. */
interface Search {
  readonly groups: KnapsackProblem['groups'];
  readonly capacity: number;
  readonly fronts: readonly (readonly number[])[];
  item(g: number, i: number): { cost: number; value: number };
  costOf(choice: readonly number[]): number;
  totalValue(choice: readonly number[]): number;
}

/** Phase 1, Lagrangian: the best choice under a price on cost, the price bisected until the choice fits. */
function lagrangian(s: Search, cheapest: readonly number[], progress: MapperProgress): number[] {
  const { fronts, item, capacity, costOf, totalValue } = s;
  const pickAt = (lambda: number): number[] =>
    fronts.map((front, g) => {
      let best = front[0] as number;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (const i of front) {
        const score = item(g, i).value - lambda * item(g, i).cost;
        if (score > bestScore + EPS) {
          bestScore = score;
          best = i;
        }
      }
      return best;
    });
  let choice = pickAt(0);
  const bisections = 60;
  progress({ type: 'phase', phase: 'lagrangian', total: bisections });
  if (costOf(choice) > capacity) {
    let low = 0;
    let high = 1;
    while (costOf(pickAt(high)) > capacity && high < 1e300) high *= 4;
    choice = costOf(pickAt(high)) <= capacity ? pickAt(high) : [...cheapest];
    for (let iteration = 0; iteration < bisections; iteration++) {
      const mid = (low + high) / 2;
      const candidate = pickAt(mid);
      if (costOf(candidate) <= capacity) {
        high = mid;
        if (totalValue(candidate) >= totalValue(choice)) choice = candidate;
      } else low = mid;
      progress({
        type: 'step',
        phase: 'lagrangian',
        done: iteration + 1,
        total: bisections,
        objective: totalValue(choice),
      });
    }
  }
  return choice;
}

/** Applies the best-rate feasible upgrade until none is left; `skip` is a layer not to touch. */
function greedyFill(s: Search, current: number[], skip: number, onMove?: () => void): number {
  const { fronts, item, capacity, costOf } = s;
  let spent = costOf(current);
  let moves = 0;
  for (;;) {
    let bestMove: [number, number] | undefined;
    let bestRate = 0;
    fronts.forEach((front, g) => {
      if (g === skip) return;
      const now = item(g, current[g] as number);
      for (const i of front) {
        const next = item(g, i);
        const dv = next.value - now.value;
        const dc = next.cost - now.cost;
        if (dv <= EPS || spent + dc > capacity) continue;
        const rate = dc <= 0 ? Number.POSITIVE_INFINITY : dv / dc;
        if (rate > bestRate) {
          bestRate = rate;
          bestMove = [g, i];
        }
      }
    });
    if (bestMove === undefined) return moves;
    const [g, i] = bestMove;
    spent += item(g, i).cost - item(g, current[g] as number).cost;
    current[g] = i;
    moves++;
    onMove?.();
  }
}

/** Phase 3: the best single change or pair exchange that fits, until none gains (at most 500 rounds). */
function pairMoves(s: Search, current: number[]): number {
  const { fronts, item, capacity, costOf, groups } = s;
  let made = 0;
  let spent = costOf(current);
  for (let round = 0; round < 500; round++) {
    let best: [number, number, number, number] | undefined;
    let bestGain = EPS;
    const moves = fronts.map((front, g) => {
      const now = item(g, current[g] as number);
      return front.map((i) => ({ i, dc: item(g, i).cost - now.cost, dv: item(g, i).value - now.value }));
    });
    moves.forEach((list, g) => {
      for (const a of list) {
        if (a.dv > bestGain && spent + a.dc <= capacity) {
          bestGain = a.dv;
          best = [g, a.i, g, a.i];
        }
      }
    });
    for (let g1 = 0; g1 < groups.length; g1++) {
      for (const a of moves[g1] ?? []) {
        if (a.dc >= 0) continue; // g1 gives cost back
        for (let g2 = 0; g2 < groups.length; g2++) {
          if (g2 === g1) continue;
          for (const b of moves[g2] ?? []) {
            const gain = a.dv + b.dv;
            if (gain > bestGain && spent + a.dc + b.dc <= capacity) {
              bestGain = gain;
              best = [g1, a.i, g2, b.i];
            }
          }
        }
      }
    }
    if (best === undefined) return made;
    const [g1, i1, g2, i2] = best;
    spent += item(g1, i1).cost - item(g1, current[g1] as number).cost;
    current[g1] = i1;
    if (g2 !== g1) {
      spent += item(g2, i2).cost - item(g2, current[g2] as number).cost;
      current[g2] = i2;
    }
    made++;
  }
  return made;
}

/** Downgrades the other layers (cheapest loss per cost freed) until the choice fits, then refills greedily. */
function repair(s: Search, current: number[], fixed: number): boolean {
  const { fronts, item, capacity, costOf } = s;
  let spent = costOf(current);
  while (spent > capacity) {
    let best: [number, number] | undefined;
    let bestRate = Number.POSITIVE_INFINITY;
    fronts.forEach((front, g) => {
      if (g === fixed) return;
      const now = item(g, current[g] as number);
      for (const i of front) {
        const saved = now.cost - item(g, i).cost;
        if (saved <= 0) continue;
        const rate = (now.value - item(g, i).value) / saved;
        if (rate < bestRate) {
          bestRate = rate;
          best = [g, i];
        }
      }
    });
    if (best === undefined) return false;
    const [g, i] = best;
    spent += item(g, i).cost - item(g, current[g] as number).cost;
    current[g] = i;
  }
  greedyFill(s, current, fixed);
  return true;
}

export function searchKnapsack(problem: KnapsackProblem, progress: MapperProgress = () => {}): SearchResult {
  const { groups, capacity } = problem;
  const fronts = groups.map((g) => paretoFront(g));
  const item = (g: number, i: number) =>
    (groups[g] as readonly { cost: number; value: number }[])[i] as { cost: number; value: number };
  const cheapest = fronts.map((f) => f[0] as number);
  const minimumCost = cheapest.reduce((sum, i, g) => sum + item(g, i).cost, 0);
  if (minimumCost > capacity * (1 + 1e-12)) throw new InfeasibleGoalError(minimumCost, capacity);
  const costOf = (choice: readonly number[]): number => choice.reduce((s, i, g) => s + item(g, i).cost, 0);
  const totalValue = (choice: readonly number[]): number =>
    choice.reduce((s, i, g) => s + item(g, i).value, 0);
  const search: Search = { groups, capacity, fronts, item, costOf, totalValue };

  // Phase 1: Lagrangian.
  let choice = lagrangian(search, cheapest, progress);

  // Phase 2: greedy single-layer upgrades by gain per cost.
  progress({ type: 'phase', phase: 'greedy', total: groups.length });
  let greedy = 0;
  greedyFill(search, choice, -1, () => {
    greedy++;
    progress({
      type: 'step',
      phase: 'greedy',
      done: greedy,
      total: groups.length,
      objective: totalValue(choice),
    });
  });

  // Phase 3: pair exchanges (and single changes that freed cost made possible).
  progress({ type: 'phase', phase: 'pairs', total: 1 });
  let pairs = pairMoves(search, choice);
  progress({ type: 'step', phase: 'pairs', done: 1, total: 1, objective: totalValue(choice) });

  // Phase 4: ruin and recreate. Force one layer to each of its options, repair the others (downgrade the
  // cheapest loss per cost freed until it fits), refill greedily; keep what beats the incumbent. Reaches
  // trades of one large layer against many small ones that pair moves cannot.
  const rounds = 3;
  let recreated = 0;
  progress({ type: 'phase', phase: 'ruin-recreate', total: rounds });
  for (let round = 0; round < rounds; round++) {
    let improved = false;
    fronts.forEach((front, g) => {
      for (const i of front) {
        if (i === choice[g]) continue;
        const trial = [...choice];
        trial[g] = i;
        if (!repair(search, trial, g)) continue;
        if (totalValue(trial) > totalValue(choice) + EPS) {
          choice = trial;
          improved = true;
          recreated++;
        }
      }
    });
    if (improved) pairs += pairMoves(search, choice);
    progress({
      type: 'step',
      phase: 'ruin-recreate',
      done: round + 1,
      total: rounds,
      objective: totalValue(choice),
    });
    if (!improved) break;
  }
  const final = knapsackValue(problem, choice);
  return { choice, value: final.value, cost: final.cost, moves: { greedy, pairs, recreated } };
}
