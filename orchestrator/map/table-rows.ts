/**
 * The measured table's rows, speedups and text (pure: rows in, rows with speedups, the best baseline and lines
 * out). measured-table.ts evaluates; this only divides and prints.
 */

export interface TableRow {
  readonly name: string;
  readonly kind: 'dense' | 'mapping' | 'baseline';
  readonly scheme: string | null;
  readonly block: string | null;
  /** The baseline's uniform sparsity (dense 0; the mapping: null, its layers differ). */
  readonly uniformSparsity: number | null;
  /** Removed weights / all weights of the priced layers. */
  readonly overallSparsity: number;
  readonly layersPruned: number;
  /** A baseline: some priced sparsity keeps its measured drop within the mapping's (else not compared). */
  readonly reached: boolean;
  /** The table's metric (top-1 or agreement) and its drop from dense, measured. */
  readonly metricValue: number | null;
  readonly drop: number | null;
  readonly top1: number | null;
  readonly agreement: number;
  readonly meanRelativeError: number;
  readonly predictedNs: number;
  readonly measuredNs: number | null;
  /** The first priced sparsity that loses more than the mapping (a baseline), or null. */
  readonly next: { readonly sparsity: number; readonly drop: number; readonly predictedNs: number } | null;
  /** Every sparsity the bisection evaluated, with its measured drop. */
  readonly probes: readonly { readonly sparsity: number; readonly drop: number }[];
  readonly layers: readonly {
    readonly name: string;
    readonly scheme: string;
    readonly block: string | null;
    readonly sparsity: number;
  }[];
  readonly note: string;
  /** dense latency / this row's. */
  readonly predictedSpeedupOverDense: number;
  readonly measuredSpeedupOverDense: number | null;
  /** This row's latency / the mapping's: how much faster the mapping is. */
  readonly mappingPredictedSpeedup: number;
  readonly mappingMeasuredSpeedup: number | null;
}

/** A row before its speedups (measured-table.ts builds these). */
export type BareRow = Omit<
  TableRow,
  | 'predictedSpeedupOverDense'
  | 'measuredSpeedupOverDense'
  | 'mappingPredictedSpeedup'
  | 'mappingMeasuredSpeedup'
>;

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;
}

export function withSpeedups(rows: readonly BareRow[]): TableRow[] {
  const dense = rows.find((r) => r.kind === 'dense');
  const mapping = rows.find((r) => r.kind === 'mapping');
  if (dense === undefined || mapping === undefined)
    throw new RangeError('the table needs a dense and a mapping row');
  return rows.map((r) => ({
    ...r,
    predictedSpeedupOverDense: dense.predictedNs / r.predictedNs,
    measuredSpeedupOverDense: ratio(dense.measuredNs, r.measuredNs),
    mappingPredictedSpeedup: r.predictedNs / mapping.predictedNs,
    mappingMeasuredSpeedup: ratio(r.measuredNs, mapping.measuredNs),
  }));
}

/** The fastest (predicted) baseline that reaches the mapping's drop; the mapping's speedup over it. */
export function bestBaselineRow(
  rows: readonly TableRow[],
): { name: string; predictedSpeedup: number; measuredSpeedup: number | null } | null {
  const best = rows
    .filter((r) => r.kind === 'baseline' && r.reached)
    .reduce<TableRow | undefined>(
      (b, r) => (b === undefined || r.predictedNs < b.predictedNs ? r : b),
      undefined,
    );
  return best === undefined
    ? null
    : {
        name: best.name,
        predictedSpeedup: best.mappingPredictedSpeedup,
        measuredSpeedup: best.mappingMeasuredSpeedup,
      };
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(2)}%`);
const msText = (ns: number | null): string => (ns === null ? '-' : (ns / 1e6).toPrecision(4));
const times = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);

export interface TableHeader {
  readonly metric: 'top1' | 'agreement';
  readonly denseValue: number;
  readonly targetDrop: number;
  readonly samples: number;
  readonly dataPath: string;
}

export function tableText(
  header: TableHeader,
  rows: readonly TableRow[],
  best: ReturnType<typeof bestBaselineRow>,
): string {
  const metricName = header.metric === 'top1' ? 'top-1' : 'agreement';
  const lines = [
    `measured on ${header.samples} samples of ${header.dataPath} with ONNX Runtime: ${metricName} (dense ` +
      `${pct(header.denseValue)}); baselines at the mapping's measured drop ${(header.targetDrop * 100).toFixed(2)} points ` +
      '(highest LUT-priced uniform sparsity within it, no interpolation)',
    `${pad('scheme', 26)} ${pad('sparsity', 8)} ${pad(metricName, 9)} ${pad('drop', 8)} ${pad('pred ms', 9)} ${pad('meas ms', 9)} ` +
      `${pad('vs dense p/m', 15)} mapping faster by`,
  ];
  for (const r of rows) {
    const sparsity =
      r.uniformSparsity === null ? `(${r.overallSparsity.toFixed(2)})` : r.uniformSparsity.toFixed(2);
    const speedup =
      times(r.predictedSpeedupOverDense) +
      (r.measuredSpeedupOverDense === null ? '' : ` / ${times(r.measuredSpeedupOverDense)}`);
    const over =
      r.kind === 'mapping'
        ? ''
        : !r.reached
          ? 'not compared'
          : `${times(r.mappingPredictedSpeedup)} predicted${r.mappingMeasuredSpeedup === null ? '' : `, ${times(r.mappingMeasuredSpeedup)} measured`}`;
    lines.push(
      `${pad(r.name, 26)} ${pad(sparsity, 8)} ${pad(pct(r.metricValue), 9)} ${pad(r.drop === null ? '-' : (r.drop * 100).toFixed(2), 8)} ` +
        `${pad(msText(r.predictedNs), 9)} ${pad(msText(r.measuredNs), 9)} ${pad(speedup, 15)} ${over}`,
    );
    if (r.kind === 'baseline' && r.note !== '') lines.push(`${' '.repeat(28)}${r.note}`);
  }
  lines.push(
    best === null
      ? "no uniform baseline reaches the mapping's measured drop at any priced sparsity"
      : `best uniform baseline at equal measured drop: ${best.name}; the mapping is ${times(best.predictedSpeedup)} faster ` +
          `(predicted)${best.measuredSpeedup === null ? '' : `, ${times(best.measuredSpeedup)} (measured)`}`,
  );
  return lines.join('\n');
}
