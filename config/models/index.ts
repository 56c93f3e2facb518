/** The built-in model layer tables, by name. */
import type { ModelTable } from '../types.ts';
import { MOBILENETV1_IMAGENET } from './mobilenetv1-imagenet.ts';
import { MOBILENETV2_075_IMAGENET, MOBILENETV2_IMAGENET } from './mobilenetv2-imagenet.ts';
import { RESNET18_CIFAR10 } from './resnet18-cifar10.ts';
import { RESNET50_IMAGENET } from './resnet50-imagenet.ts';
import { VGG16_CIFAR10 } from './vgg16-cifar10.ts';

export const MODEL_NAMES = [
  'vgg16-cifar10',
  'resnet18-cifar10',
  'resnet50-imagenet',
  'mobilenetv2-imagenet',
  'mobilenetv1-imagenet',
  'mobilenetv2-0.75-imagenet',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const MODELS: Readonly<Record<ModelName, ModelTable>> = {
  'vgg16-cifar10': VGG16_CIFAR10,
  'resnet18-cifar10': RESNET18_CIFAR10,
  'resnet50-imagenet': RESNET50_IMAGENET,
  'mobilenetv2-imagenet': MOBILENETV2_IMAGENET,
  'mobilenetv1-imagenet': MOBILENETV1_IMAGENET,
  'mobilenetv2-0.75-imagenet': MOBILENETV2_075_IMAGENET,
};

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/** Returns the table, or undefined for an unknown name (callers say where the name came from). */
export function getModel(name: string): ModelTable | undefined {
  return isModelName(name) ? MODELS[name] : undefined;
}

/**
 * A `sweep.models` entry that names an ONNX file rather than a built-in table: it ends in `.onnx` (any case).
 * The orchestrator reads the file (orchestrator/models/); config/ only tells the two kinds apart.
 */
export function isOnnxPath(entry: string): boolean {
  return /\.onnx$/i.test(entry);
}
