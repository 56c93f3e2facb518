import assert from 'node:assert/strict';
import { test } from 'node:test';
import { embedData } from './aggregate.ts';
import { formatChange } from './nightly-section.ts';
import { renderReport } from './render.ts';
import { literalInput, literalNightly, STUB_ASSETS, XSS_NAME } from './test-support.ts';

function section(html: string): string {
  const start = html.indexOf('<section id="nightly">');
  assert.ok(start >= 0, 'the page has a nightly section');
  return html.slice(start, html.indexOf('</section>', start));
}

test('without nightly runs the section says how to get them', () => {
  const html = renderReport(literalInput(), STUB_ASSETS);
  assert.match(section(html), /No nightly run in this store/);
  assert.match(html, /<a href="#nightly">Nightly trends<\/a>/);
});

test('nightly trends: counts, findings with their change and threshold, escaped messages', () => {
  const html = section(renderReport(literalInput({ nightly: literalNightly() }), STUB_ASSETS));
  assert.match(html, /<div class="v">5<\/div><div class="k">nights<\/div>/);
  assert.match(
    html,
    /<div class="card bad"><div class="v">1<\/div><div class="k">confirmed regressions<\/div>/,
  );
  assert.match(html, /<div class="v">1<\/div><div class="k">updates<\/div>/);
  assert.match(html, /1 confirmed finding\(s\) need attention/);
  assert.match(html, /<td class="num" data-sort="1.31">\+31\.0%<\/td>/);
  assert.match(html, /±6\.0%/);
  assert.match(html, /build fingerprint changed: acme\/phone:13 -&gt; acme\/phone:14/);
  assert.ok(!html.includes(XSS_NAME), 'the payload is escaped');
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  for (const chart of ['chart-nightly-sentinels', 'chart-nightly-ratios'])
    assert.match(html, new RegExp(`<div class="chart" id="${chart}">`));
});

test('the embedded nightly data keeps cases with a baseline only, and marks the ones with a finding', () => {
  const data = embedData(literalInput({ nightly: literalNightly() }));
  assert.equal(data.nightly.sentinels.length, 5);
  assert.deepEqual(
    data.nightly.sentinels.map((s) => s.factor),
    [null, null, null, 1.04, 1.05],
  );
  // Three cases on each of the two nights with a baseline.
  assert.equal(data.nightly.ratios.ratio.length, 6);
  const flagged = data.nightly.ratios.flagged.flatMap((f, i) => (f === 1 ? [i] : []));
  assert.equal(flagged.length, 1);
  const at = flagged[0] ?? -1;
  assert.equal(data.nightly.labels[data.nightly.ratios.label[at] ?? -1], 'conv 64->64 k3 | bcr 4x1');
  assert.equal(data.nightly.ratios.ratio[at], 1.31);
  assert.equal(data.nightly.ratios.night[at], '2026-11-05');
  assert.ok(data.devices.some((d) => d.id === 'adb:PHONE1' && d.label === 'Acme Phone (adb:PHONE1)'));
});

test('formatChange shows a signed percentage', () => {
  assert.equal(formatChange(1.31), '+31.0%');
  assert.equal(formatChange(0.96), '-4.0%');
  assert.equal(formatChange(null), '—');
});
