/** Nightly trends: the sentinel factor per night, and every case against its baseline. */
import type { Selection } from './controls.ts';
import { empty, show, titled, width } from './dom.ts';
import { timesTick } from './format.ts';
import type { Page } from './page.ts';

export function drawNightly(page: Page, sel: Selection): void {
  const { data, deviceLabel } = page;
  const nightly = data.nightly;
  if (nightly.sentinels.length === 0) return;
  const keep = (device: number) => sel.device === null || device === sel.device;
  const sentinels = nightly.sentinels
    .filter((s) => keep(s.device) && s.factor !== null)
    .map((s) => ({ ...s, device: deviceLabel(s.device) }));
  // Nights are categories (one run each), not a time axis: a missed night must not stretch the chart.
  const nights = [...new Set(nightly.sentinels.map((s) => s.night))].sort();
  const nightAxis = { type: 'point' as const, label: 'night', domain: nights, padding: 0.3 };
  if (sentinels.length === 0)
    empty('chart-nightly-sentinels', 'No sentinel factor yet: the sentinels need a few nights of history.');
  else
    show(
      'chart-nightly-sentinels',
      titled(
        "Sentinel factor per night (1 = the device's usual speed; above 1 it ran slower); hollow: the night was kept out of history",
        Plot.plot({
          width: Math.min(width(), 900),
          height: 240,
          marginLeft: 60,
          x: nightAxis,
          y: { label: 'sentinel factor', grid: true, tickFormat: timesTick },
          color: { legend: true, label: 'device' },
          marks: [
            Plot.ruleY([1], { stroke: '#888' }),
            Plot.line(sentinels, { x: 'night', y: 'factor', stroke: 'device' }),
            Plot.dot(sentinels, {
              x: 'night',
              y: 'factor',
              stroke: 'device',
              fill: (s) => (s.usable ? s.device : 'white'),
              r: 3.5,
              title: (s) => `${s.device}\n${s.night}: ${s.status}, sentinel factor ${s.factor}`,
            }),
          ],
        }),
      ),
    );
  const r = nightly.ratios;
  const rows = [];
  for (let i = 0; i < r.ratio.length; i++) {
    if (!keep(r.device[i])) continue;
    rows.push({
      night: r.night[i],
      device: deviceLabel(r.device[i]),
      label: nightly.labels[r.label[i]],
      ratio: r.ratio[i],
      threshold: r.threshold[i],
      kind: r.flagged[i] ? 'has a finding' : r.sentinel[i] ? 'sentinel' : 'case',
    });
  }
  if (rows.length === 0) {
    empty('chart-nightly-ratios', 'No case has a baseline yet: a case needs a few nights of history.');
    return;
  }
  show(
    'chart-nightly-ratios',
    titled(
      'Every case against its baseline, night by night (sentinel-normalised; log scale)',
      Plot.plot({
        width: Math.min(width(), 900),
        height: 300,
        marginLeft: 60,
        x: nightAxis,
        y: { type: 'log', label: 'latency / baseline', grid: true, tickFormat: timesTick },
        color: {
          legend: true,
          domain: ['case', 'sentinel', 'has a finding'],
          range: ['#9aa7b5', '#4a7db8', '#b3261e'],
        },
        marks: [
          Plot.ruleY([1], { stroke: '#888' }),
          Plot.dot(rows, {
            x: 'night',
            y: 'ratio',
            stroke: 'kind',
            r: (d) => (d.kind === 'has a finding' ? 4 : 2),
            title: (d) =>
              `${d.label}\n${d.device}, ${d.night}: ${d3.format('+.1%')(d.ratio - 1)} against its baseline${d.threshold === null ? '' : ` (threshold ±${d3.format('.1%')(d.threshold)})`}`,
          }),
        ],
      }),
    ),
  );
}
