/**
 * MobileNet-V1 for ImageNet (width 1.0, 224x224; Howard et al. 2017, Table 1): a 3x3/2 stem of 32, then 13
 * depthwise-separable blocks (3x3 depthwise carrying the stride, 1x1 pointwise), global average pool, FC
 * 1024 -> 1000. 569 M multiply-adds in the paper. Layer names follow the common PyTorch port (`model.N.0`
 * for the stem, `model.N.0` / `model.N.3` for a block's depthwise and pointwise convs, `fc`).
 */
import { convShape, dwconvShape, fcShape } from '../shape.ts';
import type { ModelLayer, ModelTable } from '../types.ts';

/** Each block: output channels of its pointwise conv, stride of its depthwise conv. */
const BLOCKS: readonly (readonly [cout: number, stride: number])[] = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

function layers(): ModelLayer[] {
  let side = 224;
  const out: ModelLayer[] = [{ name: 'model.0.0', shape: convShape(3, 32, side, 3, 2, 1) }];
  side /= 2;
  let cin = 32;
  BLOCKS.forEach(([cout, stride], i) => {
    out.push(
      { name: `model.${i + 1}.0`, shape: dwconvShape(cin, side, 3, stride, 1) },
      { name: `model.${i + 1}.3`, shape: convShape(cin, cout, side / stride, 1, 1, 0) },
    );
    side /= stride;
    cin = cout;
  });
  return out;
}

export const MOBILENETV1_IMAGENET: ModelTable = {
  name: 'mobilenetv1-imagenet',
  dataset: 'imagenet',
  layers: [...layers(), { name: 'fc', shape: fcShape(1024, 1000) }],
};
