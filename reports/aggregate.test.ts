import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  downsampleTelemetry,
  embedData,
  MAX_TELEMETRY_POINTS_PER_DEVICE,
  significant,
  thin,
} from './aggregate.ts';
import { renderReport } from './render.ts';
import { largeInput, STUB_ASSETS } from './test-support.ts';
import type { ReportTelemetryPoint } from './types.ts';

test('downsampling keeps the hottest and the slowest reading of each bucket', () => {
  const points: ReportTelemetryPoint[] = Array.from({ length: 10 }, (_, i) => ({
    deviceId: 'd',
    atMs: i * 10,
    temperatureC: i === 3 ? 90 : 40,
    frequencyMhz: i === 7 ? 300 : 2000,
  }));
  const out = downsampleTelemetry(points, 2);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], { deviceId: 'd', atMs: 20, temperatureC: 90, frequencyMhz: 2000 });
  assert.deepEqual(out[1], { deviceId: 'd', atMs: 70, temperatureC: 40, frequencyMhz: 300 });
  // Under the cap nothing changes; a device without sensors keeps its nulls.
  const few = [{ deviceId: 'e', atMs: 1, temperatureC: null, frequencyMhz: null }];
  assert.deepEqual(downsampleTelemetry(few, 2), few);
});

test('thin keeps the first element, the order, and at most max elements', () => {
  assert.deepEqual(thin([1, 2, 3, 4, 5, 6], 3), [1, 3, 5]);
  assert.deepEqual(thin([1, 2], 3), [1, 2]);
});

test('significant rounds to four significant digits', () => {
  assert.equal(significant(1234567), 1235000);
  assert.equal(significant(0.000123456), 0.0001235);
  assert.equal(significant(0), 0);
});

test('a 200,000-case run embeds one compact row per case and downsampled telemetry', () => {
  const count = 200_000;
  const input = largeInput(count);
  const startedMs = performance.now();
  const data = embedData(input);
  const embedMs = performance.now() - startedMs;
  assert.equal(data.cases.medianNs.length, count);
  assert.equal(data.sizes.telemetryIn, count);
  assert.ok(
    data.telemetry.atMs.length <= 4 * MAX_TELEMETRY_POINTS_PER_DEVICE,
    `telemetry downsampled to ${data.telemetry.atMs.length} points`,
  );
  assert.ok(data.shapes.length === 50 && data.devices.length >= 4, 'strings are interned, not repeated');

  const renderStartedMs = performance.now();
  const html = renderReport(input, STUB_ASSETS);
  const renderMs = performance.now() - renderStartedMs;
  const bytesPerCase = Buffer.byteLength(html) / count;
  // Measured on this machine, printed for the record (the bound is generous for a shared 2-core VM).
  console.log(
    `200,000 cases: embed ${embedMs.toFixed(0)} ms, render ${renderMs.toFixed(0)} ms, ` +
      `${(Buffer.byteLength(html) / 2 ** 20).toFixed(1)} MiB (${bytesPerCase.toFixed(0)} bytes per case)`,
  );
  assert.ok(bytesPerCase < 120, `at most 120 bytes per case in the page, got ${bytesPerCase.toFixed(0)}`);
  assert.ok(renderMs < 15_000, `rendered in ${renderMs.toFixed(0)} ms`);
});
