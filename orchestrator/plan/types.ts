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
  /**
   * Every model layer (`model/layer`) this case stands for: shapes are deduplicated across built-in models,
   * and within one ONNX model (its layers are named by ONNX node).
   */
  readonly layers: readonly string[];
  /** Absent: the agent's seeded weights. Present: one ONNX node's own weights, which stand for `layers`. */
  readonly weights?: PlannedWeights;
}

/** The real weights a case is timed with: one ONNX node's, read by the agent from its model's weights blob. */
export interface PlannedWeights {
  /** The model's label (orchestrator/models/sweep-models.ts). */
  readonly model: string;
  /** The ONNX node whose weights these are. */
  readonly node: string;
  /** The blob's file name; the device holds it in its work folder. */
  readonly file: string;
  readonly offset: number;
  /** sha256 of the whole blob. */
  readonly sha256: string;
}

/** A model as the planner takes it: a built-in table, or an ONNX model with a weights blob. */
export interface PlanModel {
  readonly name: string;
  readonly layers: readonly { readonly name: string; readonly shape: LayerShape }[];
  /** Present for an ONNX model: its blob, and each layer's offset in it by layer (node) name. */
  readonly weights?: {
    readonly file: string;
    readonly sha256: string;
    readonly offsets: ReadonlyMap<string, number>;
  };
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
