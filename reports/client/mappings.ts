/** Mappings: predicted (and measured) latency per layer, and model totals against the uniform baselines. */
import type { Selection } from './controls.ts';
import { empty, show, titled, width } from './dom.ts';
import { fmtNs, msTick, pct } from './format.ts';
import type { Page } from './page.ts';

export function drawMappings(page: Page, sel: Selection): void {
  const { data, seriesScale } = page;
  if (data.mappings.length === 0) return;
  const deviceId = sel.device === null ? null : data.devices[sel.device]?.id;
  const mappings = data.mappings.filter(
    (m) => (deviceId === null || m.deviceId === deviceId) && (sel.model === null || m.model === sel.model),
  );
  if (mappings.length === 0) {
    empty(
      'chart-mapping-layers',
      'No mapping for this device and model: choose "all" in the controls above.',
    );
    empty('chart-mapping-totals', '');
    return;
  }
  // One chart per mapping (not facets): each has its own layers, baselines and scale.
  const layerCharts = document.createElement('div');
  const totalCharts = document.createElement('div');
  for (const m of mappings) {
    const label = `${m.model} · ${m.mapper} mapper · ${m.deviceId}`;
    const rows = m.layers
      .filter((l) => !sel.layer || l.layer === sel.layer.name)
      .map((l) => ({
        layer: l.layer,
        scheme: l.block === null ? l.scheme : `${l.scheme} ${l.block}`,
        ms: l.predictedNs / 1e6,
        measuredMs: l.measuredNs === null ? null : l.measuredNs / 1e6,
        source: l.source,
        sparsity: l.sparsity,
      }));
    if (rows.length > 0) {
      layerCharts.append(
        titled(
          `${label}: predicted latency per layer (bars)${m.totalMeasuredNs === null ? '' : ', measured on the device (dots)'}`,
          Plot.plot({
            width: width(),
            height: 340,
            marginBottom: 90,
            marginLeft: 70,
            x: { label: 'layer', tickRotate: -40, domain: rows.map((r) => r.layer) },
            y: { label: 'latency', grid: true, tickFormat: msTick },
            color: seriesScale(rows, 'scheme'),
            marks: [
              Plot.barY(rows, {
                x: 'layer',
                y: 'ms',
                fill: 'scheme',
                title: (r) =>
                  `${r.layer}: ${r.scheme} at ${pct(r.sparsity)}\npredicted ${fmtNs(r.ms * 1e6)} (${r.source})${r.measuredMs === null ? '' : `\nmeasured ${fmtNs(r.measuredMs * 1e6)}`}`,
              }),
              Plot.dot(
                rows.filter((r) => r.measuredMs !== null),
                { x: 'layer', y: 'measuredMs', fill: '#000', r: 3 },
              ),
              Plot.ruleY([0]),
            ],
          }),
        ),
      );
    }
    const totals = [
      { name: `${m.mapper} mapping, predicted`, ms: m.totalPredictedNs / 1e6, kind: 'mapping (predicted)' },
      ...(m.totalMeasuredNs === null
        ? []
        : [
            {
              name: `${m.mapper} mapping, measured`,
              ms: m.totalMeasuredNs / 1e6,
              kind: 'mapping (measured)',
            },
          ]),
      ...m.baselines.map((b) => ({
        name: b.name,
        ms: b.predictedNs / 1e6,
        kind: 'uniform baseline (predicted)',
      })),
    ];
    totalCharts.append(
      titled(
        `${label}: model total against the uniform baselines`,
        Plot.plot({
          width: Math.min(width(), 900),
          height: 70 + 26 * totals.length,
          marginLeft: 240,
          x: { label: 'total latency', grid: true, tickFormat: msTick },
          y: { label: null, domain: totals.map((t) => t.name) },
          color: {
            legend: true,
            label: 'kind',
            domain: ['mapping (predicted)', 'mapping (measured)', 'uniform baseline (predicted)'],
            range: ['#2f6fb3', '#1d232b', '#b8c2cc'],
          },
          marks: [
            Plot.barX(totals, {
              x: 'ms',
              y: 'name',
              fill: 'kind',
              title: (t) => `${t.name}: ${fmtNs(t.ms * 1e6)}`,
            }),
            Plot.ruleX([0]),
          ],
        }),
      ),
    );
  }
  if (layerCharts.childElementCount === 0)
    empty('chart-mapping-layers', 'The selected layer is not in these mappings.');
  else show('chart-mapping-layers', layerCharts);
  show('chart-mapping-totals', totalCharts);
}
