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
  searchKnapsack,
  solveKnapsack,
  toKnapsack,
  totals,
  type UnpricedLayer,
} from '../../cost-model/index.ts';
import { infeasibleReason } from '../plan/feasibility.ts';
import { MapInputError } from './errors.ts';

export const MAPPING_SCHEMA = 'prunelab.mapping/v1';
export const DEFAULT_GRID: readonly number[] = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9];
export const DEFAULT_RULE_SPARSITY = 0.75;

export const PROXY_DEFINITION =
  'PROXY, not accuracy: per layer, the fraction of squared weight magnitude the mask keeps (sum of kept w^2 / ' +
  'sum of all w^2, magnitude pruning as the agent does it); the model proxy is the mean over prunable layers. ' +
  'Use --evaluate CMD for a real accuracy.';

export interface ComputeRequest {
  readonly lut: Lut;
  readonly modelName: string;
  readonly layers: readonly MapLayer[];
  readonly mapper: 'rule' | 'search';
  /** Search goal; for the rule mapper only `sparsity` is used (the layers' sparsity). */
  readonly latencyBudgetNs?: number;
  readonly sparsity?: number;
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
  readonly candidates: readonly LayerCandidates[];
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

function resolveGoal(request: ComputeRequest): SearchGoal {
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

function hashChoice(layers: readonly MappedLayer[]): string {
  const text = JSON.stringify(layers.map((l) => [l.name, l.scheme, l.block, l.sparsity]));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
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
  const { layers, unpriced } = buildCandidates(request.layers, settings);
  if (layers.length === 0) {
    throw new MapInputError(
      `the LUT for ${request.lut.device.id} cannot price any layer of ${request.modelName} (not even dense): ` +
        `${unpriced[0]?.reason ?? ''}\nSweep this model first: prunelab sweep --models ${request.modelName} --schemes dense,...`,
      { option: '--lut' },
    );
  }

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
    const searchGoal = resolveGoal(request);
    goal = searchGoal;
    const problem = toKnapsack(layers, searchGoal);
    let found: ReturnType<typeof searchKnapsack>;
    try {
      found = searchKnapsack(problem, request.progress);
    } catch (error) {
      if (!(error instanceof InfeasibleGoalError)) throw error;
      const fastest = totals(
        layers,
        layers.map((l) =>
          l.options.reduce((b, o, i) => (o.latencyNs < (l.options[b]?.latencyNs ?? Infinity) ? i : b), 0),
        ),
      );
      throw searchGoal.kind === 'latency-budget'
        ? new MapInputError(
            `--latency-budget-ms ${searchGoal.budgetNs / 1e6}: no mapping is that fast; the fastest this LUT ` +
              `predicts for ${request.modelName} is ${(fastest.latencyNs / 1e6).toFixed(3)} ms. Raise the budget.`,
            { option: '--latency-budget-ms', fastestNs: fastest.latencyNs },
            { cause: error },
          )
        : new MapInputError(
            `--sparsity ${searchGoal.sparsity}: no mapping fits under this sparsity cap with the sparsities tried ` +
              `(${grid.join(', ')}); lower --sparsity or add higher --sparsities.`,
            { option: '--sparsity' },
            { cause: error },
          );
    }
    choice = found.choice;
    request.progress?.({ type: 'phase', phase: 'exact', total: 1 });
    const solution: KnapsackSolution = solveKnapsack(problem, request.resolution);
    const upper = solution.upperBound;
    exact = {
      method:
        'multiple-choice knapsack, dynamic programming over the constraint discretised into steps ' +
        '(costs rounded up: achieved optimum; rounded down: upper bound)',
      resolution: solution.resolution,
      searchObjective: found.value,
      exactObjective: solution.value,
      upperBound: upper,
      gap: (solution.value - found.value) / Math.abs(solution.value),
      gapBound: (upper - found.value) / Math.abs(upper),
      exactTotals: solution.choice === null ? null : totals(layers, solution.choice),
      objective:
        searchGoal.kind === 'latency-budget'
          ? 'mean kept-energy proxy over prunable layers (maximised)'
          : 'minus the total predicted latency in ns (maximised)',
    };
  }

  const mapped: MappedLayer[] = layers.map((layer, i) => {
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
      latencyNs: option.latencyNs,
      source: option.source,
      intervalNs: option.intervalNs,
      ...(why[i] === undefined ? {} : { why: why[i] as string }),
    };
  });
  const mappingTotals = totals(layers, choice);
  const bcrBlocks = schemes.includes('bcr') ? blocks : [];
  const baselines = baselinesAtProxy(layers, bcrBlocks, mappingTotals.proxy);
  const best = bestBaseline(baselines);
  return {
    mapper: request.mapper,
    goal,
    layers: mapped,
    candidates: layers,
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
