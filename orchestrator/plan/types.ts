/** What the planner produces: concrete cases, grouped into batches of one agent call each. */
import type { LayerShape, MeasurementPolicy } from '../../config/types.ts';
import type { Backend, Scheme } from '../../config/vocabulary.ts';

/** One measurement to make on a device: a layer shape under one scheme, block, sparsity and thread count. */
export interface PlannedCase {
  /** Stable key from the case parameters alone (not the run or the device): same parameters, same key. */
  readonly key: string;
  readonly shape: LayerShape;
  readonly scheme: Scheme;
  /** `BRxBC` for block schemes, undefined otherwise. */
  readonly block: string | undefined;
  readonly sparsity: number;
  readonly threads: number;
  /** cpu: the agent's CPU kernels; gpu: its OpenCL kernels (threads is then 1: the GPU has no thread count). */
  readonly backend: Backend;
  readonly seed: number;
  readonly measurement: MeasurementPolicy;
  /** Every model layer (`model/layer`) that has this shape: shapes are deduplicated across models. */
  readonly layers: readonly string[];
}

export interface DroppedCase {
  /** The first model layer (`model/layer`) with this shape; `layers` lists them all. */
  readonly layer: string;
  readonly layers: readonly string[];
  readonly shape: LayerShape;
  readonly scheme: Scheme;
  readonly block: string | undefined;
  readonly sparsity: number;
  readonly reason: string;
}

export interface PlannedBatch {
  readonly index: number;
  readonly cases: readonly PlannedCase[];
  readonly estimatedMs: number;
}

export interface Plan {
  readonly cases: readonly PlannedCase[];
  readonly batches: readonly PlannedBatch[];
  readonly dropped: readonly DroppedCase[];
  readonly estimatedMs: number;
  /** How estimatedMs was obtained (an assumed rate model, not a measurement): show it with the estimate. */
  readonly estimateBasis: string;
}
