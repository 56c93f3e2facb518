/**
 * The anchor's arithmetic on literal medians chosen to make it checkable (not figures measured anywhere): the
 * anchor's shapes, ORT/agent ratios, the best dense of three, shares of 1/d, and the two targets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geomean, summarizeAnchor } from './anchor.ts';
import { ANCHOR_THREADS, anchorCases, anchorLayers, shapeClass } from './anchor-cases.ts';
import { type BenchLayer, benchCases, gemmShape } from './cases.ts';
import { type CaseOutcome, gemmKey, summarize } from './summarize.ts';

test('anchor layers: every distinct conv and depthwise shape of the four models; quick keeps one per class', () => {
  const all = anchorLayers(false);
  assert.equal(new Set(all.map((l) => l.key)).size, all.length);
  assert.equal(all.length, 68);
  const classes = new Set(all.map((l) => shapeClass(l.shape)));
  for (const c of ['3x3 s1', '3x3 s2', '1x1 s1', '1x1 s2', 'dw 3x3 s1', 'dw 3x3 s2', 'stem 7x7 s2'])
    assert.ok(classes.has(c), `class ${c} is present`);
  assert.equal(anchorLayers(true).length, classes.size);
  const cases = anchorCases(all);
  assert.equal(cases.length, all.length * ANCHOR_THREADS.length);
  assert.ok(cases.every((c) => c.role === 'anchor' && c.variant.scheme === 'dense' && c.sparsity === 0));
});

const ok = (medianNs: number, density = 1): CaseOutcome => ({
  ok: true,
  medianNs,
  samples: 10,
  density,
  flops: 1e6,
  kernel: 'k',
});

test('ratios, the best dense of three, shares of 1/d and the targets', () => {
  const layer = anchorLayers(true).find((l) => l.key === 'conv 64->64 k1 s1 p0 @56x56') as BenchLayer;
  const schemeLayer: BenchLayer = { ...layer, group: '1x1', threadsPair: false };
  const schemeCases = benchCases([schemeLayer]);
  const outcomes = new Map<string, CaseOutcome>();
  // Agent dense 100 us; every scheme at 75% takes 40 us with density 0.25, elsewhere 80 us at density 0.5.
  for (const c of schemeCases)
    outcomes.set(
      c.id,
      c.variant.scheme === 'dense' ? ok(100e3) : c.sparsity === 0.75 ? ok(40e3, 0.25) : ok(80e3, 0.5),
    );
  const anchor = anchorCases([layer]);
  outcomes.set(anchor[0]?.id as string, ok(100e3));
  outcomes.set(anchor[1]?.id as string, ok(60e3));
  const { m, k, n } = gemmShape(layer.shape);
  const blasNs = new Map([[gemmKey(m, k, n), 90e3]]);
  const summary = summarize([schemeLayer], schemeCases, outcomes, blasNs);
  const ort = new Map([[layer.key, { t1Ns: 80e3, t2Ns: 66e3, t1WallNs: 100e3, callNs: 8e3 }]]);
  const result = summarizeAnchor({
    anchorLayers: [layer],
    schemeLayers: [schemeLayer],
    schemeTables: summary.layers,
    cases: [...schemeCases, ...anchor],
    outcomes,
    blasNs,
    ort,
  });
  const row = result.rows[0];
  assert.equal(row?.ratioT1, 0.8, 'ORT 80 us / agent 100 us');
  assert.equal(row?.ratioT2, 1.1, 'ORT 66 us / agent 60 us');
  assert.equal(row?.callShare, 0.08, 'the call, 8 us, of the Node wall time, 100 us');
  assert.equal(row?.blasNs, 90e3);
  assert.equal(row?.ratioBlas, 0.9, 'OpenBLAS 90 us / agent 100 us');
  const best = result.best[0];
  assert.equal(best?.best, 'ONNX Runtime');
  assert.equal(best?.bestNs, 80e3);
  const cell = best?.rows[0]?.cells.find((c) => c.sparsity === 0.75);
  assert.equal(cell?.overBest, 2, 'best dense 80 us / scheme 40 us');
  assert.equal(cell?.shareOfIdeal, 0.5, '2x at density 0.25 is half of 1/d');
  assert.equal(cell?.overOrt, 2);
  const [t1, t2, fastest, pruned] = result.targets;
  assert.equal(fastest?.figures.length, 0, 'no fastest samples given, nothing judged');
  assert.equal(fastest?.met, false);
  assert.equal(t1?.met, false);
  assert.equal(t1?.worst, 0.8);
  assert.equal(t2?.met, true);
  assert.equal(pruned?.worst, 2);
  assert.equal(pruned?.met, false, '2x is short of 3.5x');
});

test('geomean', () => {
  assert.ok(Math.abs(geomean([2, 8]) - 4) < 1e-12);
  assert.throws(() => geomean([]), RangeError);
});
