/**
 * Shapes of the validated, frozen configuration that the rest of prunelab receives.
 * The schema (config/schema.ts) turns raw YAML or flags into these; nothing else constructs them by hand.
 */
import type { Backend, BlockSize, Scheme } from './vocabulary.ts';

/** One layer's geometry, the unit the agent times. FC uses cin = in, cout = out, h = w = k = stride = 1. */
export interface LayerShape {
  readonly op: 'conv' | 'dwconv' | 'fc';
  readonly cin: number;
  readonly cout: number;
  readonly h: number;
  readonly w: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
}

export interface ModelLayer {
  /** Name as in the model, e.g. `layer2.0.conv1`. */
  readonly name: string;
  readonly shape: LayerShape;
}

export interface ModelTable {
  readonly name: string;
  readonly dataset: 'cifar10' | 'imagenet';
  readonly layers: readonly ModelLayer[];
}

/** How each case is timed (DESIGN.md, "The measurement protocol"). */
export interface MeasurementPolicy {
  readonly warmup: number;
  readonly minReps: number;
  readonly minTimeMs: number;
  readonly maxReps: number;
  readonly maxTimeMs: number;
}

export interface SweepSpec {
  readonly models: readonly string[];
  readonly schemes: readonly Scheme[];
  readonly blocks: readonly BlockSize[];
  /** Fractions of weights removed; dense ignores them. */
  readonly sparsities: readonly number[];
  readonly threads: readonly number[];
  /** Where each case runs: the agent's CPU kernels, its OpenCL (GPU) kernels, or both. */
  readonly backends: readonly Backend[];
  readonly seed: number;
  readonly measurement: MeasurementPolicy;
}
