import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape, dwconvShape, fcShape } from '../../config/shape.ts';
import type { MeasurementPolicy, ModelTable, SweepSpec } from '../../config/types.ts';
import { CONSERVATIVE_RATE_MODEL, estimateCaseMs, type RateModel } from './estimate.ts';
import { infeasibleReason } from './feasibility.ts';
import { canonicalJson, caseKey } from './key.ts';
import { toPlanLine } from './plan-line.ts';
import { interleave, type PlanOptions, planSweep } from './planner.ts';
import type { PlanModel, PlannedCase } from './types.ts';

const POLICY: MeasurementPolicy = { warmup: 2, minReps: 10, minTimeMs: 100, maxReps: 1000, maxTimeMs: 1000 };

/** Two tiny models that share one 3x3 shape (`net-a/c3` and `net-b/first`). */
const NET_A: ModelTable = {
  name: 'net-a',
  dataset: 'cifar10',
  layers: [
    { name: 'c3', shape: convShape(8, 16, 8, 3, 1, 1) },
    { name: 'c1', shape: convShape(16, 32, 8, 1, 1, 0) },
    { name: 'dw', shape: dwconvShape(32, 8, 3, 1, 1) },
    { name: 'fc', shape: fcShape(32, 10) },
  ],
};
const NET_B: ModelTable = {
  name: 'net-b',
  dataset: 'cifar10',
  layers: [
    { name: 'first', shape: convShape(8, 16, 8, 3, 1, 1) },
    { name: 'again', shape: convShape(8, 16, 8, 3, 1, 1) },
  ],
};

function spec(overrides: Partial<SweepSpec> = {}): SweepSpec {
  return {
    models: ['net-a', 'net-b'],
    perLayer: false,
    schemes: ['dense', 'unstructured', 'bcr'],
    blocks: [{ rows: 4, cols: 4 }],
    sparsities: [0.5, 0.75],
    threads: [1],
    backends: ['cpu'],
    seed: 7,
    measurement: POLICY,
    ...overrides,
  };
}

const OPTIONS: PlanOptions = { maxCasesPerBatch: 100, targetBatchMs: 60_000 };

function describe(plannedCase: PlannedCase): string {
  const block = plannedCase.block === undefined ? '' : ` ${plannedCase.block}`;
  return `${plannedCase.scheme}${block} ${plannedCase.sparsity} t${plannedCase.threads}`;
}

test('drop rules mirror the agent (device-agent/src/prune.c), with its wording', () => {
  const conv3 = convShape(3, 64, 32, 3, 1, 1); // GEMM 64 x 27
  const conv1 = convShape(64, 128, 32, 1, 2, 0);
  const fc = fcShape(512, 10);
  const dw = dwconvShape(96, 112, 3, 2, 1);
  const block = (rows: number, cols: number) => ({ rows, cols });

  // pattern: 3x3 conv only, and at least 5/9 sparsity (it keeps 4 of 9 taps)
  assert.equal(infeasibleReason(conv3, 'pattern', undefined, 0.75), undefined);
  assert.equal(infeasibleReason(conv3, 'pattern', undefined, 5 / 9), undefined);
  assert.equal(
    infeasibleReason(conv3, 'pattern', undefined, 0.5),
    'pattern keeps 4 of 9 taps (density <= 0.444), so sparsity must be >= 0.556, got 0.5; use unstructured below that',
  );
  assert.equal(
    infeasibleReason(conv1, 'pattern', undefined, 0.75),
    'pattern needs a 3x3 conv, got conv with k=1',
  );
  assert.equal(infeasibleReason(fc, 'pattern', undefined, 0.75), 'pattern needs a 3x3 conv, got fc with k=1');
  // depthwise: dense only
  const dwReason = (scheme: string) =>
    `dwconv supports only the dense scheme, got ${scheme} (a depthwise kernel has k*k weights per channel: nothing to prune in blocks)`;
  assert.equal(infeasibleReason(dw, 'pattern', undefined, 0.75), dwReason('pattern'));
  assert.equal(infeasibleReason(dw, 'unstructured', undefined, 0.5), dwReason('unstructured'));
  assert.equal(infeasibleReason(dw, 'bcr', block(4, 1), 0.5), dwReason('bcr'));
  assert.equal(infeasibleReason(dw, 'dense', undefined, 0), undefined);

  // bcr divides the GEMM columns cin*k*k = 27; block-punched divides cin = 3.
  assert.equal(infeasibleReason(conv3, 'bcr', block(8, 9), 0.5), undefined);
  assert.equal(infeasibleReason(conv3, 'bcr', block(8, 4), 0.5), 'block 8x4 does not divide cin*k*k=27');
  assert.equal(infeasibleReason(conv3, 'block-punched', block(8, 3), 0.5), undefined);
  assert.equal(infeasibleReason(conv3, 'block-punched', block(8, 9), 0.5), 'block 8x9 does not divide cin=3');
  assert.equal(
    infeasibleReason(convShape(3, 60, 32, 3, 1, 1), 'bcr', block(8, 1), 0.5),
    'block 8x1 does not divide cout=60',
  );
  // k = 1 (1x1 conv, and FC): the columns are cin, and the agent says so.
  assert.equal(
    infeasibleReason(convShape(6, 64, 8, 1, 1, 0), 'bcr', block(4, 4), 0.5),
    'block 4x4 does not divide cin=6',
  );
  assert.equal(infeasibleReason(fc, 'bcr', block(2, 8), 0.5), undefined);
  assert.equal(infeasibleReason(fc, 'bcr', block(4, 8), 0.5), 'block 4x8 does not divide cout=10');
  assert.equal(
    infeasibleReason(fcShape(100, 10), 'block-punched', block(5, 8), 0.5),
    'block 5x8 does not divide cin=100',
  );
  // Non-block schemes ignore blocks; they work on conv and fc at any sparsity in [0, 1).
  for (const scheme of ['unstructured', 'filter', 'channel'] as const) {
    assert.equal(infeasibleReason(conv1, scheme, undefined, 0.9), undefined);
    assert.equal(infeasibleReason(fc, scheme, undefined, 0.1), undefined);
  }
  assert.equal(
    infeasibleReason(conv3, 'bcr', undefined, 0.5),
    'bcr needs a block BRxBC with BR, BC >= 1, got none',
  );
  assert.equal(infeasibleReason(conv3, 'unstructured', undefined, 1), 'sparsity must be in [0, 1), got 1');
  assert.equal(
    infeasibleReason(conv3, 'dense', undefined, 0.5),
    'scheme dense removes nothing: sparsity must be 0, got 0.5',
  );
});

test('identical shapes are planned once and list every layer that has them, across models', () => {
  const plan = planSweep(spec({ schemes: ['dense'] }), [NET_A, NET_B], OPTIONS);
  assert.deepEqual(
    plan.cases.map((c) => c.layers),
    [['net-a/c3', 'net-b/first', 'net-b/again'], ['net-a/c1'], ['net-a/dw'], ['net-a/fc']],
  );
});

test('dense once per (shape, threads) with sparsity 0; sparse schemes once per sparsity and block', () => {
  const plan = planSweep(spec({ threads: [1, 2] }), [NET_A], OPTIONS);
  const conv3 = plan.cases.filter((c) => c.layers[0] === 'net-a/c3');
  assert.deepEqual(conv3.map(describe), [
    'dense 0 t1',
    'unstructured 0.5 t1',
    'bcr 4x4 0.5 t1',
    'unstructured 0.75 t1',
    'bcr 4x4 0.75 t1',
    'dense 0 t2',
    'unstructured 0.5 t2',
    'bcr 4x4 0.5 t2',
    'unstructured 0.75 t2',
    'bcr 4x4 0.75 t2',
  ]);
  const dw = plan.cases.filter((c) => c.layers[0] === 'net-a/dw');
  assert.deepEqual(dw.map(describe), ['dense 0 t1', 'dense 0 t2']);
});

const DW_UNSTRUCTURED =
  'dwconv supports only the dense scheme, got unstructured (a depthwise kernel has k*k weights per channel: nothing to prune in blocks)';
const DW_BCR =
  'dwconv supports only the dense scheme, got bcr (a depthwise kernel has k*k weights per channel: nothing to prune in blocks)';

test('dropped cases carry the reason, every layer of the shape, and are not planned', () => {
  const plan = planSweep(spec(), [NET_A], OPTIONS);
  assert.deepEqual(
    plan.dropped.map((d) => `${d.layer} ${d.scheme} ${d.block ?? '-'} ${d.sparsity}: ${d.reason}`),
    [
      `net-a/dw unstructured - 0.5: ${DW_UNSTRUCTURED}`,
      `net-a/dw unstructured - 0.75: ${DW_UNSTRUCTURED}`,
      `net-a/dw bcr 4x4 0.5: ${DW_BCR}`,
      `net-a/dw bcr 4x4 0.75: ${DW_BCR}`,
      'net-a/fc bcr 4x4 0.5: block 4x4 does not divide cout=10',
      'net-a/fc bcr 4x4 0.75: block 4x4 does not divide cout=10',
    ],
  );
  const keys = new Set(plan.cases.map(describe));
  assert.equal(plan.cases.filter((c) => c.shape.op === 'fc' && c.scheme === 'bcr').length, 0);
  assert.ok(keys.size > 0);
});

test('interleaving rotates through the schemes of one shape, then through their blocks and sparsities', () => {
  assert.deepEqual(interleave([['a1', 'a2', 'a3'], ['b1'], ['c1', 'c2']]), [
    'a1',
    'b1',
    'c1',
    'a2',
    'c2',
    'a3',
  ]);
  const plan = planSweep(
    spec({
      schemes: ['unstructured', 'pattern', 'bcr', 'dense'],
      blocks: [
        { rows: 4, cols: 4 },
        { rows: 8, cols: 4 },
      ],
      sparsities: [0.6, 0.9],
    }),
    [NET_B],
    OPTIONS,
  );
  assert.deepEqual(plan.cases.map(describe), [
    'unstructured 0.6 t1',
    'pattern 0.6 t1',
    'bcr 4x4 0.6 t1',
    'dense 0 t1',
    'unstructured 0.9 t1',
    'pattern 0.9 t1',
    'bcr 8x4 0.6 t1',
    'bcr 4x4 0.9 t1',
    'bcr 8x4 0.9 t1',
  ]);
});

test('batches respect the case count and the target duration, keep the order, and sum to the estimate', () => {
  const byCount = planSweep(spec(), [NET_A, NET_B], {
    ...OPTIONS,
    maxCasesPerBatch: 4,
    estimateMs: () => 10,
  });
  // c3/first/again: 5 cases, c1: 5, dw: dense only, fc: dense + 2 unstructured (bcr 4x4 does not divide 10)
  assert.equal(byCount.cases.length, 14);
  assert.deepEqual(
    byCount.batches.map((b) => b.cases.length),
    [4, 4, 4, 2],
  );
  assert.deepEqual(
    byCount.batches.flatMap((b) => b.cases),
    byCount.cases,
  );
  assert.deepEqual(
    byCount.batches.map((b) => b.index),
    [0, 1, 2, 3],
  );

  const byTime = planSweep(spec(), [NET_A, NET_B], {
    maxCasesPerBatch: 100,
    targetBatchMs: 25,
    estimateMs: () => 10,
    batchOverheadMs: 5,
  });
  assert.deepEqual(
    byTime.batches.map((b) => [b.cases.length, b.estimatedMs]),
    [
      [2, 25],
      [2, 25],
      [2, 25],
      [2, 25],
      [2, 25],
      [2, 25],
      [2, 25],
    ],
  );
  assert.equal(byTime.estimatedMs, 7 * 25);
  assert.equal(byTime.estimateBasis, 'caller-supplied estimate');

  // A case longer than the target still gets a batch of its own.
  const oversized = planSweep(spec({ schemes: ['dense'] }), [NET_A], {
    ...OPTIONS,
    targetBatchMs: 1,
    estimateMs: () => 50,
  });
  assert.deepEqual(
    oversized.batches.map((b) => b.cases.length),
    [1, 1, 1, 1],
  );
});

test('case keys: same parameters same key, any parameter changes it, layer names do not', () => {
  const first = planSweep(spec(), [NET_A, NET_B], OPTIONS);
  const again = planSweep(spec(), [NET_B, NET_A], OPTIONS);
  assert.deepEqual(new Set(first.cases.map((c) => c.key)), new Set(again.cases.map((c) => c.key)));
  assert.equal(
    new Set(first.cases.map((c) => c.key)).size,
    first.cases.length,
    'keys are unique within a plan',
  );
  for (const plannedCase of first.cases) {
    assert.match(plannedCase.key, /^[0-9a-f]{16}$/);
    assert.equal(caseKey(plannedCase), plannedCase.key);
  }

  const base = first.cases[0];
  assert.ok(base);
  const variants: PlannedCase[] = [
    { ...base, seed: base.seed + 1 },
    { ...base, threads: 2 },
    { ...base, sparsity: 0.25 },
    { ...base, scheme: 'filter' },
    { ...base, block: '4x4' },
    { ...base, measurement: { ...base.measurement, minReps: 11 } },
    { ...base, shape: { ...base.shape, pad: 0 } },
  ];
  for (const variant of variants) assert.notEqual(caseKey(variant), base.key);
  const renamed: PlannedCase = { ...base, layers: ['other/layer'] };
  assert.equal(caseKey(renamed), base.key);
  // Field order never matters: the key hashes canonical JSON.
  const reordered = {
    measurement: base.measurement,
    seed: base.seed,
    threads: base.threads,
    backend: base.backend,
    sparsity: base.sparsity,
    block: base.block,
    scheme: base.scheme,
    shape: base.shape,
  };
  assert.equal(caseKey(reordered), base.key);
});

test('case keys are stable across releases (golden value: changing it orphans stored tasks)', () => {
  const key = caseKey({
    shape: convShape(64, 64, 32, 3, 1, 1),
    scheme: 'bcr',
    block: '8x4',
    sparsity: 0.75,
    threads: 1,
    backend: 'cpu',
    seed: 1,
    measurement: POLICY,
  });
  assert.equal(key, GOLDEN_KEY);
});

test('backends: gpu cases once with threads 1, keyed apart from cpu; cpu keys and lines unchanged', () => {
  const both = planSweep(spec({ backends: ['cpu', 'gpu'], threads: [1, 2] }), [NET_A, NET_B], OPTIONS);
  const cpu = planSweep(spec({ threads: [1, 2] }), [NET_A, NET_B], OPTIONS);
  const gpu = both.cases.filter((c) => c.backend === 'gpu');
  assert.ok(gpu.length > 0 && gpu.every((c) => c.threads === 1));
  assert.deepEqual(
    both.cases.filter((c) => c.backend === 'cpu').map((c) => c.key),
    cpu.cases.map((c) => c.key),
  );
  assert.equal(gpu.length * 2, cpu.cases.length, 'one gpu case per cpu variant (cpu has 2 thread counts)');
  const keys = new Set(both.cases.map((c) => c.key));
  assert.equal(keys.size, both.cases.length, 'a gpu case never shares a cpu key');
  const first = gpu[0];
  assert.ok(first);
  assert.equal(toPlanLine(first, 'x').backend, 'gpu');
  assert.equal(toPlanLine(cpu.cases[0] ?? first, 'x').backend, undefined);
  assert.deepEqual(both.dropped, cpu.dropped, 'feasibility does not depend on the backend');
});

const GOLDEN_KEY = '86e60f0ab859c5c3';

test('canonicalJson sorts keys at every level and leaves out undefined fields', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: undefined } }),
    '{"a":{"d":[2,{"y":null,"z":1}]},"b":1}',
  );
});

test('toPlanLine: conv and fc lines with the policy, block only for block schemes, cpus when given', () => {
  const plan = planSweep(spec(), [NET_A], OPTIONS);
  const bcr = plan.cases.find((c) => c.scheme === 'bcr' && c.shape.op === 'conv');
  const fc = plan.cases.find((c) => c.scheme === 'unstructured' && c.shape.op === 'fc');
  assert.ok(bcr && fc);
  assert.deepEqual(toPlanLine(bcr, 'c1', [4, 5]), {
    id: 'c1',
    op: 'conv',
    cin: 8,
    cout: 16,
    h: 8,
    w: 8,
    k: 3,
    stride: 1,
    pad: 1,
    scheme: 'bcr',
    block: '4x4',
    sparsity: 0.5,
    threads: 1,
    cpus: [4, 5],
    seed: 7,
    warmup: 2,
    minReps: 10,
    minTimeMs: 100,
    maxReps: 1000,
    maxTimeMs: 1000,
  });
  const fcLine = toPlanLine(fc, 'c2');
  assert.deepEqual(fcLine, {
    id: 'c2',
    op: 'fc',
    in: 32,
    out: 10,
    scheme: 'unstructured',
    sparsity: 0.5,
    threads: 1,
    seed: 7,
    warmup: 2,
    minReps: 10,
    minTimeMs: 100,
    maxReps: 1000,
    maxTimeMs: 1000,
  });
  assert.equal('block' in fcLine, false);
  assert.equal('cpus' in fcLine, false);
});

test('estimateCaseMs follows the agent loop: warm-up, max(minReps, minTime), caps, plus preparation', () => {
  // fc 1000 -> 1000: 2 MFLOP per run; at 2 GFLOP/s one run takes exactly 1 ms.
  const model: RateModel = {
    denseEquivalentGflops: 2,
    prepareNsPerWeight: 100,
    perCaseOverheadMs: 2,
    perBatchOverheadMs: 0,
  };
  const base: PlannedCase = {
    key: 'k',
    shape: fcShape(1000, 1000),
    scheme: 'dense',
    block: undefined,
    sparsity: 0,
    threads: 1,
    backend: 'cpu',
    seed: 1,
    measurement: POLICY,
    layers: [],
  };
  // prepare 1e6 weights x 100 ns = 100 ms; warm-up 2 x 1 ms; 100 ms of reps (minTime beats 10 reps); 2 ms
  assert.equal(estimateCaseMs(base, model), 100 + 2 + 100 + 2);
  // minReps beats minTime: 300 reps x 1 ms
  assert.equal(
    estimateCaseMs({ ...base, measurement: { ...POLICY, minReps: 300 } }, model),
    100 + 2 + 300 + 2,
  );
  // maxReps caps the repetitions
  assert.equal(estimateCaseMs({ ...base, measurement: { ...POLICY, maxReps: 20 } }, model), 100 + 2 + 20 + 2);
  // maxTimeMs caps the loop (warm-up included), plus the repetition running when it expires
  assert.equal(
    estimateCaseMs(
      { ...base, measurement: { ...POLICY, minReps: 5000, maxReps: 10000, maxTimeMs: 50 } },
      model,
    ),
    100 + 51 + 2,
  );
});

test('the default estimate says it is an assumption, not a measurement', () => {
  const plan = planSweep(spec(), [NET_A], OPTIONS);
  assert.match(plan.estimateBasis, /^estimate, not a measurement: assumes 2 GFLOP\/s/);
  const sum = plan.cases.reduce((total, c) => total + estimateCaseMs(c, CONSERVATIVE_RATE_MODEL), 0);
  assert.equal(plan.estimatedMs, sum + plan.batches.length * CONSERVATIVE_RATE_MODEL.perBatchOverheadMs);
});

test('planSweep is deterministic and rejects impossible batch options', () => {
  assert.deepEqual(planSweep(spec(), [NET_A, NET_B], OPTIONS), planSweep(spec(), [NET_A, NET_B], OPTIONS));
  assert.throws(
    () => planSweep(spec(), [NET_A], { ...OPTIONS, maxCasesPerBatch: 0 }),
    /maxCasesPerBatch >= 1/,
  );
  assert.throws(() => planSweep(spec(), [NET_A], { ...OPTIONS, targetBatchMs: 0 }), /targetBatchMs > 0/);
});

test('a scheme, block or sparsity listed twice plans each case once', () => {
  const plan = planSweep(
    spec({ schemes: ['dense', 'unstructured', 'dense'], sparsities: [0.5, 0.5] }),
    [NET_B],
    OPTIONS,
  );
  assert.deepEqual(plan.cases.map(describe), ['dense 0 t1', 'unstructured 0.5 t1']);
});

/** An ONNX model as the planner sees it: net-a's first shape twice (two nodes), with a weights file. */
const ONNX_NET: PlanModel = {
  name: 'mine.onnx',
  layers: [
    { name: '/x/Conv', shape: convShape(8, 16, 8, 3, 1, 1) },
    { name: '/y/Conv', shape: convShape(8, 16, 8, 3, 1, 1) },
  ],
  weights: {
    file: `prunelab-weights-${'ab'.repeat(32)}.bin`,
    sha256: 'ab'.repeat(32),
    offsets: new Map([
      ['/x/Conv', 0],
      ['/y/Conv', 4608],
    ]),
  },
};

test('ONNX layers: one node per shape stands for the others, never shared with seeded cases; --per-layer splits', () => {
  const only = { schemes: ['dense', 'unstructured'] as const, sparsities: [0.5] };
  const shared = planSweep(spec(only), [NET_A, ONNX_NET], OPTIONS);
  const real = shared.cases.filter((c) => c.weights !== undefined);
  assert.deepEqual(
    real.map((c) => [c.scheme, c.weights?.node, c.weights?.offset, c.layers]),
    [
      ['dense', '/x/Conv', 0, ['mine.onnx//x/Conv', 'mine.onnx//y/Conv']],
      ['unstructured', '/x/Conv', 0, ['mine.onnx//x/Conv', 'mine.onnx//y/Conv']],
    ],
  );
  // net-a's c3 has the same shape: its seeded cases are planned apart, with other keys.
  const seeded = shared.cases.filter((c) => c.weights === undefined && c.layers.includes('net-a/c3'));
  assert.deepEqual(
    seeded.map((c) => c.layers),
    [['net-a/c3'], ['net-a/c3']],
  );
  for (const c of seeded) assert.ok(!real.some((r) => r.key === c.key));
  const line = toPlanLine(real[0] as PlannedCase, 'c1');
  assert.deepEqual('weights' in line ? line.weights : undefined, {
    path: ONNX_NET.weights?.file,
    offset: 0,
    sha256: 'ab'.repeat(32),
  });

  const perLayer = planSweep(spec({ ...only, perLayer: true }), [ONNX_NET], OPTIONS);
  assert.deepEqual(
    perLayer.cases.map((c) => [c.weights?.node, c.weights?.offset, c.layers]),
    [
      ['/x/Conv', 0, ['mine.onnx//x/Conv']],
      ['/x/Conv', 0, ['mine.onnx//x/Conv']],
      ['/y/Conv', 4608, ['mine.onnx//y/Conv']],
      ['/y/Conv', 4608, ['mine.onnx//y/Conv']],
    ],
  );
  assert.equal(new Set(perLayer.cases.map((c) => c.key)).size, 4, "each node's cases have keys of their own");
});
