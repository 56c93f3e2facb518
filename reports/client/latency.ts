/** "Median latency per layer": one dot per case and layer, p10-p90 as a rule. */
import type { Selection } from './controls.ts';
import { empty, show, titled, width } from './dom.ts';
import { fmtNs, msTick } from './format.ts';
import type { Page } from './page.ts';

export function drawLatency(page: Page, sel: Selection, idx: readonly number[]): void {
  const { data, cases, layersOfShape, seriesOf, deviceLabel, seriesScale } = page;
  const rows = [];
  for (const i of idx) {
    const dense = data.schemes[cases.scheme[i]] === 'dense';
    if (!dense && sel.sparsity !== null && cases.sparsity[i] !== sel.sparsity) continue;
    for (const layer of layersOfShape.get(cases.shape[i]) ?? []) {
      if (sel.model !== null && layer.model !== sel.model) continue;
      if (sel.layer && layer !== sel.layer) continue;
      rows.push({
        layer: sel.model === null ? `${layer.model}/${layer.name}` : layer.name,
        order: data.layers.indexOf(layer),
        series: seriesOf(i),
        device: deviceLabel(cases.device[i]),
        threads: cases.threads[i],
        ms: cases.medianNs[i] / 1e6,
        p10: cases.p10Ns[i] / 1e6,
        p90: cases.p90Ns[i] / 1e6,
      });
    }
  }
  if (rows.length === 0) {
    empty('chart-latency', 'No measured case for this selection.');
    return;
  }
  const domain = [...new Map(rows.sort((a, b) => a.order - b.order).map((r) => [r.layer, r])).keys()];
  const facet = sel.device === null && new Set(rows.map((r) => r.device)).size > 1;
  const facetBy = facet ? { fy: 'device' } : {};
  const plot = Plot.plot({
    width: width(),
    height: facet ? 220 * new Set(rows.map((r) => r.device)).size : 380,
    marginBottom: 90,
    marginLeft: 70,
    x: { type: 'point', domain, label: 'layer', tickRotate: -40, padding: 0.5 },
    y: { type: 'log', label: 'median latency', grid: true, tickFormat: msTick, ticks: 6 },
    ...(facet ? { fy: { label: 'device' } } : {}),
    color: seriesScale(rows, 'series'),
    marks: [
      Plot.ruleX(rows, {
        x: 'layer',
        y1: 'p10',
        y2: 'p90',
        stroke: 'series',
        strokeOpacity: 0.5,
        ...facetBy,
      }),
      Plot.line(rows, {
        x: 'layer',
        y: 'ms',
        z: 'series',
        stroke: 'series',
        strokeOpacity: 0.35,
        ...facetBy,
      }),
      Plot.dot(rows, {
        x: 'layer',
        y: 'ms',
        fill: 'series',
        r: 3.5,
        ...facetBy,
        title: (r) =>
          `${r.layer}\n${r.series}, ${r.threads} thread(s)\nmedian ${fmtNs(r.ms * 1e6)} (p10 ${fmtNs(r.p10 * 1e6)}, p90 ${fmtNs(r.p90 * 1e6)})\n${r.device}`,
      }),
    ],
  });
  const sparsityText = sel.sparsity === null ? '' : ` at ${Math.round(sel.sparsity * 1000) / 10}% sparsity`;
  show('chart-latency', titled(`Median latency per layer${sparsityText} (dense at 0%)`, plot));
}
