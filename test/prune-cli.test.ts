/**
 * `prunelab prune` end to end on a model the test writes (conv 3x3, depthwise, 1x1, Gemm, MatMul): the pruned
 * ONNX runs in ONNX Runtime and gives exactly the output of the dense model with the masks multiplied in (built
 * here independently, from the test's own masks); only masked weights' bytes change; masks.npz reads back in
 * numpy (Debian's python3-numpy) with each weight's own shape; bad input exits 2 and writes nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { shapeKey } from '../config/shape.ts';
import type { Scheme } from '../config/vocabulary.ts';
import { computeMask, maskFnv1a } from '../cost-model/masks.ts';
import { parseOnnxModel } from '../orchestrator/models/onnx.ts';
import { buildOnnxModel, testWeights, trainingNet } from '../orchestrator/models/test-support.ts';
import { runPrunelab } from './support/cli.ts';
import { numpyPython } from './support/numpy.ts';

const dir = mkdtempSync(join(tmpdir(), 'prunelab-prune-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CHOICES: Record<string, { scheme: Scheme; block: string | null; sparsity: number }> = {
  conv1: { scheme: 'pattern', block: null, sparsity: 0.7 },
  dw: { scheme: 'dense', block: null, sparsity: 0 },
  pw: { scheme: 'bcr', block: '4x2', sparsity: 0.6 },
  fc: { scheme: 'block-punched', block: '4x4', sparsity: 0.5 },
  head: { scheme: 'channel', block: null, sparsity: 0.5 },
};

function writeMapping(
  path: string,
  bytes: Uint8Array,
  overrides: { sha256?: string; rename?: string } = {},
): void {
  const model = parseOnnxModel(bytes, 'net.onnx');
  const layers = model.layers.map((l) => ({
    name: l.name === 'fc' && overrides.rename !== undefined ? overrides.rename : l.name,
    shapeKey: shapeKey(l.shape),
    ...CHOICES[l.name],
  }));
  const sha256 = overrides.sha256 ?? createHash('sha256').update(bytes).digest('hex');
  writeFileSync(
    path,
    JSON.stringify({
      schema: 'prunelab.mapping/v1',
      model: { name: model.name, source: 'onnx', weightsFrom: 'the file', sha256 },
      choiceHash: 'test',
      layers,
      unpriced: [],
    }),
  );
}

/** The test's own masks in each weight's own layout (MatMul's [in][out] transposed by hand). */
function expectedOwnMasks(bytes: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const layer of parseOnnxModel(bytes, 'net.onnx').layers) {
    const choice = CHOICES[layer.name];
    assert.ok(choice !== undefined);
    const gemm = computeMask(layer.weights, layer.shape, choice).mask;
    if (layer.name !== 'head') out.set(layer.weightName, gemm);
    else {
      const own = new Uint8Array(gemm.length); // GEMM [10 out][12 in] -> stored [12 in][10 out]
      for (let o = 0; o < 10; o++) for (let i = 0; i < 12; i++) own[i * 10 + o] = gemm[o * 12 + i] as number;
      out.set(layer.weightName, own);
    }
  }
  return out;
}

async function runOrt(model: Uint8Array | string, input: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model as Uint8Array, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const result = await session.run({ x: new ort.Tensor('float32', input, [4, 3, 8, 8]) });
  await session.release();
  return result.y?.data as Float32Array;
}

test('pruned.onnx = the dense model with the masks multiplied in; masks.npz round-trips through numpy', async () => {
  const net = trainingNet();
  const modelPath = join(dir, 'net.onnx');
  const mappingPath = join(dir, 'mapping.json');
  const outPath = join(dir, 'pruned.onnx');
  const masksPath = join(dir, 'masks.npz');
  writeFileSync(modelPath, net.bytes);
  writeMapping(mappingPath, net.bytes);
  const run = await runPrunelab([
    'prune',
    '--model',
    modelPath,
    '--mapping',
    mappingPath,
    '--out',
    outPath,
    '--masks',
    masksPath,
  ]);
  assert.equal(run.exitCode, 0, run.stderr);
  assert.match(run.stdout, /pw\.weight\s+bcr\s+4x2/);

  // The reference: the same graph built with weight * mask (the test's masks, not prune's files).
  const masks = expectedOwnMasks(net.bytes);
  const masked: Record<string, Float32Array> = {};
  for (const [name, keep] of masks)
    masked[name] = (net.weights[name] as Float32Array).map((v, i) => (keep[i] === 1 ? v : 0));
  const reference = trainingNet(masked).bytes;
  const input = testWeights(4 * 3 * 8 * 8, 9);
  const pruned = readFileSync(outPath);
  const [prunedOut, referenceOut, denseOut] = await Promise.all([
    runOrt(pruned, input),
    runOrt(reference, input),
    runOrt(net.bytes, input),
  ]);
  assert.deepEqual(prunedOut, referenceOut);
  assert.notDeepEqual(prunedOut, denseOut, 'the masks must change the output');

  // Only weight bytes change, and only to zero: the reference's bytes equal pruned.onnx's bytes exactly
  // except for encoding, so compare the decoded models field by field after re-encoding both.
  assert.equal(pruned.length, net.bytes.length);
  const { onnx } = onnxProto;
  const zeroed = [...masks.values()].reduce((s, m) => s + m.filter((k) => k === 0).length, 0);
  let changed = 0;
  for (let i = 0; i < pruned.length; i++)
    if (pruned[i] !== net.bytes[i]) {
      changed++;
      assert.equal(pruned[i], 0, `byte ${i} changed to ${pruned[i]}, not to 0`);
    }
  assert.ok(changed > 0 && changed <= 4 * zeroed, `${changed} bytes changed for ${zeroed} zeroed weights`);
  const decoded = onnx.ModelProto.decode(pruned);
  const expected = onnx.ModelProto.decode(reference);
  assert.deepEqual(onnx.ModelProto.toObject(decoded), onnx.ModelProto.toObject(expected));

  // numpy reads the archive: every weight, its own shape, bool, the same bits.
  const py = spawnSync(
    numpyPython(),
    [
      '-c',
      'import json, sys, numpy as np\n' +
        'd = np.load(sys.argv[1])\n' +
        'print(json.dumps({k: {"dtype": str(v.dtype), "shape": list(v.shape), "bits": v.astype(int).ravel().tolist()} for k, v in d.items()}))',
      masksPath,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(py.status, 0, `python3 with numpy (Debian python3-numpy): ${py.stderr}`);
  const fromNumpy = JSON.parse(py.stdout) as Record<
    string,
    { dtype: string; shape: number[]; bits: number[] }
  >;
  assert.deepEqual(Object.keys(fromNumpy).sort(), [...masks.keys()].sort());
  for (const [name, keep] of masks) {
    assert.equal(fromNumpy[name]?.dtype, 'bool');
    assert.deepEqual(fromNumpy[name]?.shape, net.dims[name]);
    assert.deepEqual(fromNumpy[name]?.bits, [...keep], name);
  }

  const sidecar = JSON.parse(readFileSync(join(dir, 'masks.json'), 'utf8')) as {
    layers: {
      weight: string;
      scheme: string;
      block: string | null;
      sparsity: number;
      density: number;
      maskFnv1a: string;
    }[];
  };
  for (const layer of parseOnnxModel(net.bytes, 'net.onnx').layers) {
    const entry = sidecar.layers.find((l) => l.weight === layer.weightName);
    const choice = CHOICES[layer.name];
    assert.ok(entry !== undefined && choice !== undefined, layer.weightName);
    const mask = computeMask(layer.weights, layer.shape, choice);
    assert.deepEqual(
      [entry.scheme, entry.block, entry.sparsity],
      [choice.scheme, choice.block, choice.sparsity],
    );
    assert.equal(entry.density, mask.density);
    assert.equal(entry.maskFnv1a, maskFnv1a(mask.mask));
  }
});

async function expectRefused(
  name: string,
  model: Uint8Array,
  mapping: (path: string) => void,
  message: RegExp,
): Promise<void> {
  const sub = join(dir, name);
  rmSync(sub, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(sub);
  writeFileSync(join(sub, 'net.onnx'), model);
  mapping(join(sub, 'mapping.json'));
  const run = await runPrunelab([
    'prune',
    '--model',
    join(sub, 'net.onnx'),
    '--mapping',
    join(sub, 'mapping.json'),
    '--out',
    join(sub, 'pruned.onnx'),
    '--masks',
    join(sub, 'masks.npz'),
  ]);
  assert.equal(run.exitCode, 2, `${name}: ${run.stderr}`);
  assert.match(run.stderr, message, name);
  assert.deepEqual(readdirSync(sub).sort(), ['mapping.json', 'net.onnx'], `${name}: nothing written`);
}

test('bad input exits 2 with the file and node named, and writes nothing', async () => {
  const net = trainingNet();
  await expectRefused(
    'other-model',
    net.bytes,
    (p) => writeMapping(p, net.bytes, { sha256: 'f'.repeat(64) }),
    /mapping\.json was made for another model file/,
  );
  await expectRefused(
    'renamed-layer',
    net.bytes,
    (p) => writeMapping(p, net.bytes, { rename: 'classifier' }),
    /layers\[3\] 'classifier' is not a prunable layer/,
  );
  // fp16 weights: the conv is skipped by the reader, so the mapping's layer cannot be pruned; the message says why.
  const fp16 = buildOnnxModel({
    input: { name: 'x', dims: [1, 4, 6, 6] },
    nodes: [
      {
        op: 'Conv',
        name: '/half/Conv',
        inputs: ['x', 'half.weight'],
        output: 'a',
        ints: { kernel_shape: [1, 1] },
      },
      {
        op: 'Conv',
        name: '/full/Conv',
        inputs: ['a', 'full.weight'],
        output: 'y',
        ints: { kernel_shape: [1, 1] },
      },
    ],
    initializers: [
      { name: 'half.weight', dims: [4, 4, 1, 1], values: testWeights(8, 1), dataType: 10 },
      { name: 'full.weight', dims: [4, 4, 1, 1], values: testWeights(16, 2) },
    ],
    outputs: ['y'],
  });
  await expectRefused(
    'fp16',
    fp16,
    (p) =>
      writeFileSync(
        p,
        JSON.stringify({
          schema: 'prunelab.mapping/v1',
          model: { name: 'test-net', source: 'onnx' },
          layers: [
            { name: 'half', scheme: 'unstructured', block: null, sparsity: 0.5 },
            { name: 'full', scheme: 'unstructured', block: null, sparsity: 0.5 },
          ],
        }),
      ),
    /'half'.*Conv '\/half\/Conv'.*FLOAT16/s,
  );
  const external = buildOnnxModel({
    input: { name: 'x', dims: [1, 4, 6, 6] },
    nodes: [
      {
        op: 'Conv',
        name: '/ext/Conv',
        inputs: ['x', 'ext.weight'],
        output: 'y',
        ints: { kernel_shape: [1, 1] },
      },
    ],
    initializers: [{ name: 'ext.weight', dims: [4, 4, 1, 1], values: new Float32Array(16), external: true }],
    outputs: ['y'],
  });
  await expectRefused(
    'external',
    external,
    (p) => writeFileSync(p, '{}'),
    /external file.*ext\.weight|ext\.weight.*external/s,
  );
  await expectRefused(
    'not-a-mapping',
    net.bytes,
    (p) => writeFileSync(p, '{"schema": "x"}'),
    /not a prunelab\.mapping\/v1 file/,
  );
  assert.ok(!existsSync(join(dir, 'other-model', 'pruned.onnx')));
});
