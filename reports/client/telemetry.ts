/** Temperature, frequency and the cooling waits before each batch. */
import type { Selection } from './controls.ts';
import { empty, show, titled, width } from './dom.ts';
import type { Page } from './page.ts';

export function drawTelemetry(page: Page, sel: Selection): void {
  const { data, deviceLabel } = page;
  const t = data.telemetry;
  const rows = [];
  for (let i = 0; i < t.atMs.length; i++) {
    if (sel.device !== null && t.device[i] !== sel.device) continue;
    rows.push({
      at: new Date(t.atMs[i]),
      device: deviceLabel(t.device[i]),
      temp: t.temperatureC[i],
      freq: t.frequencyMhz[i],
    });
  }
  const temps = rows.filter((r) => r.temp !== null);
  const freqs = rows.filter((r) => r.freq !== null);
  const common = { width: width(), height: 220, marginLeft: 60, color: { legend: true, label: 'device' } };
  if (temps.length === 0)
    empty(
      'chart-temperature',
      'No temperature readings: the selected device(s) exposed no readable thermal zone.',
    );
  else
    show(
      'chart-temperature',
      titled(
        'Temperature (hottest zone, °C)',
        Plot.plot({
          ...common,
          x: { type: 'time', label: 'time' },
          // A padded domain: a steady temperature is a flat line in the middle, not a single odd tick.
          y: {
            label: 'temperature (°C)',
            grid: true,
            domain: [
              Math.floor((d3.min(temps, (r) => r.temp) ?? Number.NaN) - 2),
              Math.ceil((d3.max(temps, (r) => r.temp) ?? Number.NaN) + 2),
            ],
            tickFormat: (d) => `${d3.format('~f')(d)} °C`,
          },
          marks: [
            Plot.line(temps, { x: 'at', y: 'temp', z: 'device', stroke: 'device' }),
            Plot.dot(temps, { x: 'at', y: 'temp', fill: 'device', r: 1.5 }),
          ],
        }),
      ),
    );
  if (freqs.length === 0)
    empty(
      'chart-frequency',
      'No frequency readings: the selected device(s) exposed no readable cpufreq files.',
    );
  else
    show(
      'chart-frequency',
      titled(
        'Frequency of the CPUs the cases ran on (MHz)',
        Plot.plot({
          ...common,
          x: { type: 'time', label: 'time' },
          y: { label: 'frequency (MHz)', grid: true, zero: true, nice: true },
          marks: [
            Plot.line(freqs, { x: 'at', y: 'freq', z: 'device', stroke: 'device' }),
            Plot.dot(freqs, { x: 'at', y: 'freq', fill: 'device', r: 1.5 }),
          ],
        }),
      ),
    );
  const waits = data.batches
    .filter((b) => sel.device === null || b.device === sel.device)
    .map((b) => ({
      at: new Date(b.atMs),
      waitS: b.thermalWaitMs / 1000,
      state: b.flag === null ? `gate: ${b.gate}` : `flagged: ${b.flag}`,
      batch: b.batchIndex,
      device: deviceLabel(b.device),
    }));
  if (waits.length === 0)
    empty(
      'chart-waits',
      'No cooling waits recorded: lab hygiene (thermal gate before each batch) runs on phones, not on the host.',
    );
  else
    show(
      'chart-waits',
      titled(
        'Wait to cool before each batch (s); flagged batches were measured again',
        Plot.plot({
          ...common,
          x: { type: 'time', label: 'batch start' },
          y: { label: 'thermal wait (s)', grid: true, zero: true },
          color: { legend: true, label: 'batch state' },
          marks: [
            Plot.ruleX(waits, { x: 'at', y1: 0, y2: 'waitS', stroke: 'state' }),
            Plot.dot(waits, {
              x: 'at',
              y: 'waitS',
              fill: 'state',
              r: 3,
              title: (w) => `${w.device}\nbatch ${w.batch}: ${w.waitS.toFixed(1)} s, ${w.state}`,
            }),
          ],
        }),
      ),
    );
}
