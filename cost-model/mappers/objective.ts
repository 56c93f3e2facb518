/**
 * Totals of a choice and the two optimisation problems as one multiple-choice knapsack shape:
 * maximise sum(value) subject to sum(cost) <= capacity, one item per group.
 *
 * The model proxy is the MEAN over prunable layers of each layer's kept energy, every layer counting alike:
 * weighting by parameter count would let a search strip small but sensitive layers (a stem conv, a classifier)
 * for free. Layers with only the dense option are left out of the mean (they are always 1).
 */
import type { Choice, LayerCandidates, LayerOption, MappingTotals, SearchGoal } from './types.ts';

export function chosen(layer: LayerCandidates, index: number): LayerOption {
  const option = layer.options[index];
  if (option === undefined) throw new RangeError(`layer ${layer.name} has no option ${index}`);
  return option;
}

export function prunableCount(layers: readonly LayerCandidates[]): number {
  return layers.filter((l) => l.options.length > 1).length;
}

export function totals(layers: readonly LayerCandidates[], choice: Choice): MappingTotals {
  let latencyNs = 0;
  let proxySum = 0;
  let keptWeights = 0;
  let weights = 0;
  let drop: number | null = 0;
  layers.forEach((layer, i) => {
    const option = chosen(layer, choice[i] ?? 0);
    latencyNs += option.latencyNs;
    drop = option.drop === undefined || drop === null ? null : drop + option.drop;
    if (layer.options.length > 1) proxySum += option.keptEnergy;
    keptWeights += option.keptWeights;
    weights += layer.weights;
  });
  const prunable = prunableCount(layers);
  return {
    latencyNs,
    proxy: prunable === 0 ? 1 : proxySum / prunable,
    drop,
    sparsity: weights === 0 ? 0 : 1 - keptWeights / weights,
    keptWeights,
    weights,
  };
}

export interface KnapsackItem {
  readonly cost: number;
  readonly value: number;
}

export interface KnapsackProblem {
  readonly groups: readonly (readonly KnapsackItem[])[];
  readonly capacity: number;
}

/** An option's measured drop; the drop goals are only built on layers whose every option has one. */
export function measuredDrop(layer: LayerCandidates, option: LayerOption): number {
  if (option.drop === undefined) {
    throw new RangeError(
      `layer ${layer.name}: option ${option.scheme} ${option.block ?? ''} @${option.sparsity} has no measured drop; ` +
        'the drop goals take candidates from withMeasuredDrops',
    );
  }
  return option.drop;
}

/**
 * "Fastest with summed drop <= D" as a knapsack whose costs are the drops. Drops can be negative (pruning a
 * layer can measure better than dense on a finite data set), and the DP needs costs >= 0: each layer's drops
 * are shifted by that layer's smallest drop, and the capacity by the sum of those minima. One option per
 * layer is chosen, so every choice's total moves by the same constant: the problem, and its optimum, are
 * unchanged.
 */
function dropCapacityProblem(layers: readonly LayerCandidates[], maxDrop: number): KnapsackProblem {
  const floors = layers.map((l) => Math.min(...l.options.map((o) => measuredDrop(l, o))));
  return {
    capacity: maxDrop - floors.reduce((s, f) => s + f, 0),
    groups: layers.map((l, i) =>
      l.options.map((o) => ({ cost: measuredDrop(l, o) - (floors[i] as number), value: -o.latencyNs })),
    ),
  };
}

/** The goal as a knapsack over the layers' options (same indices). */
export function toKnapsack(layers: readonly LayerCandidates[], goal: SearchGoal): KnapsackProblem {
  if (goal.kind === 'latency-budget-drop') {
    return {
      capacity: goal.budgetNs,
      groups: layers.map((l) => l.options.map((o) => ({ cost: o.latencyNs, value: -measuredDrop(l, o) }))),
    };
  }
  if (goal.kind === 'max-accuracy-drop') return dropCapacityProblem(layers, goal.maxDrop);
  if (goal.kind === 'latency-budget') {
    const prunable = Math.max(1, prunableCount(layers));
    return {
      capacity: goal.budgetNs,
      groups: layers.map((l) =>
        l.options.map((o) => ({
          cost: o.latencyNs,
          value: l.options.length > 1 ? o.keptEnergy / prunable : 0,
        })),
      ),
    };
  }
  // The sparsity is a cap on what is removed (the accuracy budget): more pruning is always faster, so
  // "minimise latency at sparsity S" means spending at most S x weights of removals where they buy most time.
  const weights = layers.reduce((sum, l) => sum + l.weights, 0);
  return {
    capacity: goal.sparsity * weights,
    groups: layers.map((l) =>
      l.options.map((o) => ({ cost: l.weights - o.keptWeights, value: -o.latencyNs })),
    ),
  };
}

export function knapsackValue(problem: KnapsackProblem, choice: Choice): { cost: number; value: number } {
  let cost = 0;
  let value = 0;
  problem.groups.forEach((group, g) => {
    const item = group[choice[g] ?? 0];
    if (item === undefined) throw new RangeError(`group ${g} has no item ${choice[g]}`);
    cost += item.cost;
    value += item.value;
  });
  return { cost, value };
}
