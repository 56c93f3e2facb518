/**
 * The ONNX Runtime anchor computes the agent's layer: single-node models from onnx-layer.ts, run in ONNX Runtime
 * on the agent's seeded weights and input, against a double-precision direct convolution written like the
 * agent's reference (device-agent/src/reference.c), judged with the agent's own tolerance (layer_check:
 * 8 * sqrt(K + 1) * FLT_EPSILON * sum|w*x| per output). Small odd shapes, so a wrong weight layout, stride,
 * padding or group shows as a wrong number, not as noise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gemmCols, outputHeight, outputWidth } from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import { seededWeights } from '../../cost-model/mappers/seeded-weights.ts';
import { agentTensors, layerModel, trivialModel } from './onnx-layer.ts';
import { runOnce } from './ort.ts';

/** reference.c's reference_run on unmasked weights: the exact output and sum |w*x| per output. */
function reference(shape: LayerShape, w: Float32Array, x: Float32Array): { ref: number[]; mag: number[] } {
  const ref: number[] = [];
  const mag: number[] = [];
  if (shape.op === 'fc') {
    for (let o = 0; o < shape.cout; o++) {
      let acc = 0;
      let m = 0;
      for (let i = 0; i < shape.cin; i++) {
        const t = (w[o * shape.cin + i] as number) * (x[i] as number);
        acc += t;
        m += Math.abs(t);
      }
      ref.push(acc);
      mag.push(m);
    }
    return { ref, mag };
  }
  const { k, h, w: width, stride, pad } = shape;
  const dw = shape.op === 'dwconv';
  const cols = gemmCols(shape);
  for (let co = 0; co < shape.cout; co++)
    for (let oy = 0; oy < outputHeight(shape); oy++)
      for (let ox = 0; ox < outputWidth(shape); ox++) {
        let acc = 0;
        let m = 0;
        for (let ci = dw ? co : 0; ci < (dw ? co + 1 : shape.cin); ci++)
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * stride + ky - pad;
              const ix = ox * stride + kx - pad;
              if (iy < 0 || iy >= h || ix < 0 || ix >= width) continue;
              const col = ((dw ? 0 : ci) * k + ky) * k + kx;
              const t = (w[co * cols + col] as number) * (x[(ci * h + iy) * width + ix] as number);
              acc += t;
              m += Math.abs(t);
            }
        ref.push(acc);
        mag.push(m);
      }
  return { ref, mag };
}

const SHAPES: readonly LayerShape[] = [
  { op: 'conv', cin: 5, cout: 6, h: 7, w: 9, k: 3, stride: 2, pad: 1 },
  { op: 'conv', cin: 3, cout: 4, h: 11, w: 11, k: 7, stride: 2, pad: 3 },
  { op: 'conv', cin: 8, cout: 5, h: 6, w: 5, k: 1, stride: 2, pad: 0 },
  { op: 'dwconv', cin: 6, cout: 6, h: 6, w: 5, k: 3, stride: 1, pad: 1 },
  { op: 'dwconv', cin: 4, cout: 4, h: 9, w: 8, k: 3, stride: 2, pad: 1 },
  { op: 'fc', cin: 13, cout: 7, h: 1, w: 1, k: 1, stride: 1, pad: 0 },
];

for (const shape of SHAPES) {
  test(`ONNX Runtime's single-node ${shape.op} k${shape.k} s${shape.stride} ${shape.cin}->${shape.cout} equals the agent's reference`, async () => {
    const { weights, input } = agentTensors(shape, 7);
    const out = await runOnce(layerModel(shape, weights), input);
    const { ref, mag } = reference(shape, weights, input);
    assert.equal(out.length, ref.length, 'output size');
    const cols = shape.op === 'fc' ? shape.cin : gemmCols(shape);
    const tolerance = 8 * Math.sqrt(cols + 1) * 2 ** -23;
    ref.forEach((r, i) => {
      const bound = tolerance * (mag[i] as number) + 1e-30;
      assert.ok(
        Math.abs((out[i] as number) - r) <= bound,
        `output ${i}: ONNX Runtime ${out[i]}, reference ${r} (allowed ${bound.toExponential(2)})`,
      );
    });
    assert.ok(
      mag.some((m) => m > 0),
      'the reference has nonzero terms',
    );
  });
}

test("agentTensors' weights are the agent's seeded weights (cost-model's copy of rng.c, pinned there)", () => {
  const shape: LayerShape = { op: 'conv', cin: 3, cout: 4, h: 5, w: 5, k: 3, stride: 1, pad: 1 };
  const { weights, input } = agentTensors(shape, 3);
  assert.deepEqual(weights, seededWeights(4 * 27, 3));
  assert.equal(input.length, 75);
  assert.ok(
    input.every((v) => v >= -1 && v < 1),
    'the input is uniform in [-1, 1)',
  );
});

test('the trivial model passes its input through Relu', async () => {
  const out = await runOnce(trivialModel(4), Float32Array.from([-1, 0.5, -0.25, 2]));
  assert.deepEqual([...out], [0, 0.5, 0, 2]);
});

test('layerModel refuses weights of the wrong size, naming the shape', () => {
  assert.throws(
    () => layerModel({ op: 'fc', cin: 4, cout: 2, h: 1, w: 1, k: 1, stride: 1, pad: 0 }, new Float32Array(7)),
    /fc 4->2 needs 8 weights, got 7/,
  );
});
