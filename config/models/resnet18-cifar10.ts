/**
 * ResNet-18 for CIFAR-10 (He et al. 2016, BasicBlock [2,2,2,2]) in its common CIFAR form
 * (kuangliu/pytorch-cifar): a 3x3 stride-1 stem of 64 filters on 32x32, no max-pool, four stages of
 * 64/128/256/512 channels at 32/16/8/4 pixels, the stride on the first 3x3 of stages 2-4, 1x1 stride-2
 * projection shortcuts, global average pool, FC 512 -> 10. About 0.56 GMACs.
 * Names follow torchvision's module paths (`layer2.0.downsample.0`, `fc`) rather than kuangliu's
 * (`shortcut.0`, `linear`) so that all four tables read alike.
 */
import { convShape, fcShape } from '../shape.ts';
import type { ModelLayer, ModelTable } from '../types.ts';

function basicStage(
  stage: number,
  cin: number,
  cout: number,
  inputSide: number,
  stride: number,
): ModelLayer[] {
  const side = inputSide / stride;
  const layers: ModelLayer[] = [
    { name: `layer${stage}.0.conv1`, shape: convShape(cin, cout, inputSide, 3, stride, 1) },
    { name: `layer${stage}.0.conv2`, shape: convShape(cout, cout, side, 3, 1, 1) },
  ];
  if (stride !== 1 || cin !== cout) {
    layers.push({
      name: `layer${stage}.0.downsample.0`,
      shape: convShape(cin, cout, inputSide, 1, stride, 0),
    });
  }
  layers.push(
    { name: `layer${stage}.1.conv1`, shape: convShape(cout, cout, side, 3, 1, 1) },
    { name: `layer${stage}.1.conv2`, shape: convShape(cout, cout, side, 3, 1, 1) },
  );
  return layers;
}

export const RESNET18_CIFAR10: ModelTable = {
  name: 'resnet18-cifar10',
  dataset: 'cifar10',
  layers: [
    { name: 'conv1', shape: convShape(3, 64, 32, 3, 1, 1) },
    ...basicStage(1, 64, 64, 32, 1),
    ...basicStage(2, 64, 128, 32, 2),
    ...basicStage(3, 128, 256, 16, 2),
    ...basicStage(4, 256, 512, 8, 2),
    { name: 'fc', shape: fcShape(512, 10) },
  ],
};
