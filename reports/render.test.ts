import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, jsonForScript, scriptForInline } from './escape.ts';
import { REPORT_DATA_ELEMENT_ID, renderReport } from './render.ts';
import { literalInput, STUB_ASSETS, XSS_NAME } from './test-support.ts';
import type { ReportMeasuredRow } from './types.ts';

function dataBlock(html: string): string {
  const open = `<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">`;
  const start = html.indexOf(open);
  assert.ok(start >= 0, 'the page has its data block');
  const end = html.indexOf('</script>', start);
  return html.slice(start + open.length, end);
}

test('escapeHtml escapes the five HTML metacharacters', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
});

test('jsonForScript cannot close its script element and still parses to the same value', () => {
  const value = { name: '</script><script>alert(1)</script>', sep: 'a\u2028b\u2029c', amp: '&<!--' };
  const text = jsonForScript(value);
  assert.ok(!/[<>&\u2028\u2029]/.test(text), `no raw <, >, & or line separators in ${text}`);
  assert.deepEqual(JSON.parse(text), value);
});

test('scriptForInline defuses a literal </script inside a library', () => {
  const source = 'const s = "</script>"; const t = "</SCRIPT >";';
  const inlined = scriptForInline(source);
  assert.ok(!/<\/script/i.test(inlined));
  // The same string values once evaluated.
  assert.equal(new Function(`${inlined}; return s + t;`)(), '</script></SCRIPT >');
});

test('every section is present, with units and the run provenance', () => {
  const html = renderReport(literalInput(), STUB_ASSETS);
  for (const id of ['overview', 'latency', 'speedup', 'cases', 'telemetry', 'lut', 'mappings'])
    assert.match(html, new RegExp(`<section id="${id}">`), `section ${id}`);
  for (const chart of [
    'chart-latency',
    'chart-speedup',
    'chart-temperature',
    'chart-frequency',
    'chart-waits',
  ])
    assert.match(html, new RegExp(`<div class="chart" id="${chart}">`), `chart ${chart}`);
  for (const control of ['sel-device', 'sel-model', 'sel-layer'])
    assert.match(html, new RegExp(`<select id="${control}">`), `control ${control}`);
  assert.match(html, /deadbeef/, 'git revision');
  assert.match(html, /abc123/, 'agent hash');
  assert.match(html, /-O3 -std=gnu11/, 'agent flags');
  assert.match(html, /5 min 00 s/, 'run wall time');
  assert.match(html, /block 4x1 does not divide cout=10/, 'dropped reason');
  assert.match(html, /device lost: disconnected/, 'skipped reason');
  assert.match(html, /12 measured again, 3 still disturbed/, 'disturbed cases per device');
  assert.match(
    html,
    /lost at 2026-01-01T00:01:00.000Z, back after 12\.5 s, lost 1 more time\(s\) while being prepared; BUILD CHANGED from vendor\/phone:13\/OLD\/1:user\/release-keys to vendor\/phone:14\/NEW\/2:user\/release-keys/,
    'a connection gap with a build change',
  );
  assert.match(html, /No LUT given/, 'LUT section explains how to add one');
  assert.match(html, /No mapping given/);
  // Self-contained: no external script, stylesheet or image reference.
  assert.doesNotMatch(html, /<script[^>]+src=/i);
  assert.doesNotMatch(html, /<link[^>]+href=/i);
  assert.doesNotMatch(html, /https?:\/\/(?!html\.spec)/);
});

test('device and config text is escaped in the page and in the data block', () => {
  const html = renderReport(literalInput(), STUB_ASSETS);
  assert.ok(!html.includes(XSS_NAME), 'the raw device name never appears');
  assert.ok(html.includes(escapeHtml(XSS_NAME)), 'it appears escaped, as text');
  assert.ok(!html.includes('<script>alert(2)'), 'a config value cannot open a script');
  // Exactly the four script elements the renderer writes: data, d3, Plot, page script.
  assert.equal(html.match(/<script\b/g)?.length, 4);
  assert.equal(html.match(/<\/script>/g)?.length, 4);
  const data = JSON.parse(dataBlock(html));
  assert.ok(
    data.devices.some((d: { id: string }) => d.id === XSS_NAME),
    'the name survives as data',
  );
});

test('the data block holds statistics per case, never raw samples, with the speedup over dense', () => {
  const html = renderReport(literalInput(), STUB_ASSETS);
  const data = JSON.parse(dataBlock(html));
  assert.equal(data.cases.medianNs.length, 4);
  assert.ok(!('samplesNs' in data.cases));
  const bcr = data.cases.scheme.findIndex((s: number) => data.schemes[s] === 'bcr');
  assert.equal(data.cases.speedup[bcr], 2.5, 'dense 1 ms / bcr 0.4 ms');
  const xss = data.cases.device.findIndex((d: number) => data.devices[d].id === XSS_NAME);
  assert.equal(data.cases.speedup[xss], 1, 'a dense case is 1x itself');
  assert.deepEqual(
    data.layers.map((l: { model: string; name: string }) => `${l.model}/${l.name}`),
    ['resnet18-cifar10/layer1.0.conv1', `${XSS_NAME}/${XSS_NAME}`],
  );
});

test('LUT and mapping sections render their tables when given', () => {
  const html = renderReport(
    literalInput({
      luts: [
        {
          source: 'lut-host.json',
          deviceId: 'host:test',
          deviceModel: 'Test CPU',
          agentHash: 'abc123',
          createdAt: '2026-01-01T00:00:00.000Z',
          entries: 3,
          families: [
            {
              family: 'conv3x3 bcr 4x1 t1',
              shapes: 4,
              points: 12,
              modelKind: 'linear, tile 64',
              heldOut: 12,
              within10: 0.75,
              mape: 0.08,
              interpolationWithin10: null,
            },
          ],
          pairs: [
            {
              family: 'conv3x3 bcr 4x1 t1',
              shapeKey: 's',
              density: 0.25,
              predictedNs: 1,
              measuredNs: 1,
              heldOut: true,
            },
          ],
        },
      ],
      mappings: [
        {
          source: 'mapping.json',
          model: 'resnet18-cifar10',
          deviceId: 'host:test',
          mapper: 'search',
          layers: [
            {
              layer: 'conv1',
              scheme: 'bcr',
              block: '4x1',
              sparsity: 0.75,
              predictedNs: 4e5,
              source: 'measured',
              measuredNs: 5e5,
              proxy: 0.9,
            },
          ],
          totalPredictedNs: 4e5,
          totalMeasuredNs: 5e5,
          proxy: 0.9,
          baselines: [{ name: 'all dense', predictedNs: 1e6, proxy: 1 }],
          measuredTable: {
            metric: 'top1',
            denseValue: 0.98,
            targetDrop: 0.01,
            samples: 359,
            dataPath: 'test.npz',
            method: 'stated figures, not a measurement',
            rows: [
              measuredRow({ name: 'mapping', kind: 'mapping', predictedNs: 4e5, mappingPredictedSpeedup: 1 }),
              measuredRow({
                name: 'all bcr 4x1',
                kind: 'baseline',
                predictedNs: 6e5,
                mappingPredictedSpeedup: 1.5,
              }),
              measuredRow({ name: 'all unstructured', kind: 'baseline', reached: false }),
            ],
            bestBaseline: { name: 'all bcr 4x1', predictedSpeedup: 1.5, measuredSpeedup: null },
          },
        },
      ],
    }),
    STUB_ASSETS,
  );
  assert.match(html, /conv3x3 bcr 4x1 t1/);
  assert.match(html, /75\.0%/);
  assert.match(html, /chart-lut-scatter/);
  assert.match(html, /search mapper/);
  assert.match(html, /25\.0% against predicted/, 'verified total against predicted');
  assert.match(html, /chart-mapping-totals/);
  assert.match(html, /Measured at equal accuracy/);
  assert.match(
    html,
    /best uniform baseline at equal measured drop: all bcr 4x1; the mapping is 1\.50× faster/,
  );
  assert.match(html, /not compared/, 'a baseline that never reaches the drop says so');
});

function measuredRow(fields: Partial<ReportMeasuredRow> & { name: string; kind: string }): ReportMeasuredRow {
  return {
    uniformSparsity: fields.kind === 'mapping' ? null : 0.5,
    overallSparsity: 0.5,
    reached: true,
    metricValue: 0.97,
    drop: 0.01,
    predictedNs: 5e5,
    measuredNs: null,
    predictedSpeedupOverDense: 2,
    measuredSpeedupOverDense: null,
    mappingPredictedSpeedup: 1.25,
    mappingMeasuredSpeedup: null,
    note: '',
    ...fields,
  };
}

test('a capped failure list says how many there were', () => {
  const html = renderReport(literalInput({ failuresTotal: 5000 }), STUB_ASSETS);
  assert.match(html, /The first 2 of 5000 are listed/);
  assert.doesNotMatch(renderReport(literalInput(), STUB_ASSETS), /are listed/);
});
