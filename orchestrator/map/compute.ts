/**
 * The map use case's pure core: a LUT and a model's layers in, a mapping (one option per layer), the uniform
 * baselines at equal proxy and, for the search mapper, the exact optimum out. No I/O: run-map.ts reads and
 * writes around it.
 */
import { createHash } from 'node:crypto';
import { shapeKey } from '../../config/shape.ts';
import { parseBlockSize, SCHEMES, type Scheme } from '../../config/vocabulary.ts';
import type {
  LayerCandidates,
  LayerKind,
  Lut,
  MapperProgress,
  MappingTotals,
  SearchGoal,
} from '../../cost-model/index.ts';
import {
  type BaselineAtProxy,
  baselinesAtProxy,
  bestBaseline,
  buildCandidates,
  type CandidateSettings,
  createLookup,
  DEFAULT_RULE_TOLERANCE,
  InfeasibleGoalError,
  type KnapsackSolution,
  type MapLayer,
  ruleMapper,
  type SensitivityTable,
  searchKnapsack,
  solveKnapsack,
  toKnapsack,
  totals,
  type UnpricedLayer,
  withMeasuredDrops,
} from '../../cost-model/index.ts';
import { infeasibleReason } from '../plan/feasibility.ts';
import { MapInputError } from './errors.ts';

export const MAPPING_SCHEMA = 'prunelab.mapping/v1';
export const DEFAULT_GRID: readonly number[] = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9];
export const DEFAULT_RULE_SPARSITY = 0.75;

export const PROXY_DEFINITION =
  'PROXY, not accuracy: per layer, the fraction of squared weight magnitude the mask keeps (sum of kept w^2 / ' +
  'sum of all w^2, magnitude pruning as the agent does it); the model proxy is the mean over prunable layers. ' +
  'Use --sensitivity for measured per-layer drops, --evaluate-with DATA or --evaluate CMD for a measured accuracy.';

export interface ComputeRequest {
  readonly lut: Lut;
  readonly modelName: string;
  readonly layers: readonly MapLayer[];
  readonly mapper: 'rule' | 'search';
  /** Search goal; for the rule mapper only `sparsity` is used (the layers' sparsity). */
  readonly latencyBudgetNs?: number;
  readonly sparsity?: number;
  /** Search with a sensitivity file: the fastest mapping whose summed measured drop is <= this. */
  readonly maxAccuracyDrop?: number;
  /** Measured per-layer drops (a sensitivity file): the accuracy term becomes their sum. */
  readonly sensitivity?: SensitivityTable;
  readonly threads: number;
  readonly seed: number;
  readonly schemes?: readonly Scheme[];
  readonly blocks?: readonly string[];
  readonly sparsities?: readonly number[];
  readonly tolerance?: Readonly<Record<LayerKind, number>>;
  readonly resolution?: number;
  readonly progress?: MapperProgress;
}

export interface MappedLayer {
  readonly name: string;
  readonly shapeKey: string;
  readonly shape: MapLayer['shape'];
  readonly scheme: Scheme;
  readonly block: string | null;
  readonly sparsity: number;
  readonly density: number;
  readonly keptEnergy: number;
  /** The option's measured drop from the sensitivity file (null without one). */
  readonly drop: number | null;
  readonly latencyNs: number;
  readonly source: string;
  readonly intervalNs: readonly [number, number];
  readonly why?: string;
}

export interface ExactReport {
  readonly method: string;
  readonly resolution: number;
  /** Objective of the search, of the exact DP (achieved), and the DP's upper bound on the true optimum. */
  readonly searchObjective: number;
  readonly exactObjective: number;
  readonly upperBound: number;
  /** (exact - search) / |exact|: the search's shortfall from the DP's achieved optimum (negative: search better). */
  readonly gap: number;
  /** (upperBound - search) / |upperBound|: the worst case against the true optimum (the DP bracket included). */
  readonly gapBound: number;
  readonly exactTotals: MappingTotals | null;
  readonly objective: string;
}

export interface MapResult {
  readonly mapper: 'rule' | 'search';
  readonly goal: SearchGoal | { readonly kind: 'rule'; readonly sparsity: number };
  readonly layers: readonly MappedLayer[];
  /** The options the mapper chose from (with a sensitivity file: only the measured ones). */
  readonly candidates: readonly LayerCandidates[];
  /** Every option the LUT priced (the uniform baselines use these, measured drop or not). */
  readonly priced: readonly LayerCandidates[];
  readonly totals: MappingTotals;
  readonly denseOnly: readonly { readonly name: string; readonly reasons: readonly string[] }[];
  readonly unpriced: readonly UnpricedLayer[];
  readonly baselines: readonly BaselineAtProxy[];
  readonly bestBaseline: {
    readonly name: string;
    readonly latencyNs: number;
    readonly speedup: number;
  } | null;
  readonly exact: ExactReport | null;
  readonly settings: {
    readonly schemes: readonly Scheme[];
    readonly blocks: readonly string[];
    readonly sparsities: readonly number[];
    readonly threads: number;
    readonly seed: number;
  };
  /** sha256 of the per-layer choices: the key of --evaluate's cache. */
  readonly choiceHash: string;
}

/** Schemes and blocks the LUT has anything for (entries or predictors) at these threads. */
export function lutVocabulary(lut: Lut, threads: number): { schemes: Scheme[]; blocks: string[] } {
  const families = [
    ...lut.entries.map((e) => ({ scheme: e.scheme, block: e.block, threads: e.threads })),
    ...lut.predictors.map((p) => p.family),
  ].filter((f) => f.threads === threads);
  const schemes = SCHEMES.filter((s) => families.some((f) => f.scheme === s));
  const blocks = [...new Set(families.map((f) => f.block).filter((b): b is string => b !== null))].sort(
    (a, b) => {
      const x = parseBlockSize(a);
      const y = parseBlockSize(b);
      return (x?.rows ?? 0) * (x?.cols ?? 0) - (y?.rows ?? 0) * (y?.cols ?? 0) || a.localeCompare(b);
    },
  );
  return { schemes, blocks };
}

function lutSparsities(lut: Lut): number[] {
  return lut.entries
    .flatMap((e) => e.points.map((p) => Math.round(p.sparsity * 10000) / 10000))
    .filter((s) => s > 0);
}

function goalWithDrops(request: ComputeRequest): SearchGoal {
  if (request.latencyBudgetNs !== undefined && request.maxAccuracyDrop !== undefined) {
    throw new MapInputError(
      'give either --latency-budget-ms (least summed measured drop under it) or --max-accuracy-drop (fastest ' +
        'within it), not both',
      { option: '--max-accuracy-drop' },
    );
  }
  if (request.latencyBudgetNs !== undefined)
    return { kind: 'latency-budget-drop', budgetNs: request.latencyBudgetNs };
  if (request.maxAccuracyDrop !== undefined)
    return { kind: 'max-accuracy-drop', maxDrop: request.maxAccuracyDrop };
  throw new MapInputError(
    'with --sensitivity the search mapper needs a goal on the measured drops: --latency-budget-ms X (least ' +
      'summed drop within X ms) or --max-accuracy-drop D (fastest with summed drop <= D, a fraction: 0.01 = 1 point)' +
      (request.sparsity === undefined ? '' : '; --sparsity is a weight count, not an accuracy: drop it'),
    { option: '--max-accuracy-drop' },
  );
}

function resolveGoal(request: ComputeRequest): SearchGoal {
  if (request.sensitivity !== undefined) return goalWithDrops(request);
  if (request.maxAccuracyDrop !== undefined) {
    throw new MapInputError(
      '--max-accuracy-drop needs --sensitivity sensitivity.json (measured per-layer drops, from `prunelab ' +
        'sensitivity`): without it prunelab has only the kept-energy proxy, which is not an accuracy',
      { option: '--max-accuracy-drop' },
    );
  }
  if (request.latencyBudgetNs !== undefined && request.sparsity !== undefined) {
    throw new MapInputError(
      'give either --latency-budget-ms (maximise the proxy under it) or --sparsity (minimise latency at it) ' +
        'for the search mapper, not both',
      { option: '--latency-budget-ms' },
    );
  }
  if (request.latencyBudgetNs !== undefined)
    return { kind: 'latency-budget', budgetNs: request.latencyBudgetNs };
  return { kind: 'sparsity', sparsity: request.sparsity ?? DEFAULT_RULE_SPARSITY };
}

const OBJECTIVES: Readonly<Record<SearchGoal['kind'], string>> = {
  'latency-budget': 'mean kept-energy proxy over prunable layers (maximised)',
  sparsity: 'minus the total predicted latency in ns (maximised)',
  'latency-budget-drop': 'minus the summed measured accuracy drop (maximised)',
  'max-accuracy-drop': 'minus the total predicted latency in ns (maximised)',
};

/** The goal nothing fits, said in the words of its flag. */
function infeasibleGoal(
  goal: SearchGoal,
  layers: readonly LayerCandidates[],
  request: ComputeRequest,
  grid: readonly number[],
  error: InfeasibleGoalError,
): MapInputError {
  const fastest = totals(
    layers,
    layers.map((l) =>
      l.options.reduce((b, o, i) => (o.latencyNs < (l.options[b]?.latencyNs ?? Infinity) ? i : b), 0),
    ),
  );
  if (goal.kind === 'latency-budget' || goal.kind === 'latency-budget-drop') {
    return new MapInputError(
      `--latency-budget-ms ${goal.budgetNs / 1e6}: no mapping is that fast; the fastest this LUT ` +
        `predicts for ${request.modelName}${goal.kind === 'latency-budget-drop' ? ' with measured options' : ''} ` +
        `is ${(fastest.latencyNs / 1e6).toFixed(3)} ms. Raise the budget.`,
      { option: '--latency-budget-ms', fastestNs: fastest.latencyNs },
      { cause: error },
    );
  }
  if (goal.kind === 'max-accuracy-drop') {
    return new MapInputError(
      `--max-accuracy-drop ${goal.maxDrop}: even the least lossy measured choice sums to a drop of ` +
        `${(goal.maxDrop - error.capacity + error.minimumCost).toFixed(4)} (layers whose pruned options all measured ` +
        'better than dense count negative). Raise --max-accuracy-drop.',
      { option: '--max-accuracy-drop' },
      { cause: error },
    );
  }
  return new MapInputError(
    `--sparsity ${goal.sparsity}: no mapping fits under this sparsity cap with the sparsities tried ` +
      `(${grid.join(', ')}); lower --sparsity or add higher --sparsities.`,
    { option: '--sparsity' },
    { cause: error },
  );
}

/** (reference - found) / |reference|; 0 when they are equal (a drop objective can be exactly 0). */
function relativeGap(reference: number, found: number): number {
  return reference === found ? 0 : (reference - found) / Math.abs(reference);
}

/** The search mapper and the exact optimum of the same knapsack. */
function searchMapping(
  layers: readonly LayerCandidates[],
  request: ComputeRequest,
  grid: readonly number[],
): { goal: SearchGoal; choice: number[]; exact: ExactReport } {
  const goal = resolveGoal(request);
  const problem = toKnapsack(layers, goal);
  let found: ReturnType<typeof searchKnapsack>;
  try {
    found = searchKnapsack(problem, request.progress);
  } catch (error) {
    if (!(error instanceof InfeasibleGoalError)) throw error;
    throw infeasibleGoal(goal, layers, request, grid, error);
  }
  request.progress?.({ type: 'phase', phase: 'exact', total: 1 });
  const solution: KnapsackSolution = solveKnapsack(problem, request.resolution);
  const upper = solution.upperBound;
  const exact: ExactReport = {
    method:
      'multiple-choice knapsack, dynamic programming over the constraint discretised into steps ' +
      '(costs rounded up: achieved optimum; rounded down: upper bound)',
    resolution: solution.resolution,
    searchObjective: found.value,
    exactObjective: solution.value,
    upperBound: upper,
    gap: relativeGap(solution.value, found.value),
    gapBound: relativeGap(upper, found.value),
    exactTotals: solution.choice === null ? null : totals(layers, solution.choice),
    objective: OBJECTIVES[goal.kind],
  };
  return { goal, choice: found.choice, exact };
}

function hashChoice(layers: readonly MappedLayer[]): string {
  const text = JSON.stringify(layers.map((l) => [l.name, l.scheme, l.block, l.sparsity]));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The chosen option of every layer, as mapping.json and --verify-on take it. */
export function mappedLayers(
  layers: readonly LayerCandidates[],
  choice: readonly number[],
  why: readonly (string | undefined)[] = [],
): MappedLayer[] {
  return layers.map((layer, i) => {
    const option = layer.options[choice[i] ?? 0];
    if (option === undefined) throw new Error(`mapper chose a missing option for ${layer.name}`);
    return {
      name: layer.name,
      shapeKey: shapeKey(layer.shape),
      shape: layer.shape,
      scheme: option.scheme,
      block: option.block,
      sparsity: option.sparsity,
      density: option.density,
      keptEnergy: option.keptEnergy,
      drop: option.drop ?? null,
      latencyNs: option.latencyNs,
      source: option.source,
      intervalNs: option.intervalNs,
      ...(why[i] === undefined ? {} : { why: why[i] as string }),
    };
  });
}

export function computeMapping(request: ComputeRequest): MapResult {
  const lookup = createLookup(request.lut);
  const vocabulary = lutVocabulary(request.lut, request.threads);
  if (vocabulary.schemes.length === 0) {
    throw new MapInputError(
      `the LUT for ${request.lut.device.id} has no measurement at --threads ${request.threads}; expected threads ` +
        `${[...new Set(request.lut.entries.map((e) => e.threads))].join(', ')}`,
      { option: '--threads' },
    );
  }
  const schemes = (request.schemes ?? vocabulary.schemes).filter((s) => s !== 'dense');
  const blocks = request.blocks ?? vocabulary.blocks;
  const rawGrid = request.sparsities ?? [...DEFAULT_GRID, ...lutSparsities(request.lut)];
  const ruleSparsity = request.sparsity ?? DEFAULT_RULE_SPARSITY;
  const grid = [...new Set([...rawGrid, ...(request.mapper === 'rule' ? [ruleSparsity] : [])])]
    .filter((s) => s > 0 && s < 1)
    .sort((a, b) => a - b);
  const settings: CandidateSettings = {
    schemes,
    blocks,
    sparsities: grid,
    seed: request.seed,
    price: (shape, scheme, block, density) => lookup.latency(shape, scheme, block, density, request.threads),
    infeasible: (shape, scheme, block, sparsity) =>
      infeasibleReason(shape, scheme, block === null ? undefined : parseBlockSize(block), sparsity),
  };
  request.progress?.({ type: 'phase', phase: 'pricing', total: request.layers.length });
  const { layers: priced, unpriced } = buildCandidates(request.layers, settings);
  if (priced.length === 0) {
    throw new MapInputError(
      `the LUT for ${request.lut.device.id} cannot price any layer of ${request.modelName} (not even dense): ` +
        `${unpriced[0]?.reason ?? ''}\nSweep this model first: prunelab sweep --models ${request.modelName} --schemes dense,...`,
      { option: '--lut' },
    );
  }

  const layers = request.sensitivity === undefined ? priced : withMeasuredDrops(priced, request.sensitivity);
  let choice: number[];
  let why: (string | undefined)[] = layers.map(() => undefined);
  let exact: ExactReport | null = null;
  let goal: MapResult['goal'];
  if (request.mapper === 'rule') {
    goal = { kind: 'rule', sparsity: ruleSparsity };
    const decisions = ruleMapper(layers, {
      sparsity: ruleSparsity,
      tolerance: request.tolerance ?? DEFAULT_RULE_TOLERANCE,
    });
    choice = decisions.map((d) => d.index);
    why = decisions.map((d) => d.rule);
  } else {
    ({ goal, choice, exact } = searchMapping(layers, request, grid));
  }

  const mapped = mappedLayers(layers, choice, why);
  const mappingTotals = totals(layers, choice);
  const bcrBlocks = schemes.includes('bcr') ? blocks : [];
  const baselines = baselinesAtProxy(priced, bcrBlocks, mappingTotals.proxy);
  const best = bestBaseline(baselines);
  return {
    mapper: request.mapper,
    goal,
    layers: mapped,
    candidates: layers,
    priced,
    totals: mappingTotals,
    denseOnly: layers
      .filter((l) => l.options.length === 1)
      .map((l) => ({ name: l.name, reasons: [...new Set(l.refused.map((r) => r.reason))].slice(0, 3) })),
    unpriced,
    baselines,
    bestBaseline:
      best === undefined || best.latencyNs === null
        ? null
        : { name: best.name, latencyNs: best.latencyNs, speedup: best.latencyNs / mappingTotals.latencyNs },
    exact,
    settings: { schemes, blocks, sparsities: grid, threads: request.threads, seed: request.seed },
    choiceHash: hashChoice(mapped),
  };
}
