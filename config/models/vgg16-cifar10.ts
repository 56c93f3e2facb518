/**
 * VGG-16 for CIFAR-10 (Simonyan & Zisserman 2015, configuration D) in its common CIFAR form
 * (kuangliu/pytorch-cifar, also the pruning literature's): 13 3x3 stride-1 pad-1 convs with batch norm,
 * five 2x2 max-pools (32 -> 1 pixel), and ONE classifier layer, FC 512 -> 10 (not the 512 -> 512 -> 10
 * variant). About 0.31 GMACs.
 * Names are torchvision's `vgg16_bn` module paths: each conv is followed by BatchNorm and ReLU (3 modules)
 * and each stage by a MaxPool, so the convs sit at features.0, 3, 7, 10, 14, ...; the FC is `classifier`.
 */
import { convShape, fcShape } from '../shape.ts';
import type { ModelLayer, ModelTable } from '../types.ts';

/** Output channels per stage; every stage ends with a 2x2 max-pool. */
const STAGES: readonly (readonly number[])[] = [
  [64, 64],
  [128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [512, 512, 512],
];

function features(): ModelLayer[] {
  const layers: ModelLayer[] = [];
  let index = 0;
  let cin = 3;
  let side = 32;
  for (const stage of STAGES) {
    for (const cout of stage) {
      layers.push({ name: `features.${index}`, shape: convShape(cin, cout, side, 3, 1, 1) });
      index += 3; // Conv2d, BatchNorm2d, ReLU
      cin = cout;
    }
    index += 1; // MaxPool2d
    side /= 2;
  }
  return layers;
}

export const VGG16_CIFAR10: ModelTable = {
  name: 'vgg16-cifar10',
  dataset: 'cifar10',
  layers: [...features(), { name: 'classifier', shape: fcShape(512, 10) }],
};
