/**
 * sensitivity.json (`prunelab.sensitivity/v1`), the file `prunelab map --sensitivity` reads. Pure: the run's
 * measurements in, the document out. Members may be added to v1, never renamed.
 */
import { shapeKey } from '../../config/shape.ts';
import type { CachedMeasure } from './cache.ts';
import type { LayerPlan, RefusedCandidate } from './candidates.ts';

export const SENSITIVITY_SCHEMA = 'prunelab.sensitivity/v1';

export type SensitivityMetric = 'top1' | 'agreement';

export interface SensitivityCandidate {
  readonly scheme: string;
  readonly block: string | null;
  readonly sparsity: number;
  /** The metric's value with this layer alone pruned (top-1 accuracy, or top-1 agreement with the dense model). */
  readonly metricValue: number;
  /** Dense metric - metricValue, a fraction (negative when pruning happened to help). */
  readonly drop: number;
  readonly top1: number | null;
  readonly agreement: number;
  /** Mean relative output error against the dense model, ||y - y_dense|| / ||y_dense|| per sample. */
  readonly relError: number;
  readonly density: number;
  readonly keptEnergy: number;
  readonly maskFnv1a: string;
  /** What measuring this candidate took in one worker (mask, session, every batch), when it was measured. */
  readonly wallMs: number;
}

export interface SensitivityLayer {
  /** As mapping.json layers[].name (the weight's name without `.weight`). */
  readonly name: string;
  readonly weight: string;
  readonly node: string;
  readonly shapeKey: string;
  readonly candidates: readonly SensitivityCandidate[];
}

export interface SensitivityTiming {
  /** Candidates in the file, those measured by this run, and those read from the cache. */
  readonly candidates: number;
  readonly measured: number;
  readonly cached: number;
  /**
   * Wall time of this run's measuring (from every worker ready to the last candidate), and that divided by the
   * candidates it measured.
   */
  readonly wallMs: number;
  /** Starting the workers (loading modules, parsing the model), before any candidate. */
  readonly poolStartMs: number;
  readonly wallPerMeasuredMs: number | null;
  /** Mean time one candidate takes in one worker, over every candidate in the file. */
  readonly perCandidateMs: number | null;
  /** The dense pass, once, before the candidates. */
  readonly denseMs: number;
  readonly workers: number;
  readonly threadsPerSession: number;
}

export interface SensitivityFile {
  readonly schema: typeof SENSITIVITY_SCHEMA;
  readonly model: { readonly path: string; readonly sha256: string };
  readonly data: {
    readonly path: string;
    readonly sha256: string;
    readonly samples: number;
    readonly labels: boolean;
  };
  readonly metric: SensitivityMetric;
  readonly dense: { readonly top1: number | null; readonly agreement: 1; readonly relError: 0 };
  readonly layers: readonly SensitivityLayer[];
  /** Options that were not measured, with why (infeasible for the layer, not priced by the LUT, failed). */
  readonly refused: readonly RefusedCandidate[];
  readonly timing: SensitivityTiming;
}

export interface SensitivityRun {
  readonly model: SensitivityFile['model'];
  readonly data: SensitivityFile['data'];
  readonly denseTop1: number | null;
  readonly plan: readonly LayerPlan[];
  readonly measures: (layer: string, plan: LayerPlan['candidates'][number]) => CachedMeasure | undefined;
  readonly refused: readonly RefusedCandidate[];
  readonly timing: Omit<SensitivityTiming, 'candidates' | 'perCandidateMs'>;
}

function candidateOf(m: CachedMeasure, metric: SensitivityMetric, denseMetric: number): SensitivityCandidate {
  const metricValue = metric === 'top1' ? (m.top1 ?? 0) : m.agreement;
  return {
    scheme: m.scheme,
    block: m.block,
    sparsity: m.sparsity,
    metricValue,
    drop: denseMetric - metricValue,
    top1: m.top1,
    agreement: m.agreement,
    relError: m.relError,
    density: m.density,
    keptEnergy: m.keptEnergy,
    maskFnv1a: m.maskFnv1a,
    wallMs: m.wallMs,
  };
}

export function sensitivityFile(run: SensitivityRun): SensitivityFile {
  // Top-1 accuracy when there are labels, else top-1 agreement with the dense model (1 by definition).
  const metric: SensitivityMetric = run.data.labels ? 'top1' : 'agreement';
  const denseMetric = metric === 'top1' ? (run.denseTop1 ?? 0) : 1;
  const layers = run.plan.map((p) => ({
    name: p.layer.name,
    weight: p.layer.weightName,
    node: p.layer.node,
    shapeKey: shapeKey(p.layer.shape),
    candidates: p.candidates.flatMap((c) => {
      const m = run.measures(p.layer.name, c);
      return m === undefined ? [] : [candidateOf(m, metric, denseMetric)];
    }),
  }));
  const all = layers.flatMap((l) => l.candidates);
  return {
    schema: SENSITIVITY_SCHEMA,
    model: run.model,
    data: run.data,
    metric,
    dense: { top1: run.denseTop1, agreement: 1, relError: 0 },
    layers,
    refused: run.refused,
    timing: {
      candidates: all.length,
      perCandidateMs: all.length === 0 ? null : all.reduce((s, c) => s + c.wallMs, 0) / all.length,
      ...run.timing,
    },
  };
}
