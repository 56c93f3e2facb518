/**
 * The ONNX Runtime anchor's layers and agent cases: every distinct conv and depthwise shape of the four built-in
 * models the issue names (VGG-16 and ResNet-18 for CIFAR-10, ResNet-50 and MobileNet-V2 for ImageNet), each
 * timed dense by the agent at 1 and 2 threads (ONNX Runtime times the same shapes in kernels.ts). Pure.
 */
import { MODELS } from '../../config/models/index.ts';
import { shapeKey } from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import type { BenchCase, BenchLayer, LayerGroup } from './cases.ts';

export const ANCHOR_MODELS = [
  'vgg16-cifar10',
  'resnet18-cifar10',
  'resnet50-imagenet',
  'mobilenetv2-imagenet',
] as const;

export const ANCHOR_THREADS = [1, 2] as const;

/** The shape classes the targets are read by, e.g. `3x3 s2`, `1x1 s1`, `dw 3x3 s1`, `stem 7x7 s2`. */
export function shapeClass(shape: LayerShape): string {
  const kernel = `${shape.k}x${shape.k} s${shape.stride}`;
  if (shape.op === 'dwconv') return `dw ${kernel}`;
  if (shape.op === 'fc') return 'fc';
  return shape.cin <= 4 ? `stem ${kernel}` : kernel;
}

function groupOf(shape: LayerShape): LayerGroup {
  if (shape.op === 'dwconv') return 'dw';
  if (shape.op === 'fc') return 'fc';
  return shape.k === 1 ? '1x1' : shape.k === 3 ? '3x3' : 'other';
}

/**
 * Every distinct conv/dwconv shape of ANCHOR_MODELS in model order (107 shapes over all six built-in tables,
 * 68 over these four). quick: the first shape of each class.
 */
export function anchorLayers(quick: boolean): readonly BenchLayer[] {
  const byKey = new Map<string, BenchLayer>();
  for (const name of ANCHOR_MODELS)
    for (const { shape } of MODELS[name].layers) {
      if (shape.op === 'fc') continue;
      const key = shapeKey(shape);
      if (!byKey.has(key)) byKey.set(key, { key, group: groupOf(shape), shape, threadsPair: true });
    }
  const all = [...byKey.values()];
  if (!quick) return all;
  const classes = new Set<string>();
  return all.filter((layer) => {
    const c = shapeClass(layer.shape);
    if (classes.has(c)) return false;
    classes.add(c);
    return true;
  });
}

/** Dense at each of ANCHOR_THREADS on every anchor layer. */
export function anchorCases(layers: readonly BenchLayer[]): readonly BenchCase[] {
  return layers.flatMap((layer) =>
    ANCHOR_THREADS.map(
      (threads): BenchCase => ({
        id: `anchor: ${layer.key} | dense | 0 | t${threads}`,
        role: 'anchor',
        layer,
        variant: { scheme: 'dense' },
        sparsity: 0,
        threads,
      }),
    ),
  );
}
