/**
 * One candidate measured: the model with one layer pruned (the same masks as `prunelab prune`, applied to the
 * model's bytes in memory), run through its own ONNX Runtime session over the data, compared with the dense
 * outputs (computed once) and the labels. Runs inside a pool worker; nothing here knows about threads.
 */
import { computeMask, maskFnv1a } from '../../cost-model/index.ts';
import { addBatch, emptyTotals, finishMetrics, type Metrics } from '../evaluate/metrics.ts';
import { type ModelRunner, openRunner } from '../evaluate/session.ts';
import type { OnnxLayer } from '../models/onnx.ts';
import { ownLayout } from '../prune/model-masks.ts';
import { prunedOnnxBytes } from '../prune/outputs.ts';
import type { Candidate } from './candidates.ts';

/** The data as every session runs it: N samples, C order, fed in batches. */
export interface Batches {
  readonly inputs: Float32Array;
  readonly sampleDims: readonly number[];
  readonly count: number;
  readonly batchSize: number;
}

/** The first output of every sample, [count x classes], batch by batch through one session. */
export async function runBatches(runner: ModelRunner, data: Batches): Promise<Float32Array> {
  const sampleSize = data.sampleDims.reduce((p, d) => p * d, 1);
  const parts: Float32Array[] = [];
  for (let at = 0; at < data.count; at += data.batchSize) {
    const batch = Math.min(data.batchSize, data.count - at);
    const view = data.inputs.subarray(at * sampleSize, (at + batch) * sampleSize);
    // ONNX Runtime's binding refuses a tensor over shared memory ("Invalid argument"): a pool worker's data is.
    const input = view.buffer instanceof SharedArrayBuffer ? view.slice() : view;
    parts.push((await runner.run(input, [batch, ...data.sampleDims])).slice());
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export interface MeasureContext {
  readonly modelBytes: Uint8Array;
  readonly modelFile: string;
  readonly layers: ReadonlyMap<string, OnnxLayer>;
  readonly data: Batches;
  readonly denseOutputs: Float32Array;
  readonly classes: number;
  readonly labels: Int32Array | null;
  readonly threads: number;
}

export interface CandidateMeasure {
  readonly metrics: Metrics;
  /** Kept / all weights of the layer's mask, and its kept share of squared weight magnitude (the proxy). */
  readonly density: number;
  readonly keptEnergy: number;
  readonly maskFnv1a: string;
  /** Mask, pruned bytes, session and every batch: what one candidate costs. */
  readonly wallMs: number;
}

/** The model's bytes with one layer masked as `prunelab prune` masks it. */
export function prunedLayerBytes(
  context: MeasureContext,
  layer: OnnxLayer,
  candidate: Candidate,
): { bytes: Uint8Array; density: number; keptEnergy: number; maskFnv1a: string } {
  const spec = { scheme: candidate.scheme, block: candidate.block, sparsity: candidate.sparsity };
  const mask = computeMask(layer.weights, layer.shape, spec);
  const pruning = {
    layers: [{ layer, spec, mask, ownMask: ownLayout(layer, mask.mask), maskFnv1a: maskFnv1a(mask.mask) }],
    leftDense: [],
  };
  return {
    bytes: prunedOnnxBytes(context.modelBytes, pruning, context.modelFile),
    density: mask.density,
    keptEnergy: mask.keptEnergy,
    maskFnv1a: maskFnv1a(mask.mask),
  };
}

export async function measureCandidate(
  context: MeasureContext,
  layerName: string,
  candidate: Candidate,
  nowMs: () => number = () => performance.now(),
): Promise<CandidateMeasure> {
  const started = nowMs();
  const layer = context.layers.get(layerName);
  if (layer === undefined) throw new RangeError(`no prunable layer '${layerName}' in ${context.modelFile}`);
  const pruned = prunedLayerBytes(context, layer, candidate);
  const runner = await openRunner(pruned.bytes, context.modelFile, '--model', context.threads);
  let outputs: Float32Array;
  try {
    outputs = await runBatches(runner, context.data);
  } finally {
    await runner.release();
  }
  const totals = addBatch(emptyTotals(), outputs, context.denseOutputs, context.classes, context.labels);
  return {
    metrics: finishMetrics(totals),
    density: pruned.density,
    keptEnergy: pruned.keptEnergy,
    maskFnv1a: pruned.maskFnv1a,
    wallMs: nowMs() - started,
  };
}
