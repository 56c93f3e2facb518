/**
 * ONNX Runtime as the dense anchor of `npm run bench:kernels`: the agent's dense kernel against ONNX Runtime per
 * conv shape at 1 and 2 threads, each pruned scheme's speedup over the best dense of (agent, OpenBLAS, ONNX
 * Runtime) with its share of 1/d, and the two anchor targets. Pure: kernels.ts hands medians in.
 */

import { shapeClass } from './anchor-cases.ts';
import type { BenchCase, BenchLayer } from './cases.ts';
import { gemmShape } from './cases.ts';
import { type CaseOutcome, check, gemmKey, type LayerTable, type TargetCheck } from './summarize.ts';

/**
 * ONNX Runtime medians for one shape, ns; undefined where it failed (the error says why). t1Ns/t2Ns are ONNX
 * Runtime's own time per run (its profiler's model_run: the library as a C/C++ caller sees it), t1WallNs the
 * Node caller's (binding and event loop included).
 */
export interface OrtShapeTimes {
  readonly t1Ns?: number;
  readonly t2Ns?: number;
  readonly t1WallNs?: number;
  /** The fastest samples at 1 and 2 threads. */
  readonly t1FastestNs?: number;
  readonly t2FastestNs?: number;
  /** A Relu over as many floats as the layer outputs, 1 thread: one session.run's own cost at that size. */
  readonly callNs?: number;
  readonly error?: string;
}

export interface AnchorRow {
  readonly layer: string;
  readonly shapeClass: string;
  readonly agentT1Ns?: number;
  readonly agentT2Ns?: number;
  readonly agentKernel?: string;
  readonly ortT1Ns?: number;
  readonly ortT2Ns?: number;
  readonly ortT1WallNs?: number;
  /** ONNX Runtime median / agent median at 1 and 2 threads (> 1: the agent is faster). */
  readonly ratioT1?: number;
  readonly ratioT2?: number;
  /** The same ratios on the fastest samples (on a shared machine, nearer the undisturbed kernels). */
  readonly fastestRatioT1?: number;
  readonly fastestRatioT2?: number;
  /** The trivial model's median / the Node caller's 1-thread median: how much of that figure is the call. */
  readonly callShare?: number;
  /** OpenBLAS sgemm (sgemv for fc) on the layer's GEMM, 1 thread, operands ready-made; none for depthwise. */
  readonly blasNs?: number;
  /** OpenBLAS median / agent 1-thread median (> 1: the agent is faster). */
  readonly ratioBlas?: number;
  readonly error?: string;
}

export type DenseSource = 'agent' | 'OpenBLAS' | 'ONNX Runtime';

export interface BestCell {
  readonly sparsity: number;
  readonly density?: number;
  /** best dense median / this scheme's median */
  readonly overBest?: number;
  /** overBest x density: 1 = every removed weight became saved time */
  readonly shareOfIdeal?: number;
  /** ONNX Runtime's 1-thread dense median / this scheme's median */
  readonly overOrt?: number;
}

export interface BestTable {
  readonly layer: string;
  readonly best?: DenseSource;
  readonly bestNs?: number;
  readonly rows: readonly { readonly variant: string; readonly cells: readonly BestCell[] }[];
}

export interface AnchorSummary {
  readonly rows: readonly AnchorRow[];
  readonly best: readonly BestTable[];
  readonly targets: readonly TargetCheck[];
}

type Outcomes = ReadonlyMap<string, CaseOutcome>;

function agentMedian(cases: readonly BenchCase[], outcomes: Outcomes, layer: string, threads: number) {
  const c = cases.find((x) => x.role === 'anchor' && x.layer.key === layer && x.threads === threads);
  return c === undefined ? undefined : outcomes.get(c.id);
}

function anchorRow(
  layer: BenchLayer,
  cases: readonly BenchCase[],
  outcomes: Outcomes,
  ort: OrtShapeTimes | undefined,
  blasNs: number | undefined,
): AnchorRow {
  const a1 = agentMedian(cases, outcomes, layer.key, 1);
  const a2 = agentMedian(cases, outcomes, layer.key, 2);
  const agentT1Ns = a1?.ok ? a1.medianNs : undefined;
  const agentT2Ns = a2?.ok ? a2.medianNs : undefined;
  const ratio = (o: number | undefined, a: number | undefined) =>
    o === undefined || a === undefined ? undefined : o / a;
  const errors = [
    a1 && !a1.ok ? `agent: ${a1.error}` : '',
    a2 && !a2.ok ? `agent t2: ${a2.error}` : '',
    ort?.error ?? '',
  ]
    .filter((e) => e !== '')
    .join('; ');
  const fields: Record<string, number | string | undefined> = {
    agentT1Ns,
    agentT2Ns,
    agentKernel: a1?.ok ? a1.kernel : undefined,
    ortT1Ns: ort?.t1Ns,
    ortT2Ns: ort?.t2Ns,
    ortT1WallNs: ort?.t1WallNs,
    ratioT1: ratio(ort?.t1Ns, agentT1Ns),
    ratioT2: ratio(ort?.t2Ns, agentT2Ns),
    fastestRatioT1: ratio(ort?.t1FastestNs, a1?.ok ? a1.fastestNs : undefined),
    fastestRatioT2: ratio(ort?.t2FastestNs, a2?.ok ? a2.fastestNs : undefined),
    callShare: ratio(ort?.callNs, ort?.t1WallNs),
    blasNs,
    ratioBlas: ratio(blasNs, agentT1Ns),
    error: errors === '' ? undefined : errors,
  };
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return { layer: layer.key, shapeClass: shapeClass(layer.shape), ...defined };
}

/** The fastest dense of the three on one scheme-table layer (1 thread), or undefined when none was measured. */
function bestDense(
  table: LayerTable,
  layer: BenchLayer,
  blasNs: ReadonlyMap<string, number>,
  ortT1Ns: number | undefined,
): { source: DenseSource; ns: number } | undefined {
  const { m, k, n } = gemmShape(layer.shape);
  const candidates: { source: DenseSource; ns: number | undefined }[] = [
    { source: 'agent', ns: table.dense.ok ? table.dense.medianNs : undefined },
    { source: 'OpenBLAS', ns: blasNs.get(gemmKey(m, k, n)) },
    { source: 'ONNX Runtime', ns: ortT1Ns },
  ];
  const measured = candidates.filter((c): c is { source: DenseSource; ns: number } => c.ns !== undefined);
  return measured.length === 0 ? undefined : measured.reduce((a, b) => (b.ns < a.ns ? b : a));
}

function bestTable(
  table: LayerTable,
  layer: BenchLayer,
  blasNs: ReadonlyMap<string, number>,
  ortT1Ns: number | undefined,
): BestTable {
  const best = bestDense(table, layer, blasNs, ortT1Ns);
  const denseNs = table.dense.ok ? table.dense.medianNs : undefined;
  const rows = table.rows.map((row) => ({
    variant: row.variant,
    cells: row.cells.map((cell): BestCell => {
      // cell.speedup = agent dense / scheme, so scheme = agent dense / speedup.
      const schemeNs =
        cell.speedup === undefined || denseNs === undefined ? undefined : denseNs / cell.speedup;
      if (schemeNs === undefined) return { sparsity: cell.sparsity };
      const overBest = best === undefined ? undefined : best.ns / schemeNs;
      const fields = {
        density: cell.density,
        overBest,
        shareOfIdeal:
          overBest === undefined || cell.density === undefined ? undefined : overBest * cell.density,
        overOrt: ortT1Ns === undefined ? undefined : ortT1Ns / schemeNs,
      };
      return {
        sparsity: cell.sparsity,
        ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
      };
    }),
  }));
  return { layer: table.layer, ...(best ? { best: best.source, bestNs: best.ns } : {}), rows };
}

/** Geometric mean of positive figures. */
export function geomean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('geomean of no values');
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}

/** The target on a geometric mean: met when the geomean reaches the threshold; the lowest layer is named. */
function geomeanCheck(
  target: string,
  threshold: number,
  figures: { layer: string; value: number }[],
): TargetCheck {
  if (figures.length === 0) return { target, threshold, met: false, figures };
  const g = geomean(figures.map((f) => f.value));
  const lowest = figures.reduce((a, b) => (b.value < a.value ? b : a));
  return {
    target,
    threshold,
    worstLayer: `geomean of ${figures.length} layers (lowest ${lowest.value.toFixed(2)}x on ${lowest.layer})`,
    worst: g,
    met: g >= threshold,
    figures,
  };
}

function anchorTargets(rows: readonly AnchorRow[], best: readonly BestTable[]): TargetCheck[] {
  const convRows = rows.filter((r) => !r.layer.startsWith('fc '));
  const figures = (pick: (r: AnchorRow) => number | undefined) =>
    convRows.flatMap((r) => {
      const value = pick(r);
      return value === undefined ? [] : [{ layer: r.layer, value }];
    });
  const bestAt75 = best.flatMap((t) => {
    const values = t.rows
      .map((r) => r.cells.find((c) => c.sparsity === 0.75)?.overOrt)
      .filter((v): v is number => v !== undefined);
    return values.length === 0 ? [] : [{ layer: t.layer, value: Math.max(...values) }];
  });
  return [
    check(
      'agent dense >= 1.0x ONNX Runtime on every conv shape, 1 thread',
      1.0,
      figures((r) => r.ratioT1),
    ),
    check(
      'agent dense >= 1.0x ONNX Runtime on every conv shape, 2 threads',
      1.0,
      figures((r) => r.ratioT2),
    ),
    check(
      'the same at 1 thread on the fastest samples (a check on the medians under shared load)',
      1.0,
      figures((r) => r.fastestRatioT1),
    ),
    geomeanCheck(
      'best 75%-pruned scheme >= 3.5x ONNX Runtime dense, 1 thread (geomean; 1/d = 4x)',
      3.5,
      bestAt75,
    ),
  ];
}

export function summarizeAnchor(input: {
  readonly anchorLayers: readonly BenchLayer[];
  readonly schemeLayers: readonly BenchLayer[];
  readonly schemeTables: readonly LayerTable[];
  readonly cases: readonly BenchCase[];
  readonly outcomes: Outcomes;
  readonly blasNs: ReadonlyMap<string, number>;
  /** By shapeKey. */
  readonly ort: ReadonlyMap<string, OrtShapeTimes>;
}): AnchorSummary {
  const blasOf = (layer: BenchLayer) => {
    if (layer.shape.op === 'dwconv') return undefined;
    const { m, k, n } = gemmShape(layer.shape);
    return input.blasNs.get(gemmKey(m, k, n));
  };
  const rows = input.anchorLayers.map((l) =>
    anchorRow(l, input.cases, input.outcomes, input.ort.get(l.key), blasOf(l)),
  );
  const best = input.schemeLayers.flatMap((layer) => {
    const table = input.schemeTables.find((t) => t.layer === layer.key);
    return table ? [bestTable(table, layer, input.blasNs, input.ort.get(layer.key)?.t1Ns)] : [];
  });
  return { rows, best, targets: anchorTargets(rows, best) };
}
