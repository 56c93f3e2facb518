/**
 * The mappers' data: per layer, the priced options (scheme, block, sparsity -> predicted latency and proxy),
 * and what a mapper returns. Plain JSON-shaped values; `mapping.json` is built from these.
 */
import type { LayerShape } from '../../config/types.ts';
import type { Scheme } from '../../config/vocabulary.ts';
import type { LatencySource } from '../types.ts';

/** One way to run a layer, priced by the LUT and scored by the proxy. */
export interface LayerOption {
  readonly scheme: Scheme;
  /** `BRxBC` for block schemes, null otherwise. */
  readonly block: string | null;
  /** Requested fraction of weights removed (0 for dense). */
  readonly sparsity: number;
  /** Kept / all weights of the mask (what the agent reports and the LUT is keyed by). */
  readonly density: number;
  readonly keptWeights: number;
  /** The accuracy PROXY of this option: kept share of squared weight magnitude. */
  readonly keptEnergy: number;
  /**
   * The MEASURED accuracy drop of this option alone (dense metric - metric with only this layer pruned, a
   * fraction; sensitivity.ts), when a sensitivity file was given; absent otherwise. Dense is 0.
   */
  readonly drop?: number;
  readonly latencyNs: number;
  readonly source: LatencySource;
  readonly intervalNs: readonly [number, number];
}

/** The layer kinds of the rule mapper's table. */
export type LayerKind = 'conv3x3' | 'conv1x1' | 'fc' | 'other';

/** A layer with every option the LUT could price; options[0] is dense. */
export interface LayerCandidates {
  readonly name: string;
  readonly shape: LayerShape;
  readonly kind: LayerKind;
  readonly weights: number;
  readonly options: readonly LayerOption[];
  /** Options that could not be priced or cannot exist, with why (shown with --json, counted in the text). */
  readonly refused: readonly { readonly option: string; readonly reason: string }[];
}

/** A choice of one option per layer (indices into each layer's options). */
export type Choice = readonly number[];

export interface MappingTotals {
  readonly latencyNs: number;
  /** Mean over prunable layers of keptEnergy (README.md, "Accuracy proxy"). */
  readonly proxy: number;
  /**
   * Sum over layers of the chosen options' measured drops (the additive model of the sensitivity search), or
   * null when any chosen option has no measured drop (no sensitivity file).
   */
  readonly drop: number | null;
  /** Removed weights / all weights of the priced layers. */
  readonly sparsity: number;
  readonly keptWeights: number;
  readonly weights: number;
}

/** What the search mapper optimises. */
export type SearchGoal =
  /** Maximise the proxy with total predicted latency <= budget. */
  | { readonly kind: 'latency-budget'; readonly budgetNs: number }
  /** Minimise total predicted latency removing at most `sparsity` of the weights (the cap binds: pruning is faster). */
  | { readonly kind: 'sparsity'; readonly sparsity: number }
  /** Minimise the summed measured drop with total predicted latency <= budget (needs every option's `drop`). */
  | { readonly kind: 'latency-budget-drop'; readonly budgetNs: number }
  /** Minimise total predicted latency with the summed measured drop <= maxDrop (needs every option's `drop`). */
  | { readonly kind: 'max-accuracy-drop'; readonly maxDrop: number };

export type MapperEvent =
  | { readonly type: 'phase'; readonly phase: string; readonly total: number }
  | {
      readonly type: 'step';
      readonly phase: string;
      readonly done: number;
      readonly total: number;
      readonly objective: number;
    };

export type MapperProgress = (event: MapperEvent) => void;
