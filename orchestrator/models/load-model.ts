/**
 * `--model NAME|FILE.onnx` -> the layers to map. A built-in name gives its layer table (weights: the agent's
 * seeded ones, made by the mapper); a path gives the ONNX file's layers with their real weights. Read (I/O)
 * here, parse (pure) in onnx.ts.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { getModel, MODEL_NAMES } from '../../config/models/index.ts';
import type { LayerShape } from '../../config/types.ts';
import { ModelNotFoundError } from './errors.ts';
import { parseOnnxModel, type SkippedNode } from './onnx.ts';

export interface LoadedModel {
  readonly name: string;
  readonly source: 'built-in' | 'onnx';
  readonly layers: readonly {
    readonly name: string;
    readonly shape: LayerShape;
    readonly weights?: Float32Array;
    /** ONNX only: the node's name and which layer feeds it (OnnxLayer.inputFrom). */
    readonly node?: string;
    readonly inputFrom?: string | null;
  }[];
  /** ONNX nodes with weights the agent cannot time (left out, listed). */
  readonly skipped: readonly SkippedNode[];
  /** Where the proxy's weights come from, in words. */
  readonly weightsFrom: string;
  /** sha256 of the ONNX file (absent for built-in tables): `prunelab prune` checks a mapping against it. */
  readonly sha256?: string;
}

export async function loadModel(model: string, seed: number): Promise<LoadedModel> {
  const table = getModel(model);
  if (table !== undefined) {
    return {
      name: table.name,
      source: 'built-in',
      layers: table.layers,
      skipped: [],
      weightsFrom: `seeded (the agent's weights for seed ${seed}: no trained weights for a built-in table)`,
    };
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(model);
  } catch (error) {
    throw new ModelNotFoundError(model, MODEL_NAMES, { cause: error });
  }
  const parsed = parseOnnxModel(bytes, model);
  return {
    name: parsed.name,
    source: 'onnx',
    layers: parsed.layers,
    skipped: parsed.skipped,
    weightsFrom: `the ONNX file's initializers (${model})`,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}
