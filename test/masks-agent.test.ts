/**
 * The TypeScript masks (cost-model/masks.ts) against the agent's own: for many shapes (odd sizes included),
 * every scheme, block sizes, sparsities and bcrRowShare, the real host agent masks its seeded weights and
 * reports `maskFnv1a`, a hash of the whole keep-mask; the same seeded weights (cost-model/mappers/
 * seeded-weights.ts, bit for bit the agent's) masked in TypeScript must hash the same. One agent call, one
 * repetition per case, small shapes: a couple of seconds. A sample of the grid runs on the arm64 agent too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape, dwconvShape, fcShape, gemmCols, gemmRows } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { SCHEMES } from '../config/vocabulary.ts';
import { seededWeights } from '../cost-model/mappers/seeded-weights.ts';
import { computeMask, type MaskSpec, maskFnv1a, maskProblem } from '../cost-model/masks.ts';
import { runAgent } from './agent-harness.ts';

const SHAPES: readonly LayerShape[] = [
  convShape(3, 8, 7, 3, 1, 1), // stem: 3 input channels, channel pruning hits the "one unit stays" rule
  convShape(6, 12, 5, 3, 2, 1),
  convShape(7, 9, 5, 3, 1, 1), // odd everything
  convShape(12, 20, 4, 1, 1, 0),
  convShape(4, 6, 6, 5, 1, 2),
  dwconvShape(8, 6, 3, 1, 1),
  fcShape(30, 24),
  fcShape(17, 13),
];
const BLOCKS = ['1x1', '2x2', '4x1', '4x2', '3x3', '8x4', '2x8'];
const SPARSITIES = [0.3, 0.5, 0.6, 0.75, 0.9];

interface Case {
  readonly shape: LayerShape;
  readonly spec: MaskSpec;
  readonly seed: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  SHAPES.forEach((shape, s) => {
    for (const scheme of SCHEMES) {
      const blocks = scheme === 'bcr' || scheme === 'block-punched' ? BLOCKS : [null];
      const sparsities = scheme === 'dense' ? [0] : SPARSITIES;
      const shares = scheme === 'bcr' ? [0, 0.3, 1] : [undefined];
      for (const block of blocks)
        for (const sparsity of sparsities)
          for (const share of shares) {
            const spec: MaskSpec = {
              scheme,
              block,
              sparsity,
              ...(share === undefined ? {} : { bcrRowShare: share }),
            };
            if (maskProblem(shape, spec) === undefined) out.push({ shape, spec, seed: 1 + s + out.length });
          }
    }
  });
  return out;
}

function planLine(c: Case, id: string): string {
  const geometry =
    c.shape.op === 'fc'
      ? { op: 'fc', in: c.shape.cin, out: c.shape.cout }
      : {
          op: c.shape.op,
          cin: c.shape.cin,
          cout: c.shape.cout,
          h: c.shape.h,
          w: c.shape.w,
          k: c.shape.k,
          stride: c.shape.stride,
          pad: c.shape.pad,
        };
  return JSON.stringify({
    id,
    ...geometry,
    scheme: c.spec.scheme,
    ...(c.spec.block === null ? {} : { block: c.spec.block }),
    sparsity: c.spec.sparsity,
    ...(c.spec.bcrRowShare === undefined ? {} : { bcrRowShare: c.spec.bcrRowShare }),
    seed: c.seed,
    warmup: 0,
    minReps: 1,
    minTimeMs: 0,
  });
}

interface AgentResult {
  readonly type: string;
  readonly id: string;
  readonly status: string;
  readonly error?: string;
  readonly density: number;
  readonly keptBlocks: number;
  readonly keptEnergy: number;
  readonly maskFnv1a?: string;
}

test('TypeScript masks hash the same as the agent masks, over every scheme, many shapes and sparsities', () => {
  const all = cases();
  assert.ok(all.length > 300, `expected a broad grid, built ${all.length} cases`);
  for (const scheme of SCHEMES)
    assert.ok(
      all.some((c) => c.spec.scheme === scheme),
      `no ${scheme} case`,
    );
  const plan = all.map((c, i) => planLine(c, `m${i}`)).join('\n');
  const run = runAgent('host', ['run'], { input: `${plan}\n`, timeoutMs: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const results = new Map<string, AgentResult>();
  for (const line of run.lines) {
    const parsed = JSON.parse(line) as AgentResult;
    if (parsed.type === 'result') results.set(parsed.id, parsed);
  }
  const mismatches: string[] = [];
  all.forEach((c, i) => {
    const result = results.get(`m${i}`);
    const what = `${c.shape.op} ${c.shape.cin}->${c.shape.cout} k${c.shape.k} ${c.spec.scheme} ${c.spec.block ?? '-'} s${c.spec.sparsity} share ${c.spec.bcrRowShare ?? '-'}`;
    if (result?.status !== 'ok') {
      mismatches.push(`${what}: agent said ${result?.error ?? 'nothing'}`);
      return;
    }
    const mask = computeMask(seededWeights(gemmRows(c.shape) * gemmCols(c.shape), c.seed), c.shape, c.spec);
    if (result.maskFnv1a !== maskFnv1a(mask.mask)) {
      mismatches.push(`${what}: agent hash ${result.maskFnv1a}, ours ${maskFnv1a(mask.mask)}`);
    }
    if (result.density !== mask.density || result.keptBlocks !== mask.keptBlocks) {
      mismatches.push(
        `${what}: agent density ${result.density} blocks ${result.keptBlocks}, ours ${mask.density} ${mask.keptBlocks}`,
      );
    }
    if (Math.abs(result.keptEnergy - mask.keptEnergy) > 1e-12) {
      mismatches.push(`${what}: agent keptEnergy ${result.keptEnergy}, ours ${mask.keptEnergy}`);
    }
  });
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${all.length} cases differ`);
});

test('a sparse mask differs from the dense one and its hash says so (the comparison can fail)', () => {
  const shape = convShape(6, 12, 5, 3, 1, 1);
  const weights = seededWeights(gemmRows(shape) * gemmCols(shape), 3);
  const dense = computeMask(weights, shape, { scheme: 'dense', block: null, sparsity: 0 });
  const pruned = computeMask(weights, shape, { scheme: 'bcr', block: '4x2', sparsity: 0.5 });
  const flipped = Uint8Array.from(pruned.mask);
  flipped[7] = flipped[7] === 1 ? 0 : 1;
  assert.notEqual(maskFnv1a(dense.mask), maskFnv1a(pruned.mask));
  assert.notEqual(maskFnv1a(flipped), maskFnv1a(pruned.mask));
});

test('the arm64 agent (under qemu) masks the same: a sample of the grid hashes the same as in TypeScript', () => {
  const sample = cases().filter((_, i) => i % 40 === 0);
  const plan = sample.map((c, i) => planLine(c, `a${i}`)).join('\n');
  const run = runAgent('arm64', ['run'], { input: `${plan}\n`, timeoutMs: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const hashes = new Map<string, string | undefined>();
  for (const line of run.lines) {
    const parsed = JSON.parse(line) as AgentResult;
    if (parsed.type === 'result') hashes.set(parsed.id, parsed.maskFnv1a);
  }
  sample.forEach((c, i) => {
    const mask = computeMask(seededWeights(gemmRows(c.shape) * gemmCols(c.shape), c.seed), c.shape, c.spec);
    assert.equal(
      hashes.get(`a${i}`),
      maskFnv1a(mask.mask),
      `${c.spec.scheme} ${c.spec.block ?? '-'} on arm64`,
    );
  });
});
