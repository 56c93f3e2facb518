/**
 * The pure half of `npm run bench:kernels`: which cases it plans, and how results become speedups and
 * target verdicts. Inputs here are literal outcomes chosen to make the arithmetic checkable, not figures
 * measured anywhere.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchCases, benchLayers, gemmShape, planLine, SPARSITIES, variantsFor } from './cases.ts';
import { type CaseOutcome, gemmKey, median, summarize } from './summarize.ts';

test('median of odd and even samples; an empty sample is an error', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), RangeError);
});

test('layers: ResNet-50 distinct 1x1 and 3x3 convs plus two FC sizes; quick keeps one of each group', () => {
  const all = benchLayers(false);
  const keys = all.map((l) => l.key);
  assert.equal(new Set(keys).size, keys.length, 'no duplicate shapes');
  assert.ok(keys.includes('conv 64->256 k1 s1 p0 @56x56'));
  assert.ok(keys.includes('conv 512->2048 k1 s1 p0 @7x7'));
  assert.ok(keys.includes('conv 64->64 k3 s1 p1 @56x56'));
  assert.ok(keys.includes('conv 512->512 k3 s1 p1 @7x7'));
  assert.ok(keys.includes('fc 2048->1000'));
  assert.ok(!keys.some((k) => k.includes(' k7 ')), 'the 7x7 stem is neither 1x1 nor 3x3');
  assert.deepEqual(
    benchLayers(true).map((l) => l.group),
    ['1x1', '3x3', 'fc'],
  );
});

test('cases: dense once per layer, every variant at every sparsity, 1 and 2 threads on large layers', () => {
  const layers = benchLayers(true);
  const cases = benchCases(layers);
  assert.equal(new Set(cases.map((c) => c.id)).size, cases.length, 'ids are unique');
  for (const layer of layers) {
    const mine = cases.filter((c) => c.layer.key === layer.key && c.role === 'scheme');
    assert.equal(mine.filter((c) => c.variant.scheme === 'dense').length, 1);
    assert.equal(mine.length, 1 + variantsFor(layer.group).length * SPARSITIES.length);
    const pairs = cases.filter((c) => c.layer.key === layer.key && c.role === 'threads');
    assert.equal(pairs.length, layer.threadsPair ? 4 : 0);
  }
  assert.ok(variantsFor('3x3').some((v) => v.scheme === 'pattern'));
  assert.ok(!variantsFor('1x1').some((v) => v.scheme === 'pattern'));
});

test('plan lines: conv geometry, fc in/out, a block only for the block schemes', () => {
  const [conv, , fc] = benchLayers(true);
  assert.ok(conv && fc);
  const cases = benchCases([conv, fc]);
  const bcr = cases.find((c) => c.layer === conv && c.variant.scheme === 'bcr');
  const dense = cases.find((c) => c.layer === fc && c.variant.scheme === 'dense');
  assert.ok(bcr && dense);
  const line = planLine(bcr, { minReps: 3 });
  assert.equal(line.op, 'conv');
  assert.ok(line.op === 'conv' && line.k === 1 && line.block === bcr.variant.block && line.minReps === 3);
  const fcLine = planLine(dense, {});
  assert.ok(fcLine.op === 'fc' && fcLine.in === 4096 && fcLine.out === 1024 && !('block' in fcLine));
  assert.deepEqual(gemmShape(conv.shape), {
    m: conv.shape.cout,
    k: conv.shape.cin,
    n: conv.shape.h * conv.shape.w,
  });
  assert.deepEqual(gemmShape(fc.shape), { m: 1024, k: 4096, n: 1 });
});

test('summary: speedup over the dense median, ideal 1/d, refusals kept, targets decided by the worst layer', () => {
  const layers = benchLayers(true);
  const cases = benchCases(layers);
  const outcomes = new Map<string, CaseOutcome>();
  for (const c of cases) {
    const dense = c.variant.scheme === 'dense';
    const density = dense ? 1 : 1 - c.sparsity;
    if (c.variant.scheme === 'pattern' && c.sparsity === 0.5) {
      outcomes.set(c.id, { ok: false, error: 'pattern keeps 4 of 9 taps' });
      continue;
    }
    // Literal inputs: dense takes 1000 ns; bcr runs at 80% of 1/d, everything else at 40%; 2 threads 1.5x.
    const efficiency = dense ? 1 : c.variant.scheme === 'bcr' ? 0.8 : 0.4;
    const medianNs = (1000 * density) / efficiency / (c.threads === 2 ? 1.5 : 1);
    outcomes.set(c.id, { ok: true, medianNs, samples: 10, density, flops: 2e6 * density, kernel: 'k' });
  }
  const [conv1] = layers;
  assert.ok(conv1);
  const { m, k, n } = gemmShape(conv1.shape);
  const blas = new Map([[gemmKey(m, k, n), 900]]);
  const s = summarize(layers, cases, outcomes, blas);

  const table = s.layers[0];
  const bcr = table?.rows.find((r) => r.variant === 'bcr 8x4')?.cells.find((c) => c.sparsity === 0.75);
  assert.ok(bcr?.speedup !== undefined && bcr.ideal !== undefined);
  assert.ok(Math.abs(bcr.speedup - 0.8 * 4) < 1e-9);
  assert.ok(Math.abs(bcr.ideal - 4) < 1e-9);
  assert.equal(table?.denseGflops, 2e6 / 1000);

  const pattern = s.layers[1]?.rows.find((r) => r.variant === 'pattern');
  assert.equal(pattern?.cells.find((c) => c.sparsity === 0.5)?.error, 'pattern keeps 4 of 9 taps');

  assert.equal(s.blas[0]?.ratio, 0.9);
  const verdict = (prefix: string) => s.targets.find((t) => t.target.startsWith(prefix));
  assert.equal(verdict('dense >= 0.8x')?.met, true);
  assert.equal(verdict('bcr (4- or 8-row blocks) >= 2.0x')?.met, true); // 3.2x
  assert.equal(verdict('bcr (4- or 8-row blocks) >= 4.0x')?.met, true); // 8x
  const pat = verdict('pattern');
  assert.equal(pat?.met, false); // 0.4 * 4 = 1.6x < 2x
  assert.ok(pat?.worst !== undefined && Math.abs(pat.worst - 1.6) < 1e-9);
  const thr = verdict('2 threads');
  assert.equal(thr?.met, false); // 1.5x < 1.6x
  assert.equal(thr?.figures.length, s.threads.length);
});

test('summary: a target with nothing measured is not met', () => {
  const layers = benchLayers(true);
  const s = summarize(layers, benchCases(layers), new Map(), new Map());
  for (const t of s.targets) {
    assert.equal(t.met, false);
    assert.equal(t.worst, undefined);
  }
  assert.equal(s.layers[0]?.dense.ok, false);
});
