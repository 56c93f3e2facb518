/**
 * Results of `npm run bench:kernels` -> the tables it prints and the targets it checks. Pure: the I/O
 * (building, running the agent and OpenBLAS) is in kernels.ts, which hands medians in here.
 */
import {
  type BenchCase,
  type BenchLayer,
  gemmShape,
  SPARSITIES,
  type Variant,
  variantName,
  variantsFor,
} from './cases.ts';

/** What the agent reported for one case, reduced to what the tables need. */
export type CaseOutcome =
  | {
      readonly ok: true;
      readonly medianNs: number;
      /** The fastest sample: on a shared machine, the closest figure to the kernel's undisturbed time. */
      readonly fastestNs?: number;
      readonly samples: number;
      readonly density: number;
      readonly flops: number;
      readonly kernel: string;
    }
  | { readonly ok: false; readonly error: string };

export interface Cell {
  readonly sparsity: number;
  readonly density?: number;
  readonly gflops?: number;
  /** dense median / this median */
  readonly speedup?: number;
  /** 1 / density: the most a compute-bound kernel can gain */
  readonly ideal?: number;
  readonly kernel?: string;
  readonly error?: string;
}

export interface LayerTable {
  readonly layer: string;
  readonly group: BenchLayer['group'];
  readonly dense: CaseOutcome;
  readonly denseGflops?: number;
  readonly rows: readonly { readonly variant: string; readonly cells: readonly Cell[] }[];
}

export interface BlasRow {
  readonly layer: string;
  readonly group: BenchLayer['group'];
  readonly gemm: string;
  readonly agentGflops?: number;
  readonly agentKernel?: string;
  readonly blasGflops?: number;
  /** OpenBLAS median / agent dense median (> 1: the agent is faster) */
  readonly ratio?: number;
}

export interface ThreadsRow {
  readonly layer: string;
  readonly variant: string;
  readonly t1Ns?: number;
  readonly t2Ns?: number;
  readonly speedup?: number;
  readonly error?: string;
}

export interface TargetCheck {
  readonly target: string;
  readonly threshold: number;
  /** The layer where the figure is worst, and that figure; undefined when nothing could be measured. */
  readonly worstLayer?: string;
  readonly worst?: number;
  readonly met: boolean;
  readonly figures: readonly { readonly layer: string; readonly value: number }[];
}

export interface BenchSummary {
  readonly layers: readonly LayerTable[];
  readonly blas: readonly BlasRow[];
  readonly threads: readonly ThreadsRow[];
  readonly targets: readonly TargetCheck[];
}

/** Median of a non-empty sample (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty sample: the agent returned no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function gemmKey(m: number, k: number, n: number): string {
  return `${m}x${k}x${n}`;
}

const sameVariant = (a: Variant, b: Variant) => a.scheme === b.scheme && a.block === b.block;

function find(
  cases: readonly BenchCase[],
  role: BenchCase['role'],
  layer: BenchLayer,
  variant: Variant,
  sparsity: number,
  threads: number,
): BenchCase | undefined {
  return cases.find(
    (c) =>
      c.role === role &&
      c.layer.key === layer.key &&
      sameVariant(c.variant, variant) &&
      c.sparsity === sparsity &&
      c.threads === threads,
  );
}

const gflopsOf = (o: CaseOutcome) => (o.ok ? o.flops / o.medianNs : undefined);

function layerTable(
  layer: BenchLayer,
  cases: readonly BenchCase[],
  outcomes: ReadonlyMap<string, CaseOutcome>,
): LayerTable {
  const outcomeOf = (c: BenchCase | undefined): CaseOutcome =>
    (c && outcomes.get(c.id)) ?? { ok: false, error: 'not measured' };
  const dense = outcomeOf(find(cases, 'scheme', layer, { scheme: 'dense' }, 0, 1));
  const rows = variantsFor(layer.group).map((variant) => ({
    variant: variantName(variant),
    cells: SPARSITIES.map((sparsity): Cell => {
      const o = outcomeOf(find(cases, 'scheme', layer, variant, sparsity, 1));
      if (!o.ok) return { sparsity, error: o.error };
      return {
        sparsity,
        density: o.density,
        gflops: o.flops / o.medianNs,
        ...(dense.ok ? { speedup: dense.medianNs / o.medianNs } : {}),
        ...(o.density > 0 ? { ideal: 1 / o.density } : {}),
        kernel: o.kernel,
      };
    }),
  }));
  const denseGflops = gflopsOf(dense);
  return {
    layer: layer.key,
    group: layer.group,
    dense,
    ...(denseGflops === undefined ? {} : { denseGflops }),
    rows,
  };
}

function blasRow(table: LayerTable, layer: BenchLayer, blasMedianNs: ReadonlyMap<string, number>): BlasRow {
  const { m, k, n } = gemmShape(layer.shape);
  const gemm = gemmKey(m, k, n);
  const blas = blasMedianNs.get(gemm);
  const flops = 2 * m * k * n;
  const d = table.dense;
  return {
    layer: layer.key,
    group: layer.group,
    gemm,
    ...(d.ok ? { agentGflops: d.flops / d.medianNs, agentKernel: d.kernel } : {}),
    ...(blas === undefined ? {} : { blasGflops: flops / blas }),
    ...(d.ok && blas !== undefined ? { ratio: blas / d.medianNs } : {}),
  };
}

function threadsRows(
  layers: readonly BenchLayer[],
  cases: readonly BenchCase[],
  outcomes: ReadonlyMap<string, CaseOutcome>,
): ThreadsRow[] {
  const rows: ThreadsRow[] = [];
  for (const layer of layers.filter((l) => l.threadsPair)) {
    const pair = cases.filter((c) => c.role === 'threads' && c.layer.key === layer.key && c.threads === 1);
    for (const one of pair) {
      const two = find(cases, 'threads', layer, one.variant, one.sparsity, 2);
      const o1 = outcomes.get(one.id);
      const o2 = two && outcomes.get(two.id);
      const variant =
        one.sparsity > 0 ? `${variantName(one.variant)} @${one.sparsity}` : variantName(one.variant);
      if (!o1?.ok || !o2?.ok) {
        const error = (o1 && !o1.ok && o1.error) || (o2 && !o2.ok && o2.error) || 'not measured';
        rows.push({ layer: layer.key, variant, error });
        continue;
      }
      rows.push({
        layer: layer.key,
        variant,
        t1Ns: o1.medianNs,
        t2Ns: o2.medianNs,
        speedup: o1.medianNs / o2.medianNs,
      });
    }
  }
  return rows;
}

export function check(
  target: string,
  threshold: number,
  figures: { layer: string; value: number }[],
): TargetCheck {
  if (figures.length === 0) return { target, threshold, met: false, figures };
  const worst = figures.reduce((a, b) => (b.value < a.value ? b : a));
  return {
    target,
    threshold,
    worstLayer: worst.layer,
    worst: worst.value,
    met: worst.value >= threshold,
    figures,
  };
}

function bestSpeedup(table: LayerTable, variants: readonly string[], sparsity: number): number | undefined {
  const values = table.rows
    .filter((r) => variants.includes(r.variant))
    .map((r) => r.cells.find((c) => c.sparsity === sparsity)?.speedup)
    .filter((v): v is number => v !== undefined);
  return values.length === 0 ? undefined : Math.max(...values);
}

/** The targets, each checked on every layer it names; "met" means met on the worst of them. */
export function checkTargets(
  layers: readonly LayerTable[],
  blas: readonly BlasRow[],
  threads: readonly ThreadsRow[],
): TargetCheck[] {
  const conv1 = layers.filter((l) => l.group === '1x1');
  const conv3 = layers.filter((l) => l.group === '3x3');
  const defined = <T>(rows: readonly T[], f: (row: T) => { layer: string; value: number | undefined }) =>
    rows.map(f).filter((x): x is { layer: string; value: number } => x.value !== undefined);
  const bcr = ['bcr 4x4', 'bcr 8x4'];
  const patternAtQuarter = (t: LayerTable) => {
    const cell = t.rows
      .find((r) => r.variant === 'pattern')
      ?.cells.find((c) => c.density !== undefined && c.density <= 0.25 + 1e-9);
    return cell?.speedup;
  };
  return [
    check(
      'dense >= 0.8x OpenBLAS sgemm on 1x1-conv shapes',
      0.8,
      defined(
        blas.filter((b) => b.group === '1x1'),
        (b) => ({ layer: b.layer, value: b.ratio }),
      ),
    ),
    check(
      'bcr (4- or 8-row blocks) >= 2.0x over dense at 75% on 1x1 conv',
      2.0,
      defined(conv1, (t) => ({ layer: t.layer, value: bestSpeedup(t, bcr, 0.75) })),
    ),
    check(
      'bcr (4- or 8-row blocks) >= 4.0x over dense at 90% on 1x1 conv',
      4.0,
      defined(conv1, (t) => ({ layer: t.layer, value: bestSpeedup(t, bcr, 0.9) })),
    ),
    check(
      'pattern + connectivity at density <= 0.25 >= 2.0x over the best dense 3x3',
      2.0,
      defined(conv3, (t) => ({ layer: t.layer, value: patternAtQuarter(t) })),
    ),
    check(
      '2 threads >= 1.6x over 1 on large layers',
      1.6,
      defined(threads, (r) => ({ layer: `${r.layer} ${r.variant}`, value: r.speedup })),
    ),
  ];
}

export function summarize(
  layers: readonly BenchLayer[],
  cases: readonly BenchCase[],
  outcomes: ReadonlyMap<string, CaseOutcome>,
  blasMedianNs: ReadonlyMap<string, number>,
): BenchSummary {
  const tables = layers.map((l) => layerTable(l, cases, outcomes));
  const blas = layers.map((l, i) => blasRow(tables[i] as LayerTable, l, blasMedianNs));
  const threads = threadsRows(layers, cases, outcomes);
  return { layers: tables, blas, threads, targets: checkTargets(tables, blas, threads) };
}
