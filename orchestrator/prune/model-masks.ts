/**
 * A mapping applied to an ONNX model's own weights: for every layer the mapping names, the keep-mask the agent
 * would time (cost-model/masks.ts, bit for bit the agent's), in the GEMM view and in the weight's own layout.
 * Pure: the parsed model and mapping in, masks or a PruneInputError naming the file and node out. Used by
 * `prunelab prune` (writes them) and `prunelab evaluate --mapping` (applies them in memory).
 */
import { shapeKey } from '../../config/shape.ts';
import { computeMask, type LayerMask, type MaskSpec, maskFnv1a } from '../../cost-model/index.ts';
import type { OnnxLayer, OnnxModel } from '../models/onnx.ts';
import { PruneInputError } from './errors.ts';
import type { MappingForPruning } from './read-mapping.ts';

export interface LayerPruning {
  readonly layer: OnnxLayer;
  readonly spec: MaskSpec;
  /** GEMM view (what the agent masks and hashes). */
  readonly mask: LayerMask;
  /** The same mask in the initializer's own layout (its dims, C order): 1 kept, 0 removed. */
  readonly ownMask: Uint8Array;
  readonly maskFnv1a: string;
}

export interface ModelPruning {
  readonly layers: readonly LayerPruning[];
  /** ONNX layers the mapping left out because its LUT could not price them: kept dense, said so. */
  readonly leftDense: readonly { readonly name: string; readonly node: string; readonly reason: string }[];
}

export interface PruneFiles {
  readonly model: string;
  readonly mapping: string;
  /** sha256 of the model file, compared with the one the mapping recorded (when it did). */
  readonly modelSha256: string;
}

/** The GEMM-view mask in the weight's own layout: MatMul and Gemm transB=0 store [in][out], the transpose. */
export function ownLayout(layer: OnnxLayer, gemmMask: Uint8Array): Uint8Array {
  if (!layer.gemmTransposed) return gemmMask;
  const rows = layer.shape.cout; // GEMM rows: outputs
  const cols = layer.shape.cin;
  const own = new Uint8Array(gemmMask.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) own[c * rows + r] = gemmMask[r * cols + c] as number;
  return own;
}

function skippedReason(model: OnnxModel, name: string): string | undefined {
  const hit = model.skipped.find(
    (s) => s.node === name || s.reason.includes(`'${name}.weight'`) || s.reason.includes(`'${name}'`),
  );
  return hit === undefined
    ? undefined
    : `ONNX node ${hit.opType} '${hit.node}' cannot be pruned here: ${hit.reason}`;
}

function checkSameModel(mapping: MappingForPruning, files: PruneFiles): void {
  if (mapping.model.source !== 'onnx') {
    throw new PruneInputError(
      `${files.mapping} was made for the built-in model '${mapping.model.name}', not for an ONNX file; run ` +
        `\`prunelab map --model ${files.model} ...\` and prune with that mapping.`,
      { file: files.mapping, option: '--mapping' },
    );
  }
  if (mapping.model.sha256 !== undefined && mapping.model.sha256 !== files.modelSha256) {
    throw new PruneInputError(
      `${files.mapping} was made for another model file (sha256 ${mapping.model.sha256.slice(0, 16)}...; ` +
        `${files.model} is ${files.modelSha256.slice(0, 16)}...). Map this model first: ` +
        `\`prunelab map --model ${files.model} ...\`.`,
      { file: files.mapping, option: '--mapping' },
    );
  }
}

export function modelPruning(model: OnnxModel, mapping: MappingForPruning, files: PruneFiles): ModelPruning {
  checkSameModel(mapping, files);
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const mapped = new Set<string>();
  const layers: LayerPruning[] = [];
  for (const [index, choice] of mapping.layers.entries()) {
    const layer = byName.get(choice.name);
    if (layer === undefined) {
      const known = model.layers.map((l) => l.name);
      throw new PruneInputError(
        `${files.mapping}: layers[${index}] '${choice.name}' is not a prunable layer of ${files.model}` +
          `; ${skippedReason(model, choice.name) ?? `the model's layers are ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', ...' : ''}`}. ` +
          'The mapping was made for another model: map this one first.',
        { file: files.mapping, node: choice.name, option: '--mapping' },
      );
    }
    if (choice.shapeKey !== undefined && choice.shapeKey !== shapeKey(layer.shape)) {
      throw new PruneInputError(
        `${files.mapping}: layers[${index}] '${choice.name}' has shape ${choice.shapeKey}, but ONNX node ` +
          `'${layer.node}' of ${files.model} is ${shapeKey(layer.shape)}: the mapping was made for another model.`,
        { file: files.mapping, node: layer.node, option: '--mapping' },
      );
    }
    if (mapped.has(choice.name)) {
      throw new PruneInputError(`${files.mapping}: layers[${index}] '${choice.name}' is listed twice`, {
        file: files.mapping,
        node: layer.node,
        option: '--mapping',
      });
    }
    mapped.add(choice.name);
    const spec: MaskSpec = {
      scheme: choice.scheme,
      block: choice.block,
      sparsity: choice.sparsity,
      ...(choice.bcrRowShare === undefined ? {} : { bcrRowShare: choice.bcrRowShare }),
    };
    let mask: LayerMask;
    try {
      mask = computeMask(layer.weights, layer.shape, spec);
    } catch (error) {
      throw new PruneInputError(
        `${files.mapping}: layers[${index}] '${choice.name}' (ONNX node '${layer.node}'): ${(error as Error).message}`,
        { file: files.mapping, node: layer.node, option: '--mapping' },
        { cause: error },
      );
    }
    layers.push({ layer, spec, mask, ownMask: ownLayout(layer, mask.mask), maskFnv1a: maskFnv1a(mask.mask) });
  }
  const unpriced = new Map((mapping.unpriced ?? []).map((u) => [u.name, u.reason]));
  const leftDense: ModelPruning['leftDense'][number][] = [];
  for (const layer of model.layers) {
    if (mapped.has(layer.name)) continue;
    const reason = unpriced.get(layer.name);
    if (reason === undefined) {
      throw new PruneInputError(
        `${files.mapping} does not name layer '${layer.name}' (ONNX node '${layer.node}') of ${files.model}, ` +
          'neither in layers nor in unpriced: the mapping was made for another model. Map this one first.',
        { file: files.mapping, node: layer.node, option: '--mapping' },
      );
    }
    leftDense.push({ name: layer.name, node: layer.node, reason: `not priced by the LUT: ${reason}` });
  }
  const weightUse = new Map<string, string>();
  for (const p of layers) {
    const other = weightUse.get(p.layer.weightName);
    if (other !== undefined) {
      throw new PruneInputError(
        `${files.model}: initializer '${p.layer.weightName}' is the weight of two nodes ('${other}' and ` +
          `'${p.layer.node}'); one set of zeros cannot serve two masks. Give each node its own weight.`,
        { file: files.model, node: p.layer.node },
      );
    }
    weightUse.set(p.layer.weightName, p.layer.node);
  }
  return { layers, leftDense };
}
