/**
 * The sweep planner (pure): SweepSpec x model tables -> cases, drops, batches and a duration estimate.
 *
 *   1. Group the layers of all models by shape (shapeKey): a shape is timed once, whichever built-in models share
 *      it; an ONNX model's layers (timed with its own weights) group only within that model, the first node's
 *      weights standing for the others, or not at all with `perLayer`.
 *   2. For each shape, backend and thread count, expand schemes x blocks x sparsities: dense once with
 *      sparsity 0, cases that cannot exist dropped with the agent's reason (feasibility.ts). The gpu backend
 *      has no thread count: its cases are planned once, with threads 1.
 *   3. Interleave: within one (shape, threads) group, take the schemes round-robin (dense, unstructured,
 *      pattern, bcr, ..., then each scheme's next variant), so that slow drift of the device (heat,
 *      frequency) spreads over all schemes of a layer instead of biasing the ones measured last.
 *   4. Cut the ordered cases into batches (one agent call each) by case count and estimated duration.
 */
import { shapeKey } from '../../config/shape.ts';
import type { LayerShape, SweepSpec } from '../../config/types.ts';
import { BLOCK_SCHEMES, formatBlockSize, type Scheme } from '../../config/vocabulary.ts';
import { CONSERVATIVE_RATE_MODEL, describeRateModel, estimateCaseMs } from './estimate.ts';
import { infeasibleReason } from './feasibility.ts';
import { caseKey } from './key.ts';
import type { DroppedCase, Plan, PlanModel, PlannedBatch, PlannedCase, PlannedWeights } from './types.ts';

export interface PlanOptions {
  /** At most this many cases per batch (one agent call). */
  readonly maxCasesPerBatch: number;
  /** A batch is closed before a case that would take its estimate past this (a batch has >= 1 case). */
  readonly targetBatchMs: number;
  /** Estimated wall time of one case in ms; defaults to `estimateCaseMs` with CONSERVATIVE_RATE_MODEL. */
  readonly estimateMs?: (plannedCase: PlannedCase) => number;
  /** Fixed cost of one agent call added to every batch estimate; defaults to the rate model's. */
  readonly batchOverheadMs?: number;
  /** How the estimate was made, copied into Plan.estimateBasis; defaults to the rate model's description. */
  readonly estimateBasis?: string;
}

/** One scheme setting of a shape, before threads are applied. */
interface Variant {
  readonly scheme: Scheme;
  readonly block: string | undefined;
  readonly sparsity: number;
}

/** Layers timed by one set of cases: one shape (and, for an ONNX model, one node's weights), first-seen order. */
interface ShapeGroup {
  readonly shape: LayerShape;
  readonly layers: string[];
  readonly weights?: PlannedWeights;
}

/** The weights a model's layer is timed with: seeded (built-in tables), else the node's own from the blob. */
function weightsOf(model: PlanModel, layerName: string): PlannedWeights | undefined {
  if (model.weights === undefined) return undefined;
  const offset = model.weights.offsets.get(layerName);
  if (offset === undefined)
    throw new Error(`planSweep: model '${model.name}' has no blob offset for layer '${layerName}'`);
  const { file, sha256 } = model.weights;
  return { model: model.name, node: layerName, file, offset, sha256 };
}

/**
 * Seeded layers of one shape share cases across models. An ONNX model's layers of one shape share cases only
 * within that model, with the first node's weights standing for the others (time depends on shape and mask
 * structure); `perLayer` gives every ONNX node cases of its own.
 */
function groupShapes(models: readonly PlanModel[], perLayer: boolean): ShapeGroup[] {
  const groups = new Map<string, ShapeGroup>();
  for (const model of models) {
    for (const layer of model.layers) {
      const weights = weightsOf(model, layer.name);
      const key =
        weights === undefined
          ? shapeKey(layer.shape)
          : `${shapeKey(layer.shape)} @${weights.sha256}${perLayer ? ` #${layer.name}` : ''}`;
      const name = `${model.name}/${layer.name}`;
      const group = groups.get(key);
      if (group === undefined)
        groups.set(key, {
          shape: layer.shape,
          layers: [name],
          ...(weights === undefined ? {} : { weights }),
        });
      else if (!group.layers.includes(name)) group.layers.push(name);
    }
  }
  return [...groups.values()];
}

/** Round-robin over lists: first items of each, then second items, ... */
export function interleave<T>(lists: readonly (readonly T[])[]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...lists.map((list) => list.length));
  for (let index = 0; index < longest; index++) {
    for (const list of lists) {
      const item = list[index];
      if (item !== undefined) out.push(item);
    }
  }
  return out;
}

/** Greedy cut of ordered cases into batches by count and estimated duration. */
export function splitBatches(
  cases: readonly PlannedCase[],
  estimates: readonly number[],
  maxCases: number,
  targetMs: number,
  batchOverheadMs: number,
): PlannedBatch[] {
  const batches: PlannedBatch[] = [];
  let current: PlannedCase[] = [];
  let currentMs = 0;
  const close = (): void => {
    if (current.length === 0) return;
    batches.push({ index: batches.length, cases: current, estimatedMs: batchOverheadMs + currentMs });
    current = [];
    currentMs = 0;
  };
  cases.forEach((plannedCase, index) => {
    const caseMs = estimates[index] ?? 0;
    if (current.length >= maxCases || (current.length > 0 && currentMs + caseMs > targetMs)) close();
    current.push(plannedCase);
    currentMs += caseMs;
  });
  close();
  return batches;
}

function checkOptions(options: PlanOptions): void {
  if (!Number.isInteger(options.maxCasesPerBatch) || options.maxCasesPerBatch < 1) {
    throw new RangeError(
      `planSweep: expected maxCasesPerBatch >= 1 (integer), got ${options.maxCasesPerBatch}`,
    );
  }
  if (!(options.targetBatchMs > 0)) {
    throw new RangeError(`planSweep: expected targetBatchMs > 0, got ${options.targetBatchMs}`);
  }
}

/**
 * Expands the sweep over the given model tables (the caller resolves spec.models to tables, so the
 * planner never looks names up). Deterministic: same inputs, same plan, same keys, same order.
 */
export function planSweep(spec: SweepSpec, models: readonly PlanModel[], options: PlanOptions): Plan {
  checkOptions(options);
  const cases: PlannedCase[] = [];
  const dropped: DroppedCase[] = [];
  const seen = new Set<string>();

  for (const group of groupShapes(models, spec.perLayer)) {
    // Feasibility does not depend on threads: record each drop once per shape.
    const variants = spec.schemes.map((scheme): Variant[] => {
      if (scheme === 'dense') return [{ scheme, block: undefined, sparsity: 0 }];
      const blocks = BLOCK_SCHEMES.includes(scheme) ? spec.blocks : [undefined];
      const kept: Variant[] = [];
      for (const sparsity of spec.sparsities) {
        for (const block of blocks) {
          const blockText = block === undefined ? undefined : formatBlockSize(block);
          const reason = infeasibleReason(group.shape, scheme, block, sparsity);
          if (reason === undefined) kept.push({ scheme, block: blockText, sparsity });
          else {
            dropped.push({
              layer: group.layers[0] ?? '',
              layers: [...group.layers],
              shape: group.shape,
              scheme,
              block: blockText,
              sparsity,
              reason,
            });
          }
        }
      }
      return kept;
    });

    for (const backend of spec.backends) {
      for (const threads of backend === 'gpu' ? [1] : spec.threads) {
        for (const variant of interleave(variants)) {
          const parameters = {
            shape: group.shape,
            scheme: variant.scheme,
            block: variant.block,
            sparsity: variant.sparsity,
            threads,
            backend,
            seed: spec.seed,
            measurement: spec.measurement,
            ...(group.weights === undefined ? {} : { weights: group.weights }),
          };
          const key = caseKey(parameters);
          // A scheme, block or sparsity listed twice would give the same case twice.
          if (seen.has(key)) continue;
          seen.add(key);
          cases.push({ key, ...parameters, layers: [...group.layers] });
        }
      }
    }
  }

  const estimateMs = options.estimateMs ?? ((plannedCase: PlannedCase) => estimateCaseMs(plannedCase));
  const estimates = cases.map(estimateMs);
  const batchOverheadMs = options.batchOverheadMs ?? CONSERVATIVE_RATE_MODEL.perBatchOverheadMs;
  const batches = splitBatches(
    cases,
    estimates,
    options.maxCasesPerBatch,
    options.targetBatchMs,
    batchOverheadMs,
  );
  const estimateBasis =
    options.estimateBasis ??
    (options.estimateMs === undefined
      ? describeRateModel(CONSERVATIVE_RATE_MODEL)
      : 'caller-supplied estimate');
  return {
    cases,
    batches,
    dropped,
    estimatedMs: batches.reduce((sum, batch) => sum + batch.estimatedMs, 0),
    estimateBasis,
  };
}
