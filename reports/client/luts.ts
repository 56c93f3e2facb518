/** LUT quality: predicted against measured latency, and held-out accuracy by family. */
import type { Selection } from './controls.ts';
import { empty, show, titled, width } from './dom.ts';
import { fmtNs, msTick, pct } from './format.ts';
import type { Page } from './page.ts';

export function drawLuts(page: Page, sel: Selection): void {
  const { data } = page;
  if (data.luts.length === 0) return;
  const deviceId = sel.device === null ? null : data.devices[sel.device]?.id;
  const luts = data.luts.filter((l) => deviceId === null || l.deviceId === deviceId);
  const pairs = luts.flatMap((l) =>
    l.pairs.map((p) => ({
      ...p,
      lut: l.deviceId,
      measuredMs: p.measuredNs / 1e6,
      predictedMs: p.predictedNs / 1e6,
      kind: p.heldOut ? 'held out (other shapes only)' : 'in-sample fit',
    })),
  );
  if (pairs.length === 0) {
    empty('chart-lut-scatter', 'No LUT of the selected device: choose "all devices" or another device.');
    empty('chart-lut-families', '');
    return;
  }
  const lo = (d3.min(pairs, (p) => Math.min(p.measuredMs, p.predictedMs)) ?? Number.NaN) * 0.8;
  const hi = (d3.max(pairs, (p) => Math.max(p.measuredMs, p.predictedMs)) ?? Number.NaN) * 1.25;
  const diagonal = d3.range(0, 41).map((k) => lo * (hi / lo) ** (k / 40));
  show(
    'chart-lut-scatter',
    titled(
      'Predicted against measured latency (log-log); the line is perfect prediction, the shaded band ±10%',
      Plot.plot({
        width: Math.min(width(), 760),
        height: 460,
        marginLeft: 60,
        x: { type: 'log', label: 'measured', domain: [lo, hi], grid: true, tickFormat: msTick, ticks: 6 },
        y: { type: 'log', label: 'predicted', domain: [lo, hi], grid: true, tickFormat: msTick, ticks: 6 },
        color: { legend: true, label: 'prediction' },
        marks: [
          Plot.areaY(diagonal, {
            x: (v) => v,
            y1: (v) => v * 0.9,
            y2: (v) => v * 1.1,
            fill: '#9ab',
            fillOpacity: 0.25,
          }),
          Plot.line(diagonal, { x: (v) => v, y: (v) => v, stroke: '#444' }),
          Plot.dot(pairs, {
            x: 'measuredMs',
            y: 'predictedMs',
            stroke: 'kind',
            r: 2.5,
            title: (p) =>
              `${p.family}\n${p.shapeKey} at density ${p.density}\nmeasured ${fmtNs(p.measuredNs)}, predicted ${fmtNs(p.predictedNs)}\nLUT of ${p.lut}`,
          }),
        ],
      }),
    ),
  );
  const families = luts.flatMap((l) =>
    l.families
      .filter((f) => f.within10 !== null)
      .map((f) => ({
        family: `${f.family}${luts.length > 1 ? ` (${l.deviceId})` : ''}`,
        within10: f.within10,
        mape: f.mape,
      })),
  );
  if (families.length === 0) {
    empty(
      'chart-lut-families',
      'No family has enough shapes for a held-out accuracy figure (see the table: "held out" is empty).',
    );
    return;
  }
  show(
    'chart-lut-families',
    titled(
      'Share of held-out predictions within ±10%, by predictor family',
      Plot.plot({
        width: Math.min(width(), 900),
        height: 40 + 22 * families.length,
        marginLeft: 240,
        x: { label: 'within ±10% (held out)', domain: [0, 1], tickFormat: '.0%', grid: true },
        y: { label: null },
        marks: [
          Plot.barX(families, {
            x: 'within10',
            y: 'family',
            fill: '#4a7db8',
            sort: { y: 'x' },
            title: (f) => `${f.family}: ${pct(f.within10)} within ±10%, MAPE ${pct(f.mape)}`,
          }),
          Plot.ruleX([0]),
        ],
      }),
    ),
  );
}
