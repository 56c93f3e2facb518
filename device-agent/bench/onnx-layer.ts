/**
 * One layer as a single-node ONNX model, for timing ONNX Runtime on exactly the layer the agent times: a Conv
 * node with the layer's shape, stride, padding and group (depthwise: group = channels), or a Gemm for fc;
 * batch 1, fp32, the weights as an initializer, no bias (the agent's layers have none). The weights and the
 * input are the agent's own (seeded exactly as device-agent/src/layer.c fills them), so both sides compute
 * the same numbers. Pure: bytes out, no I/O.
 */

import { gemmCols, gemmRows, outputHeight, outputWidth } from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import { SplitMix64 } from '../../cost-model/mappers/seeded-weights.ts';
import { buildOnnxModel } from '../../orchestrator/models/test-support.ts';

export interface LayerModel {
  /** The ONNX model (ModelProto bytes). */
  readonly bytes: Uint8Array;
  readonly inputName: string;
  /** [1, cin, h, w] for conv and dwconv, [1, in] for fc. */
  readonly inputDims: readonly number[];
  /** [1, cout, ho, wo] or [1, out]. */
  readonly outputDims: readonly number[];
}

export interface LayerTensors {
  /** The GEMM-view weights, rows x cols (cout x cin*k*k; dwconv: channels x k*k; fc: out x in). */
  readonly weights: Float32Array;
  /** cin x h x w (fc: in). */
  readonly input: Float32Array;
}

/**
 * The weights and input the agent builds for `shape` from `seed` (layer.c, generate_random): weights are
 * 0.5 x the sum of four uniforms in [-1, 1), then the input continues the same stream, uniform in [-1, 1).
 */
export function agentTensors(shape: LayerShape, seed: number): LayerTensors {
  const rng = new SplitMix64(seed);
  const weights = new Float32Array(gemmRows(shape) * gemmCols(shape));
  for (let i = 0; i < weights.length; i++)
    weights[i] = 0.5 * (rng.uniformPm1() + rng.uniformPm1() + rng.uniformPm1() + rng.uniformPm1());
  const input = new Float32Array(shape.op === 'fc' ? shape.cin : shape.cin * shape.h * shape.w);
  for (let i = 0; i < input.length; i++) input[i] = rng.uniformPm1();
  return { weights, input };
}

/**
 * The layer as one ONNX node over `weights` (layout as agentTensors gives them). The GEMM view's column order
 * (ci, ky, kx) is ONNX's [cout][cin/group][kh][kw] order, so the weights go in unchanged; fc is Gemm with
 * transB = 1 over the [out][in] matrix.
 */
export function layerModel(shape: LayerShape, weights: Float32Array): LayerModel {
  const expected = gemmRows(shape) * gemmCols(shape);
  if (weights.length !== expected)
    throw new RangeError(
      `layerModel: ${shape.op} ${shape.cin}->${shape.cout} needs ${expected} weights, got ${weights.length}`,
    );
  if (shape.op === 'fc') {
    const bytes = buildOnnxModel({
      input: { name: 'x', dims: [1, shape.cin], fixedBatch: true },
      nodes: [{ op: 'Gemm', name: 'fc', inputs: ['x', 'w'], output: 'y', int: { transB: 1 } }],
      initializers: [{ name: 'w', dims: [shape.cout, shape.cin], values: weights, raw: true }],
      outputs: ['y'],
    });
    return { bytes, inputName: 'x', inputDims: [1, shape.cin], outputDims: [1, shape.cout] };
  }
  const depthwise = shape.op === 'dwconv';
  const group = depthwise ? shape.cin : 1;
  const { k, stride, pad } = shape;
  const bytes = buildOnnxModel({
    input: { name: 'x', dims: [1, shape.cin, shape.h, shape.w], fixedBatch: true },
    nodes: [
      {
        op: 'Conv',
        name: 'conv',
        inputs: ['x', 'w'],
        output: 'y',
        ints: { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride] },
        int: { group },
      },
    ],
    initializers: [{ name: 'w', dims: [shape.cout, shape.cin / group, k, k], values: weights, raw: true }],
    outputs: ['y'],
  });
  return {
    bytes,
    inputName: 'x',
    inputDims: [1, shape.cin, shape.h, shape.w],
    outputDims: [1, shape.cout, outputHeight(shape), outputWidth(shape)],
  };
}

/**
 * A model that does next to nothing on a tensor of `floats` values (one Relu): timed like a layer, it is what
 * one session.run costs on its own (the binding, the feed, allocating and copying out an output of that size).
 */
export function trivialModel(floats: number): LayerModel {
  const bytes = buildOnnxModel({
    input: { name: 'x', dims: [1, floats], fixedBatch: true },
    nodes: [{ op: 'Relu', name: 'relu', inputs: ['x'], output: 'y' }],
    initializers: [],
    outputs: ['y'],
  });
  return { bytes, inputName: 'x', inputDims: [1, floats], outputDims: [1, floats] };
}
