/** "Speedup over dense" against measured sparsity, with the ideal 1/d curve. */
import { empty, show, titled, width } from './dom.ts';
import { timesTick } from './format.ts';
import type { Page } from './page.ts';

/** Past this many pruned cases the chart shows the medians only: thousands of dots hide the curves. */
const MAX_SPEEDUP_DOTS = 6000;

export function drawSpeedup(page: Page, idx: readonly number[]): void {
  const { data, cases, seriesOf, seriesScale } = page;
  const rows = [];
  for (const i of idx) {
    const speedup = cases.speedup[i];
    if (speedup === null || data.schemes[cases.scheme[i]] === 'dense') continue;
    rows.push({
      sparsity: 1 - cases.density[i],
      requested: cases.sparsity[i],
      speedup,
      series: seriesOf(i),
      shape: data.shapes[cases.shape[i]],
    });
  }
  if (rows.length === 0) {
    empty('chart-speedup', 'No pruned case with a dense measurement of the same layer in this selection.');
    return;
  }
  const medians = [];
  for (const [series, bySparsity] of d3.group(
    rows,
    (r) => r.series,
    (r) => r.requested,
  )) {
    for (const [, group] of bySparsity) {
      medians.push({
        series,
        sparsity: d3.median(group, (r) => r.sparsity),
        speedup: d3.median(group, (r) => r.speedup),
      });
    }
  }
  medians.sort((a, b) => (a.sparsity ?? Number.NaN) - (b.sparsity ?? Number.NaN));
  const maxSparsity = Math.min(0.97, Math.max(0.5, d3.max(rows, (r) => r.sparsity) ?? 0.5));
  const ideal = d3.range(0, 61).map((k) => {
    const s = (k / 60) * maxSparsity;
    return { sparsity: s, speedup: 1 / (1 - s) };
  });
  const dots = rows.length <= MAX_SPEEDUP_DOTS;
  const plot = Plot.plot({
    width: width(),
    height: 400,
    marginLeft: 60,
    x: {
      label: 'sparsity (1 − measured density)',
      domain: [0, maxSparsity],
      tickFormat: '.0%',
      grid: true,
    },
    y: { type: 'log', label: 'speedup over dense', grid: true, tickFormat: timesTick, ticks: 8 },
    color: seriesScale(rows, 'series'),
    marks: [
      Plot.ruleY([1], { stroke: '#888' }),
      Plot.line(ideal, { x: 'sparsity', y: 'speedup', stroke: '#222', strokeDasharray: '5,4' }),
      Plot.text([ideal[ideal.length - 1]], {
        x: 'sparsity',
        y: 'speedup',
        text: () => 'ideal 1/d',
        dx: -6,
        dy: -8,
        textAnchor: 'end',
      }),
      dots
        ? Plot.dot(rows, {
            x: 'sparsity',
            y: 'speedup',
            stroke: 'series',
            r: 2.5,
            strokeOpacity: 0.6,
            title: (r) =>
              `${r.shape}\n${r.series}: ${r.speedup.toFixed(2)}× at ${(r.sparsity * 100).toFixed(1)}%`,
          })
        : null,
      Plot.line(medians, {
        x: 'sparsity',
        y: 'speedup',
        z: 'series',
        stroke: 'series',
        strokeWidth: 2,
        marker: 'circle',
      }),
    ].filter(Boolean),
  });
  const caption = dots ? '' : ` (${rows.length} cases: medians only)`;
  show('chart-speedup', titled(`Speedup over dense${caption}`, plot));
}
