/**
 * The agent's real weights (plan field `weights`, device-agent/src/weights.h) and its network op, on the real
 * host agent with blobs the tests write (orchestrator/models/weights-blob.ts):
 *  - masks, density, kept blocks and keptEnergy of real weights are cost-model/masks.ts's bit for bit (the
 *    masks-agent test's approach, on real instead of seeded weights), and differ from the seeded ones;
 *  - every bad weights source is an error record for that case while the rest of the plan runs: a missing file,
 *    a file that changed (hash), a short file, a non-finite value, an ill-formed field;
 *  - the preparation cache keys on the weights source, and each file is hashed once per call;
 *  - a network line reports per layer what the same layers report as separate cases, chains only where the
 *    sizes agree, and refuses a chain whose sizes differ.
 * Small shapes, one repetition per case: a few seconds.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { NetworkResultLine, OkResultLine } from '../config/agent-protocol.ts';
import { convShape, dwconvShape, fcShape, gemmCols, gemmRows } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { seededWeights } from '../cost-model/mappers/seeded-weights.ts';
import { computeMask, type MaskSpec, maskFnv1a, maskProblem } from '../cost-model/masks.ts';
import { parseAgentOutputLine, parseNetworkOutputLine } from '../orchestrator/agent/parse-output.ts';
import { testWeights } from '../orchestrator/models/test-support.ts';
import { type WeightsBlob, writeWeightsBlob } from '../orchestrator/models/weights-blob.ts';
import { planText, runAgent } from './agent-harness.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-weights-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LAYERS: readonly { name: string; shape: LayerShape }[] = [
  { name: 'stem', shape: convShape(3, 8, 7, 3, 1, 1) },
  { name: 'odd', shape: convShape(7, 9, 5, 3, 1, 1) },
  { name: 'pw', shape: convShape(12, 20, 4, 1, 1, 0) },
  { name: 'dw', shape: dwconvShape(8, 6, 3, 1, 1) },
  { name: 'fc', shape: fcShape(30, 24) },
];

function geometry(shape: LayerShape): Record<string, unknown> {
  return shape.op === 'fc'
    ? { op: 'fc', in: shape.cin, out: shape.cout }
    : {
        op: shape.op,
        cin: shape.cin,
        cout: shape.cout,
        h: shape.h,
        w: shape.w,
        k: shape.k,
        stride: shape.stride,
        pad: shape.pad,
      };
}

const ONE_REP = { warmup: 0, minReps: 1, minTimeMs: 0 };

async function blobOf(
  layers: readonly { name: string; shape: LayerShape }[],
  salt: number,
  sub = 'a',
): Promise<{ blob: WeightsBlob; weights: Map<string, Float32Array> }> {
  const weights = new Map(
    layers.map((l, i) => [l.name, testWeights(gemmRows(l.shape) * gemmCols(l.shape), salt + i)]),
  );
  const folder = join(dir, sub);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const blob = await writeWeightsBlob(
    {
      layers: layers.map((l) => ({
        name: l.name,
        node: `/${l.name}/Op`,
        weights: weights.get(l.name) as Float32Array,
      })),
    },
    folder,
  );
  return { blob, weights };
}

function ref(blob: WeightsBlob, name: string) {
  const at = blob.byName.get(name);
  assert.ok(at, `no ${name} in the blob`);
  return { path: blob.path, offset: at.offsetBytes, sha256: blob.sha256 };
}

function results(lines: readonly string[]): Map<string, OkResultLine | { status: 'error'; error: string }> {
  const out = new Map<string, OkResultLine | { status: 'error'; error: string }>();
  for (const line of lines) {
    const parsed = parseAgentOutputLine(line);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
    if (parsed.value.type === 'result') out.set(parsed.value.id, parsed.value);
  }
  return out;
}

function specsFor(shape: LayerShape): MaskSpec[] {
  const specs: MaskSpec[] = [
    { scheme: 'dense', block: null, sparsity: 0 },
    { scheme: 'unstructured', block: null, sparsity: 0.6 },
    { scheme: 'filter', block: null, sparsity: 0.5 },
    { scheme: 'channel', block: null, sparsity: 0.5 },
    { scheme: 'pattern', block: null, sparsity: 0.75 },
    { scheme: 'bcr', block: '4x1', sparsity: 0.75 },
    { scheme: 'bcr', block: '2x2', sparsity: 0.5, bcrRowShare: 0.3 },
    { scheme: 'block-punched', block: '2x1', sparsity: 0.6 },
  ];
  return specs.filter((spec) => maskProblem(shape, spec) === undefined);
}

test('real weights: the agent masks them exactly as masks.ts does, says which weights it used, and differs from seeded', async () => {
  const { blob, weights } = await blobOf(LAYERS, 11);
  const cases = LAYERS.flatMap((layer) => specsFor(layer.shape).map((spec) => ({ layer, spec })));
  assert.ok(cases.length >= 25, `expected a broad grid, built ${cases.length}`);
  const plan = cases.flatMap(({ layer, spec }, i) => {
    const line = {
      ...geometry(layer.shape),
      scheme: spec.scheme,
      ...(spec.block === null ? {} : { block: spec.block }),
      sparsity: spec.sparsity,
      ...(spec.bcrRowShare === undefined ? {} : { bcrRowShare: spec.bcrRowShare }),
      seed: 5,
      ...ONE_REP,
    };
    return [
      { id: `r${i}`, ...line, weights: ref(blob, layer.name) },
      { id: `s${i}`, ...line },
    ];
  });
  const run = runAgent('host', ['run'], {
    input: planText(plan),
    env: { PRUNELAB_PREPARE_CACHE_STATS: '1' },
  });
  assert.equal(run.status, 0, run.stderr);
  const got = results(run.lines);
  const mismatches: string[] = [];
  let differFromSeeded = 0;
  cases.forEach(({ layer, spec }, i) => {
    const real = got.get(`r${i}`);
    const seeded = got.get(`s${i}`);
    const what = `${layer.name} ${spec.scheme} ${spec.block ?? '-'} ${spec.sparsity}`;
    if (real?.status !== 'ok' || seeded?.status !== 'ok') {
      mismatches.push(`${what}: ${JSON.stringify(real ?? seeded)}`);
      return;
    }
    const mask = computeMask(weights.get(layer.name) as Float32Array, layer.shape, spec);
    if (real.maskFnv1a !== maskFnv1a(mask.mask))
      mismatches.push(`${what}: hash ${real.maskFnv1a} vs ${maskFnv1a(mask.mask)}`);
    if (real.density !== mask.density || real.keptBlocks !== mask.keptBlocks)
      mismatches.push(
        `${what}: density/blocks ${real.density}/${real.keptBlocks} vs ${mask.density}/${mask.keptBlocks}`,
      );
    if (Math.abs(real.keptEnergy - mask.keptEnergy) > 1e-12)
      mismatches.push(`${what}: keptEnergy ${real.keptEnergy} vs ${mask.keptEnergy}`);
    if (real.weights !== blob.sha256) mismatches.push(`${what}: weights ${real.weights}`);
    if (seeded.weights !== 'seeded') mismatches.push(`${what}: seeded case says weights ${seeded.weights}`);
    // The seeded case is what masks.ts gives on the seeded weights: the two sources really differ.
    const seededMask = computeMask(
      seededWeights(gemmRows(layer.shape) * gemmCols(layer.shape), 5),
      layer.shape,
      spec,
    );
    assert.equal(seeded.maskFnv1a, maskFnv1a(seededMask.mask), what);
    if (spec.scheme !== 'dense' && seeded.maskFnv1a !== real.maskFnv1a) differFromSeeded++;
  });
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${cases.length} cases differ`);
  const pruned = cases.filter((c) => c.spec.scheme !== 'dense').length;
  assert.ok(
    differFromSeeded >= pruned - 1,
    `only ${differFromSeeded} of ${pruned} real masks differ from the seeded ones`,
  );
  // One blob, hashed once for the whole call however many cases read it.
  assert.match(run.stderr, /weights files hashed 1 reused \d+/);
});

test('a missing, changed, short or non-finite weights file, or an ill-formed field, is an error record; the rest runs', async () => {
  const layer = LAYERS[0] as { name: string; shape: LayerShape };
  const { blob } = await blobOf([layer], 3, 'errors');
  const line = { ...geometry(layer.shape), scheme: 'unstructured', sparsity: 0.5, ...ONE_REP };
  const good = ref(blob, layer.name);
  // A copy of the blob with one NaN in it, under its own (correct) hash: the value check, not the hash, refuses it.
  const nanBytes = new Uint8Array(readFileSync(blob.path));
  new DataView(nanBytes.buffer).setFloat32(40, Number.NaN, true);
  const nanPath = join(dir, 'errors', 'nan.bin');
  writeFileSync(nanPath, nanBytes);
  const nanSha = createHash('sha256').update(nanBytes).digest('hex');
  const changedPath = join(dir, 'errors', 'changed.bin');
  writeFileSync(changedPath, nanBytes); // the plan names the original's hash
  const plan = [
    { id: 'ok', ...line, weights: good },
    { id: 'missing', ...line, weights: { ...good, path: join(dir, 'errors', 'absent.bin') } },
    { id: 'changed', ...line, weights: { ...good, path: changedPath } },
    { id: 'short', ...line, weights: { ...good, offset: blob.sizeBytes - 8 } },
    { id: 'nan', ...line, weights: { path: nanPath, offset: 0, sha256: nanSha } },
    { id: 'bad-sha', ...line, weights: { ...good, sha256: good.sha256.toUpperCase() } },
    { id: 'bad-offset', ...line, weights: { ...good, offset: -4 } },
    { id: 'not-object', ...line, weights: 'weights.bin' },
    { id: 'after', ...line, weights: good },
  ];
  const run = runAgent('host', ['run'], { input: planText(plan) });
  assert.equal(run.status, 0, run.stderr);
  const got = results(run.lines);
  const error = (id: string): string => {
    const r = got.get(id);
    assert.equal(r?.status, 'error', `${id} should be an error record, got ${JSON.stringify(r)}`);
    return (r as { error: string }).error;
  };
  assert.equal(got.get('ok')?.status, 'ok');
  assert.equal(got.get('after')?.status, 'ok');
  assert.match(error('missing'), /absent\.bin: No such file or directory; push the model's weights blob/);
  assert.match(
    error('changed'),
    new RegExp(`changed\\.bin has sha256 ${nanSha}, the plan line expects ${blob.sha256}`),
  );
  assert.match(error('short'), /too short: the layer needs 216 floats \(864 bytes\) at offset \d+/);
  assert.match(error('nan'), /weight 10 of the layer \(byte 40\) is nan, not a finite number/);
  assert.match(error('bad-sha'), /"sha256" is "[0-9A-F]{40}/);
  assert.match(error('bad-offset'), /"offset" is -4/);
  assert.match(error('not-object'), /field "weights" must be \{"path".*got a string/);
  const done = JSON.parse(run.lines.at(-1) as string) as {
    type: string;
    cases: number;
    ok: number;
    errors: number;
  };
  assert.deepEqual(done, { type: 'done', cases: 9, ok: 2, errors: 7 });
});

test('the preparation cache keys on the weights source: seeded then real weights of one shape give what each gives alone', async () => {
  const layer = LAYERS[1] as { name: string; shape: LayerShape };
  const { blob } = await blobOf([layer], 21, 'cache');
  const line = { ...geometry(layer.shape), scheme: 'bcr', block: '3x3', sparsity: 0.6, ...ONE_REP };
  const seeded = { id: 'seeded', ...line };
  const real = { id: 'real', ...line, weights: ref(blob, layer.name) };
  const together = results(
    runAgent('host', ['run'], { input: planText([seeded, real, { ...seeded, id: 'seeded-again' }]) }).lines,
  );
  const alone = results(runAgent('host', ['run'], { input: planText([real]) }).lines);
  const pick = (r: ReturnType<typeof results>, id: string) => {
    const v = r.get(id) as OkResultLine;
    return [v.maskFnv1a, v.density, v.keptEnergy, v.weights];
  };
  assert.deepEqual(pick(together, 'real'), pick(alone, 'real'));
  assert.notDeepEqual(pick(together, 'real'), pick(together, 'seeded'));
  assert.deepEqual(pick(together, 'seeded-again'), pick(together, 'seeded'));
});

test('a network line reports per layer what its layers report as cases; it chains only matching sizes', async () => {
  // conv 3->8 @7 -> conv 8->12 1x1 (chained) -> fc 588->10 (chained: 12*7*7 = 588) ; fc 30->24 (own input)
  const chain = [
    { name: 'c1', shape: convShape(3, 8, 7, 3, 1, 1), input: 'own', scheme: 'dense', sparsity: 0 },
    {
      name: 'c2',
      shape: convShape(8, 12, 7, 1, 1, 0),
      input: 'previous',
      scheme: 'unstructured',
      sparsity: 0.5,
    },
    { name: 'f1', shape: fcShape(588, 10), input: 'previous', scheme: 'bcr', block: '2x4', sparsity: 0.75 },
    { name: 'f2', shape: fcShape(30, 24), input: 'own', scheme: 'filter', sparsity: 0.5 },
  ] as const;
  const { blob } = await blobOf(chain, 31, 'net');
  const layerLine = (l: (typeof chain)[number]) => ({
    ...geometry(l.shape),
    scheme: l.scheme,
    ...('block' in l ? { block: l.block } : {}),
    sparsity: l.sparsity,
    weights: ref(blob, l.name),
  });
  const network = {
    id: 'net',
    op: 'network',
    layers: chain.map((l) => ({ ...layerLine(l), input: l.input })),
    warmup: 1,
    minReps: 5,
    minTimeMs: 0,
  };
  const mismatch = {
    id: 'mismatch',
    op: 'network',
    layers: [
      { ...layerLine(chain[0]), input: 'own' },
      { ...layerLine(chain[3]), input: 'previous' },
    ],
    ...ONE_REP,
  };
  const gpu = { ...network, id: 'gpu', backend: 'gpu' };
  const separate = chain.map((l, i) => ({ id: `l${i}`, ...layerLine(l), ...ONE_REP }));
  const run = runAgent('host', ['run'], { input: planText([network, mismatch, gpu, ...separate]) });
  assert.equal(run.status, 0, run.stderr);
  const parsed = run.lines.map((line) => {
    const p = parseNetworkOutputLine(line);
    return p.ok ? p.value : undefined;
  });
  const net = parsed.find((p) => p?.type === 'result' && p.id === 'net') as NetworkResultLine | undefined;
  assert.ok(net !== undefined && net.status === 'ok', run.lines[0]);
  assert.equal(net.samplesNs.length, net.reps);
  assert.ok(net.reps >= 5);
  const sorted = [...net.samplesNs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median =
    sorted.length % 2
      ? (sorted[Math.floor(mid)] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  assert.equal(net.medianNs, median);
  assert.match(net.notRun, /activations, pooling, element-wise add/);
  assert.deepEqual(
    net.layers.map((l) => l.input),
    chain.map((l) => l.input),
  );
  const cases = results(run.lines.slice(3));
  net.layers.forEach((layer, i) => {
    const alone = cases.get(`l${i}`) as OkResultLine;
    assert.equal(alone.status, 'ok');
    assert.deepEqual(
      [layer.maskFnv1a, layer.density, layer.keptBlocks, layer.keptEnergy, layer.flops, layer.weights],
      [alone.maskFnv1a, alone.density, alone.keptBlocks, alone.keptEnergy, alone.flops, alone.weights],
      `layer ${i}`,
    );
  });
  assert.equal(
    net.flops,
    net.layers.reduce((s, l) => s + l.flops, 0),
  );
  const errors = parsed.filter((p) => p?.type === 'result' && p.status === 'error') as {
    id: string;
    error: string;
  }[];
  assert.match(
    errors.find((e) => e.id === 'mismatch')?.error ?? '',
    /layers\[1\] reads the previous layer's output .* holds 392 floats, but its input is 30 floats \(in=30\)/,
  );
  assert.match(errors.find((e) => e.id === 'gpu')?.error ?? '', /op network has no GPU backend/);
});
