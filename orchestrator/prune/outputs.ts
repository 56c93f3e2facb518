/**
 * The files `prunelab prune` writes, as bytes (pure): the pruned ONNX (the input's bytes with the masked
 * weights zeroed in place, nothing else touched), the masks `.npz` (one boolean array per weight initializer,
 * in its own shape) and the JSON sidecar that says how each mask was made.
 */
import { shapeKey } from '../../config/shape.ts';
import { encodeBoolNpz } from '../numpy/npz.ts';
import { PruneInputError } from './errors.ts';
import { locateInitializers, zeroMasked } from './initializers.ts';
import type { ModelPruning } from './model-masks.ts';

export const MASKS_SCHEMA = 'prunelab.masks/v1';

/** The model's bytes with every masked weight set to +0.0; same length, every other byte unchanged. */
export function prunedOnnxBytes(
  modelBytes: Uint8Array,
  pruning: ModelPruning,
  modelFile: string,
): Uint8Array {
  let located: ReturnType<typeof locateInitializers>;
  try {
    located = locateInitializers(modelBytes);
  } catch (error) {
    throw new PruneInputError(
      `${modelFile}: cannot walk the protobuf to its initializers (${(error as Error).message}); the file is truncated or corrupt.`,
      { file: modelFile, option: '--model' },
      { cause: error },
    );
  }
  // A copy: on a Node Buffer (what readFile returns) .slice() is a view, and the zeros would land in the input.
  const out = new Uint8Array(modelBytes);
  for (const p of pruning.layers) {
    const init = located.get(p.layer.weightName);
    const where = `initializer '${p.layer.weightName}' of ONNX node '${p.layer.node}'`;
    if (init === undefined) {
      throw new PruneInputError(`${modelFile}: ${where} is not a top-level graph initializer`, {
        file: modelFile,
        node: p.layer.node,
      });
    }
    if (init.dataLocation === 1) {
      throw new PruneInputError(
        `${modelFile}: ${where} keeps its data in an external file; save the model with the weights inside ` +
          '(onnx.save_model(..., save_as_external_data=False)) and prune that.',
        { file: modelFile, node: p.layer.node },
      );
    }
    if (init.dataType !== 1) {
      throw new PruneInputError(
        `${modelFile}: ${where} has ONNX data type ${init.dataType}; prune writes fp32 (type 1) weights only. ` +
          'Export the model in fp32, prune it, then convert.',
        { file: modelFile, node: p.layer.node },
      );
    }
    try {
      zeroMasked(modelBytes, init, p.ownMask, out);
    } catch (error) {
      throw new PruneInputError(`${modelFile}: ${where}: ${(error as Error).message}`, {
        file: modelFile,
        node: p.layer.node,
      });
    }
  }
  return out;
}

export function masksNpzBytes(pruning: ModelPruning): Uint8Array {
  return encodeBoolNpz(
    new Map(
      pruning.layers.map((p) => [p.layer.weightName, { values: p.ownMask, shape: p.layer.weightDims }]),
    ),
  );
}

export interface MasksSidecar {
  readonly schema: typeof MASKS_SCHEMA;
  readonly model: { readonly path: string; readonly sha256: string };
  readonly mapping: { readonly path: string; readonly choiceHash: string | null };
  readonly masks: string;
  readonly layout: string;
  readonly layers: readonly {
    readonly weight: string;
    readonly node: string;
    readonly layer: string;
    readonly opType: string;
    readonly shape: readonly number[];
    readonly shapeKey: string;
    readonly scheme: string;
    readonly block: string | null;
    readonly sparsity: number;
    readonly density: number;
    readonly keptEnergy: number;
    readonly keptBlocks: number;
    readonly maskFnv1a: string;
  }[];
  readonly leftDense: ModelPruning['leftDense'];
}

export function masksSidecar(
  pruning: ModelPruning,
  files: { model: string; modelSha256: string; mapping: string; choiceHash: string | null; masks: string },
): MasksSidecar {
  return {
    schema: MASKS_SCHEMA,
    model: { path: files.model, sha256: files.modelSha256 },
    mapping: { path: files.mapping, choiceHash: files.choiceHash },
    masks: files.masks,
    layout:
      "one boolean array per weight initializer, named as in the ONNX file, in the weight's own shape (True = kept); " +
      'maskFnv1a is the FNV-1a 64 hash of the same mask in the GEMM view, as the agent reports it',
    layers: pruning.layers.map((p) => ({
      weight: p.layer.weightName,
      node: p.layer.node,
      layer: p.layer.name,
      opType: p.layer.opType,
      shape: p.layer.weightDims,
      shapeKey: shapeKey(p.layer.shape),
      scheme: p.spec.scheme,
      block: p.spec.block,
      sparsity: p.spec.sparsity,
      density: p.mask.density,
      keptEnergy: p.mask.keptEnergy,
      keptBlocks: p.mask.keptBlocks,
      maskFnv1a: p.maskFnv1a,
    })),
    leftDense: pruning.leftDense,
  };
}
