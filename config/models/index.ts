/** The built-in model layer tables, by name. TODO(body): tables. */
import type { ModelTable } from '../types.ts';

export const MODEL_NAMES = ['vgg16-cifar10', 'resnet18-cifar10', 'resnet50-imagenet', 'mobilenetv2-imagenet'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const MODELS: Readonly<Record<ModelName, ModelTable>> = {} as Readonly<Record<ModelName, ModelTable>>;

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/** Returns the table, or undefined for an unknown name (callers say where the name came from). */
export function getModel(name: string): ModelTable | undefined {
  return isModelName(name) ? MODELS[name] : undefined;
}
