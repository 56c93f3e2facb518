/**
 * The mapping section's measured table (`prunelab map --evaluate-with`): the mapping and every uniform
 * baseline at the mapping's measured accuracy drop, with predicted (and verified) latency and speedups. Pure:
 * the table's data in, HTML out.
 */
import { escapeHtml } from './escape.ts';
import { formatNs, formatPercent } from './format.ts';
import { table, text } from './html.ts';
import type { ReportMeasuredRow, ReportMeasuredTable } from './types.ts';

const times = (value: number | null): string => (value === null ? '—' : `${value.toFixed(2)}×`);

export function measuredTableSection(measured: ReportMeasuredTable, id: string): string {
  const metric = measured.metric === 'top1' ? 'top-1 accuracy' : 'top-1 agreement with dense';
  const best =
    measured.bestBaseline === null
      ? "no uniform baseline reaches the mapping's measured drop at any priced sparsity"
      : `best uniform baseline at equal measured drop: ${measured.bestBaseline.name}; the mapping is ` +
        `${times(measured.bestBaseline.predictedSpeedup)} faster predicted` +
        (measured.bestBaseline.measuredSpeedup === null
          ? ''
          : `, ${times(measured.bestBaseline.measuredSpeedup)} measured`);
  return `<h4>Measured at equal accuracy</h4>
<p class="note">${escapeHtml(metric)} on ${escapeHtml(measured.samples)} samples of ${text(measured.dataPath)} (dense ${escapeHtml(
    formatPercent(measured.denseValue),
  )}); every row measured with ONNX Runtime; baselines at the mapping's measured drop of ${escapeHtml(
    (measured.targetDrop * 100).toFixed(2),
  )} points. ${escapeHtml(best)}.</p>
${table<ReportMeasuredRow>(
  id,
  measured.rows,
  [
    { title: 'scheme', cell: (r) => text(r.name) },
    {
      title: 'sparsity',
      cell: (r) =>
        escapeHtml(
          r.uniformSparsity === null
            ? `(${formatPercent(r.overallSparsity)})`
            : formatPercent(r.uniformSparsity),
        ),
      sort: (r) => r.uniformSparsity ?? r.overallSparsity,
      className: 'num',
    },
    {
      title: measured.metric === 'top1' ? 'top-1' : 'agreement',
      cell: (r) => escapeHtml(formatPercent(r.metricValue)),
      sort: (r) => r.metricValue,
      className: 'num',
    },
    {
      title: 'drop (points)',
      cell: (r) => escapeHtml(r.drop === null ? '—' : (r.drop * 100).toFixed(2)),
      sort: (r) => r.drop,
      className: 'num',
    },
    {
      title: 'predicted',
      cell: (r) => escapeHtml(formatNs(r.predictedNs)),
      sort: (r) => r.predictedNs,
      className: 'num',
    },
    {
      title: 'measured',
      cell: (r) => (r.measuredNs === null ? '—' : escapeHtml(formatNs(r.measuredNs))),
      sort: (r) => r.measuredNs,
      className: 'num',
    },
    {
      title: 'speedup over dense',
      cell: (r) =>
        escapeHtml(
          times(r.predictedSpeedupOverDense) +
            (r.measuredSpeedupOverDense === null ? '' : ` (${times(r.measuredSpeedupOverDense)} measured)`),
        ),
      sort: (r) => r.predictedSpeedupOverDense,
      className: 'num',
    },
    {
      title: 'mapping faster by',
      cell: (r) =>
        r.kind === 'mapping'
          ? '—'
          : !r.reached
            ? 'not compared'
            : escapeHtml(
                times(r.mappingPredictedSpeedup) +
                  (r.mappingMeasuredSpeedup === null ? '' : ` (${times(r.mappingMeasuredSpeedup)} measured)`),
              ),
      sort: (r) => (r.kind === 'mapping' || !r.reached ? null : r.mappingPredictedSpeedup),
      className: 'num',
    },
    { title: 'note', cell: (r) => text(r.note) },
  ],
  false,
)}
<p class="note">${text(measured.method)}</p>`;
}
