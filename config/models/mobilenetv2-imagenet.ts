/**
 * MobileNet-V2 for ImageNet as torchvision builds it (width 1.0, 224x224): `features.0.0` 3x3/2 stem of 32,
 * 17 inverted residual blocks from the (t, c, n, s) table below, `features.18.0` 1x1 320 -> 1280, global
 * average pool, `classifier.1` FC 1280 -> 1000. About 0.30 GMACs (torchvision: 0.30 "GFLOPS").
 * Inside a block with expansion t != 1: `conv.0.0` 1x1 expansion, `conv.1.0` 3x3 depthwise (carries the
 * stride), `conv.2` 1x1 linear projection. With t = 1 (features.1) there is no expansion: `conv.0.0` is
 * the depthwise conv and `conv.1` the projection.
 * https://github.com/pytorch/vision/blob/main/torchvision/models/mobilenetv2.py
 */
import { convShape, dwconvShape, fcShape } from '../shape.ts';
import type { ModelLayer, ModelTable } from '../types.ts';

/** torchvision's inverted_residual_setting: expansion t, output channels c, repeats n, first stride s. */
const SETTING: readonly (readonly [t: number, c: number, n: number, s: number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function features(): ModelLayer[] {
  let side = 224;
  const layers: ModelLayer[] = [{ name: 'features.0.0', shape: convShape(3, 32, side, 3, 2, 1) }];
  side /= 2;
  let cin = 32;
  let index = 1;
  for (const [t, c, n, s] of SETTING) {
    for (let repeat = 0; repeat < n; repeat++) {
      const stride = repeat === 0 ? s : 1;
      const hidden = cin * t;
      const prefix = `features.${index}.conv`;
      if (t === 1) {
        layers.push(
          { name: `${prefix}.0.0`, shape: dwconvShape(hidden, side, 3, stride, 1) },
          { name: `${prefix}.1`, shape: convShape(hidden, c, side / stride, 1, 1, 0) },
        );
      } else {
        layers.push(
          { name: `${prefix}.0.0`, shape: convShape(cin, hidden, side, 1, 1, 0) },
          { name: `${prefix}.1.0`, shape: dwconvShape(hidden, side, 3, stride, 1) },
          { name: `${prefix}.2`, shape: convShape(hidden, c, side / stride, 1, 1, 0) },
        );
      }
      side /= stride;
      cin = c;
      index += 1;
    }
  }
  layers.push({ name: `features.${index}.0`, shape: convShape(cin, 1280, side, 1, 1, 0) });
  return layers;
}

export const MOBILENETV2_IMAGENET: ModelTable = {
  name: 'mobilenetv2-imagenet',
  dataset: 'imagenet',
  layers: [...features(), { name: 'classifier.1', shape: fcShape(1280, 1000) }],
};
