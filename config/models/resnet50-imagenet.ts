/**
 * ResNet-50 for ImageNet as torchvision builds it (v1.5): 7x7/2 stem of 64 filters on 224x224, 3x3/2
 * max-pool to 56x56, bottlenecks [3,4,6,3] of 1x1 -> 3x3 -> 1x1 (expansion 4) with the stride on the 3x3
 * (v1.5; v1 had it on the first 1x1), a 1x1 `downsample.0` projection on the first block of each stage,
 * global average pool, FC 2048 -> 1000. About 4.1 GMACs (torchvision: 4.09 "GFLOPS", i.e. GMACs).
 * https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py
 */
import { convShape, fcShape } from '../shape.ts';
import type { ModelLayer, ModelTable } from '../types.ts';

const EXPANSION = 4;

function bottleneckStage(
  stage: number,
  blocks: number,
  cin: number,
  width: number,
  inputSide: number,
  stride: number,
): ModelLayer[] {
  const cout = width * EXPANSION;
  const side = inputSide / stride;
  const layers: ModelLayer[] = [];
  for (let block = 0; block < blocks; block++) {
    const first = block === 0;
    const blockIn = first ? cin : cout;
    const blockStride = first ? stride : 1;
    const blockSide = first ? inputSide : side;
    const prefix = `layer${stage}.${block}`;
    layers.push(
      { name: `${prefix}.conv1`, shape: convShape(blockIn, width, blockSide, 1, 1, 0) },
      { name: `${prefix}.conv2`, shape: convShape(width, width, blockSide, 3, blockStride, 1) },
      { name: `${prefix}.conv3`, shape: convShape(width, cout, side, 1, 1, 0) },
    );
    if (first) {
      layers.push({
        name: `${prefix}.downsample.0`,
        shape: convShape(blockIn, cout, blockSide, 1, blockStride, 0),
      });
    }
  }
  return layers;
}

export const RESNET50_IMAGENET: ModelTable = {
  name: 'resnet50-imagenet',
  dataset: 'imagenet',
  layers: [
    { name: 'conv1', shape: convShape(3, 64, 224, 7, 2, 3) },
    ...bottleneckStage(1, 3, 64, 64, 56, 1),
    ...bottleneckStage(2, 4, 256, 128, 56, 2),
    ...bottleneckStage(3, 6, 512, 256, 28, 2),
    ...bottleneckStage(4, 3, 1024, 512, 14, 2),
    { name: 'fc', shape: fcShape(2048, 1000) },
  ],
};
