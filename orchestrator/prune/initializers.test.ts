import assert from 'node:assert/strict';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import protobuf from 'protobufjs/minimal.js';
import { buildOnnxModel, testWeights } from '../models/test-support.ts';
import { locateInitializers, zeroMasked } from './initializers.ts';

const { onnx } = onnxProto;

function found(located: ReturnType<typeof locateInitializers>, name: string) {
  const tensor = located.get(name);
  assert.ok(tensor !== undefined, `initializer ${name} not found`);
  return tensor;
}

test('raw_data and packed float_data initializers are found and zeroed in place', () => {
  const raw = testWeights(6, 1);
  const packed = testWeights(4, 2);
  const bytes = buildOnnxModel({
    input: { name: 'x', dims: [1, 2] },
    nodes: [{ op: 'MatMul', name: 'm', inputs: ['x', 'w'], output: 'y' }],
    initializers: [
      { name: 'w', dims: [2, 3], values: raw, raw: true },
      { name: 'b', dims: [4], values: packed },
    ],
    outputs: ['y'],
  });
  const located = locateInitializers(bytes);
  assert.deepEqual([...located.keys()], ['w', 'b']);
  assert.equal(located.get('w')?.dataType, 1);
  const out = zeroMasked(bytes, found(located, 'w'), Uint8Array.from([1, 0, 1, 0, 0, 1]));
  zeroMasked(bytes, found(located, 'b'), Uint8Array.from([0, 1, 1, 1]), out);
  const model = onnx.ModelProto.decode(out);
  const [w, b] = model.graph?.initializer ?? [];
  const rawOut = new Float32Array(new Uint8Array(w?.rawData ?? []).buffer);
  assert.deepEqual([...rawOut], [raw[0], 0, raw[2], 0, 0, raw[5]]);
  assert.deepEqual(b?.floatData, [0, packed[1], packed[2], packed[3]]);
  assert.equal(out.length, bytes.length);
  assert.throws(
    () => zeroMasked(bytes, found(located, 'w'), new Uint8Array(5)),
    /holds 6 values, the mask 5/,
  );
});

test('unpacked float_data (one fixed32 field per value) is found value by value', () => {
  // TensorProto { dims: 3, data_type: 1, float_data: 1.5, 2.5, 3.5 (unpacked), name: "u" } in GraphProto.initializer in ModelProto.graph.
  const tensor = protobuf.Writer.create();
  tensor.uint32((1 << 3) | 0).int64(3);
  tensor.uint32((2 << 3) | 0).int32(1);
  for (const v of [1.5, 2.5, 3.5]) tensor.uint32((4 << 3) | 5).float(v);
  tensor.uint32((8 << 3) | 2).string('u');
  const graph = protobuf.Writer.create()
    .uint32((5 << 3) | 2)
    .bytes(tensor.finish())
    .finish();
  const bytes = protobuf.Writer.create()
    .uint32((1 << 3) | 0)
    .int64(7)
    .uint32((7 << 3) | 2)
    .bytes(graph)
    .finish();
  const u = found(locateInitializers(bytes), 'u');
  assert.equal(u.runs.length, 3);
  const out = zeroMasked(bytes, u, Uint8Array.from([1, 0, 1]));
  const decoded = onnx.ModelProto.decode(out).graph?.initializer?.[0]?.floatData;
  assert.deepEqual(decoded, [1.5, 0, 3.5]);
});

test('a truncated file is refused, not read past its end', () => {
  const bytes = buildOnnxModel({
    input: { name: 'x', dims: [1, 2] },
    nodes: [{ op: 'MatMul', name: 'm', inputs: ['x', 'w'], output: 'y' }],
    initializers: [{ name: 'w', dims: [2, 3], values: testWeights(6, 1), raw: true }],
    outputs: ['y'],
  });
  assert.throws(() => locateInitializers(bytes.subarray(0, bytes.length - 20)), /runs past|truncated/);
});
