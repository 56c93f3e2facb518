/**
 * ONNX loading on models generated here with onnx-proto: Conv (raw_data weights), Gemm (float_data, transB),
 * MatMul (weights transposed to [out][in]), an unsupported weighted op listed as skipped, a conv whose input
 * size is lost after an unknown op (error naming both nodes), and malformed bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape, fcShape } from '../config/shape.ts';
import { energyTable, keptAt } from '../cost-model/mappers/proxy.ts';
import { OnnxModelError } from '../orchestrator/models/errors.ts';
import { parseOnnxModel } from '../orchestrator/models/onnx.ts';
import { buildOnnxModel, smallNet, testWeights } from '../orchestrator/models/test-support.ts';

test('Conv, Gemm and MatMul become layers with their shapes and GEMM-view weights; ConvTranspose is listed', () => {
  const net = smallNet();
  const model = parseOnnxModel(net.bytes, 'small.onnx');
  assert.equal(model.name, 'test-net');
  assert.deepEqual(
    model.layers.map((l) => [l.name, l.opType, l.shape]),
    [
      ['features.conv', 'Conv', convShape(3, 4, 8, 3, 1, 1)],
      ['fc', 'Gemm', fcShape(4, 5)],
      ['head', 'MatMul', fcShape(5, 6)],
    ],
  );
  const [conv, gemm, matmul] = model.layers;
  assert.deepEqual(conv?.weights, net.conv); // [cout][cin][kh][kw] is already the GEMM view
  assert.deepEqual(gemm?.weights, net.gemm); // transB=1: [out][in] as stored
  // MatMul stores [in=5][out=6]; the GEMM view is [out][in].
  assert.equal(matmul?.weights[0 * 5 + 1], net.matmul[1 * 6 + 0]);
  assert.equal(matmul?.weights[5 * 5 + 4], net.matmul[4 * 6 + 5]);
  assert.deepEqual(
    model.skipped.map((s) => [s.node, s.opType]),
    [['/up/ConvTranspose', 'ConvTranspose']],
  );
  assert.match(model.skipped[0]?.reason ?? '', /not a kernel the agent times/);
});

test('the proxy of an ONNX layer is computed on its real weights', () => {
  const model = parseOnnxModel(smallNet().bytes, 'small.onnx');
  const conv = model.layers[0];
  assert.ok(conv !== undefined);
  const kept = keptAt(energyTable(conv.weights, conv.shape, 'unstructured', null), 0.5);
  // Brute force on the same weights: keep the 54 largest squares of 108.
  const squares = [...conv.weights].map((v) => v * v).sort((a, b) => b - a);
  const all = squares.reduce((s, v) => s + v, 0);
  const top = squares.slice(0, 54).reduce((s, v) => s + v, 0);
  assert.equal(kept.keptWeights, 54);
  assert.ok(Math.abs(kept.keptEnergy - top / all) < 1e-9);
});

test('a depthwise conv is a dwconv layer; a grouped conv is skipped with the reason', () => {
  const bytes = buildOnnxModel({
    input: { name: 'x', dims: [1, 4, 6, 6] },
    nodes: [
      {
        op: 'Conv',
        name: 'dw',
        inputs: ['x', 'dw.weight'],
        output: 'a',
        ints: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
        int: { group: 4 },
      },
      {
        op: 'Conv',
        name: 'grouped',
        inputs: ['a', 'g.weight'],
        output: 'b',
        ints: { kernel_shape: [1, 1] },
        int: { group: 2 },
      },
    ],
    initializers: [
      { name: 'dw.weight', dims: [4, 1, 3, 3], values: testWeights(36, 1) },
      { name: 'g.weight', dims: [4, 2, 1, 1], values: testWeights(8, 2) },
    ],
    outputs: ['b'],
  });
  const model = parseOnnxModel(bytes, 'dw.onnx');
  assert.deepEqual(
    model.layers.map((l) => l.shape.op),
    ['dwconv'],
  );
  assert.match(model.skipped[0]?.reason ?? '', /grouped conv \(group=2\)/);
});

test('a conv after an op that loses the shape: the error names the conv and the op', () => {
  const bytes = buildOnnxModel({
    input: { name: 'x', dims: [1, 3, 8, 8] },
    nodes: [
      { op: 'Resize', name: 'up', inputs: ['x'], output: 'u' },
      { op: 'Conv', name: 'after-resize', inputs: ['u', 'w'], output: 'y', ints: { kernel_shape: [3, 3] } },
    ],
    initializers: [{ name: 'w', dims: [2, 3, 3, 3], values: testWeights(54, 1) }],
    outputs: ['y'],
  });
  assert.throws(
    () => parseOnnxModel(bytes, 'resize.onnx'),
    (error: unknown) =>
      error instanceof OnnxModelError &&
      error.data.node === 'after-resize' &&
      /Conv node 'after-resize'.*lost after Resize node 'up'.*infer_shapes/s.test(error.message),
  );
});

test('malformed bytes and a file without layers are input errors that say what was expected', () => {
  assert.throws(
    () => parseOnnxModel(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), 'broken.onnx'),
    (error: unknown) =>
      error instanceof OnnxModelError &&
      error.kind === 'input' &&
      /broken\.onnx is not a readable ONNX model/.test(error.message),
  );
  const noLayers = buildOnnxModel({
    input: { name: 'x', dims: [1, 3, 8, 8] },
    nodes: [{ op: 'Relu', name: 'r', inputs: ['x'], output: 'y' }],
    initializers: [],
    outputs: ['y'],
  });
  assert.throws(() => parseOnnxModel(noLayers, 'relu.onnx'), /no Conv, Gemm or MatMul node/);
});
