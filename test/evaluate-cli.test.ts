/**
 * `prunelab evaluate` with the real ONNX Runtime on the label-free fixture: a CNN with seeded weights
 * (conv 3x3, depthwise, 1x1, Gemm, MatMul) whose labels are its own dense top-1, so dense accuracy is 100% by
 * construction and a pruned model's top-1 equals its agreement with the dense one. --pruned (a file from
 * `prunelab prune`) and --mapping (masks applied in memory) give the same figures; numpy-written data reads;
 * bad data and models exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { shapeKey } from '../config/shape.ts';
import type { EvaluateReport } from '../orchestrator/evaluate/run-evaluate.ts';
import {
  float32Npy,
  int64Npy,
  type LabelFreeFixture,
  writeLabelFreeFixture,
} from '../orchestrator/fixtures/label-free.ts';
import { parseOnnxModel } from '../orchestrator/models/onnx.ts';
import { buildOnnxModel } from '../orchestrator/models/test-support.ts';
import type { NpyArray } from '../orchestrator/numpy/npy.ts';
import { encodeNpz } from '../orchestrator/numpy/npz.ts';
import { runPrunelab } from './support/cli.ts';
import { numpyPython } from './support/numpy.ts';

const dir = mkdtempSync(join(tmpdir(), 'prunelab-evaluate-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SAMPLES = 40;
const path = (name: string) => join(dir, name);

let net: LabelFreeFixture['net'];
let inputs: Float32Array;
let denseLabels: readonly number[] = [];

before(async () => {
  // Labels = the dense model's own top-1 (ties: lower index), from ONNX Runtime itself.
  const fixture = await writeLabelFreeFixture(dir, SAMPLES);
  ({ net, inputs } = fixture);
  denseLabels = fixture.labels;
  const model = parseOnnxModel(net.bytes, 'net.onnx');
  const choices: Record<string, object> = {
    conv1: { scheme: 'unstructured', block: null, sparsity: 0.8 },
    dw: { scheme: 'dense', block: null, sparsity: 0 },
    pw: { scheme: 'bcr', block: '4x2', sparsity: 0.75 },
    fc: { scheme: 'filter', block: null, sparsity: 0.5 },
    head: { scheme: 'unstructured', block: null, sparsity: 0.6 },
  };
  writeFileSync(
    path('mapping.json'),
    JSON.stringify({
      schema: 'prunelab.mapping/v1',
      model: {
        name: model.name,
        source: 'onnx',
        sha256: createHash('sha256').update(net.bytes).digest('hex'),
      },
      layers: model.layers.map((l) => ({ name: l.name, shapeKey: shapeKey(l.shape), ...choices[l.name] })),
    }),
  );
  const prune = await runPrunelab([
    'prune',
    '--model',
    path('net.onnx'),
    '--mapping',
    path('mapping.json'),
    '--out',
    path('pruned.onnx'),
  ]);
  assert.equal(prune.exitCode, 0, prune.stderr);
});

async function evaluate(args: string[]): Promise<EvaluateReport> {
  const run = await runPrunelab(['evaluate', '--model', path('net.onnx'), '--json', ...args]);
  assert.equal(run.exitCode, 0, run.stderr);
  return JSON.parse(run.stdout) as EvaluateReport;
}

test('a pruned file and the same mapping in memory give the same measured figures', async () => {
  const fromFile = await evaluate([
    '--pruned',
    path('pruned.onnx'),
    '--data',
    path('data.npz'),
    '--batch',
    '16',
  ]);
  const inMemory = await evaluate([
    '--mapping',
    path('mapping.json'),
    '--data',
    path('data.npz'),
    '--batch',
    '7',
  ]);
  assert.equal(fromFile.metrics.samples, SAMPLES);
  assert.equal(fromFile.classes, 10);
  assert.equal(
    fromFile.metrics.denseTop1,
    1,
    'labels are the dense top-1: dense accuracy is 100% by construction',
  );
  assert.ok(
    new Set(denseLabels).size >= 3,
    `the fixture's dense top-1 must spread: ${denseLabels.join(',')}`,
  );
  assert.equal(fromFile.metrics.top1, fromFile.metrics.agreement, 'with such labels, top-1 is the agreement');
  assert.ok(
    fromFile.metrics.agreement < 1,
    `this much pruning flips some predictions: ${fromFile.metrics.agreement}`,
  );
  assert.ok(
    fromFile.metrics.meanRelativeError > 0.01,
    `pruning must move the outputs: ${fromFile.metrics.meanRelativeError}`,
  );
  assert.ok((fromFile.metrics.top5 ?? 0) >= (fromFile.metrics.top1 ?? 1));
  assert.equal(inMemory.metrics.top1, fromFile.metrics.top1);
  assert.equal(inMemory.metrics.agreement, fromFile.metrics.agreement);
  assert.ok(Math.abs(inMemory.metrics.meanRelativeError - fromFile.metrics.meanRelativeError) < 1e-6);
  assert.equal(inMemory.candidate.kind, 'mapping');
});

test('the dense model against itself: agreement 1, error 0; --limit and a numpy-written .npz without labels', async () => {
  const self = await evaluate([
    '--pruned',
    path('net.onnx'),
    '--data',
    path('data.npz'),
    '--limit',
    '9',
    '--batch',
    '4',
  ]);
  assert.equal(self.metrics.samples, 9);
  assert.equal(self.metrics.agreement, 1);
  assert.equal(self.metrics.meanRelativeError, 0);
  writeFileSync(path('inputs.bin'), new Uint8Array(inputs.buffer.slice(0)));
  const py = spawnSync(
    numpyPython(),
    [
      '-c',
      'import sys, numpy as np\n' +
        'x = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, 3, 8, 8)\n' +
        'np.savez_compressed(sys.argv[2], inputs=x)\n' +
        'np.save(sys.argv[3], x[:5])',
      path('inputs.bin'),
      path('numpy.npz'),
      path('numpy.npy'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(py.status, 0, py.stderr);
  const unlabelled = await evaluate(['--pruned', path('pruned.onnx'), '--data', path('numpy.npz')]);
  assert.equal(unlabelled.labelled, false);
  assert.equal(unlabelled.metrics.top1, null);
  assert.equal(unlabelled.metrics.samples, SAMPLES);
  const npy = await evaluate(['--pruned', path('pruned.onnx'), '--data', path('numpy.npy')]);
  assert.equal(npy.metrics.samples, 5);
});

test('a model with a fixed batch of 1 runs one sample per call, whatever --batch says', async () => {
  const fixed = buildOnnxModel({
    input: { name: 'x', dims: [1, 2], fixedBatch: true },
    nodes: [{ op: 'MatMul', name: 'm', inputs: ['x', 'w'], output: 'y' }],
    initializers: [{ name: 'w', dims: [2, 3], values: Float32Array.from([1, 0, 0, 0, 1, 0]) }],
    outputs: ['y'],
  });
  writeFileSync(path('fixed.onnx'), fixed);
  writeFileSync(
    path('fixed.npz'),
    encodeNpz(new Map([['inputs', float32Npy(Float32Array.from([1, 2, 3, 1, 0, 0]), [3, 2])]])),
  );
  const run = await runPrunelab([
    'evaluate',
    '--model',
    path('fixed.onnx'),
    '--pruned',
    path('fixed.onnx'),
    '--data',
    path('fixed.npz'),
    '--batch',
    '8',
    '--json',
  ]);
  assert.equal(run.exitCode, 0, run.stderr);
  const report = JSON.parse(run.stdout) as EvaluateReport;
  assert.equal(report.batchSize, 1);
  assert.equal(report.metrics.samples, 3);
  assert.equal(report.classes, 3);
});

test('bad data and models exit 2 with the file named', async () => {
  const refuse = async (args: string[], message: RegExp) => {
    const run = await runPrunelab(['evaluate', '--model', path('net.onnx'), ...args]);
    assert.equal(run.exitCode, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
  };
  const write = (name: string, arrays: [string, NpyArray][]) => {
    writeFileSync(path(name), encodeNpz(new Map(arrays)));
    return path(name);
  };
  const wrongShape = write('shape.npz', [['inputs', float32Npy(inputs.subarray(0, 4 * 3 * 64), [4, 3, 64])]]);
  await refuse(['--pruned', path('pruned.onnx'), '--data', wrongShape], /inputs are \[N, 3, 64\].*input 'x'/);
  const float64 = write('f64.npz', [
    ['inputs', { dtype: 'float64', shape: [1, 3, 8, 8], data: new Uint8Array(8 * 192) }],
  ]);
  await refuse(['--pruned', path('pruned.onnx'), '--data', float64], /inputs are float64; expected float32/);
  const badLabels = write('labels.npz', [
    ['inputs', float32Npy(inputs.subarray(0, 2 * 192), [2, 3, 8, 8])],
    ['labels', int64Npy([3, 10])],
  ]);
  await refuse(
    ['--pruned', path('pruned.onnx'), '--data', badLabels],
    /labels\[1\] = 10 is out of range.*10 classes/,
  );
  writeFileSync(path('empty.npz'), new Uint8Array());
  await refuse(['--pruned', path('pruned.onnx'), '--data', path('empty.npz')], /empty/);
  const none = write('none.npz', [['inputs', float32Npy(new Float32Array(), [0, 3, 8, 8])]]);
  await refuse(['--pruned', path('pruned.onnx'), '--data', none], /0 samples/);
  writeFileSync(path('garbage.onnx'), new TextEncoder().encode('not a model at all'));
  await refuse(
    ['--pruned', path('garbage.onnx'), '--data', path('data.npz')],
    /--pruned .*garbage\.onnx: ONNX Runtime refuses/,
  );
  await refuse(
    ['--pruned', path('pruned.onnx'), '--mapping', path('mapping.json'), '--data', path('data.npz')],
    /exactly one of --pruned/,
  );
});
