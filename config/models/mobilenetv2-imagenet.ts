/**
 * MobileNet-V2 for ImageNet as torchvision builds it (width 1.0, 224x224): `features.0.0` 3x3/2 stem of 32,
 * 17 inverted residual blocks from the (t, c, n, s) table below, `features.18.0` 1x1 320 -> 1280, global
 * average pool, `classifier.1` FC 1280 -> 1000. About 0.30 GMACs (torchvision: 0.30 "GFLOPS").
 * Inside a block with expansion t != 1: `conv.0.0` 1x1 expansion, `conv.1.0` 3x3 depthwise (carries the
 * stride), `conv.2` 1x1 linear projection. With t = 1 (features.1) there is no expansion: `conv.0.0` is
 * the depthwise conv and `conv.1` the projection.
 * https://github.com/pytorch/vision/blob/main/torchvision/models/mobilenetv2.py
 *
 * The width multiplier (Sandler et al. 2018, section 6.1) scales every channel count, rounded as torchvision's
 * `_make_divisible` does (to a multiple of 8, never more than 10% down); the last 1x1 stays at 1280 below
 * width 1. Width 0.75 is the published 0.75 model: 209 M MACs at 224x224 (the paper's Table 6 / the TF-Slim
 * model zoo list 209 M). Its layers are channel-scaled neighbours of the width-1.0 ones, the shapes a lab
 * measures when a model family ships several widths.
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

/** torchvision's _make_divisible(v, 8): nearest multiple of 8, at least 8, not below 90% of v. */
function divisibleBy8(value: number): number {
  const rounded = Math.max(8, Math.floor((value + 4) / 8) * 8);
  return rounded < 0.9 * value ? rounded + 8 : rounded;
}

function features(width: number): ModelLayer[] {
  let side = 224;
  const stem = divisibleBy8(32 * width);
  const layers: ModelLayer[] = [{ name: 'features.0.0', shape: convShape(3, stem, side, 3, 2, 1) }];
  side /= 2;
  let cin = stem;
  let index = 1;
  for (const [t, channels, n, s] of SETTING) {
    const c = divisibleBy8(channels * width);
    for (let repeat = 0; repeat < n; repeat++) {
      const stride = repeat === 0 ? s : 1;
      const hidden = Math.round(cin * t);
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
  layers.push({ name: `features.${index}.0`, shape: convShape(cin, lastChannels(width), side, 1, 1, 0) });
  return layers;
}

function lastChannels(width: number): number {
  return divisibleBy8(1280 * Math.max(1, width));
}

function mobilenetV2(name: string, width: number): ModelTable {
  return {
    name,
    dataset: 'imagenet',
    layers: [...features(width), { name: 'classifier.1', shape: fcShape(lastChannels(width), 1000) }],
  };
}

export const MOBILENETV2_IMAGENET: ModelTable = mobilenetV2('mobilenetv2-imagenet', 1);
export const MOBILENETV2_075_IMAGENET: ModelTable = mobilenetV2('mobilenetv2-0.75-imagenet', 0.75);
