/**
 * One weights file per ONNX model, for the agent: every timed layer's weights in the GEMM view (config/shape.ts:
 * `cout` rows of `cin/group*kh*kw` columns, the column order of cost-model/masks.ts and orchestrator/prune),
 * as raw little-endian fp32, one layer after another in graph order. A plan line points into it with
 * `weights: {path, offset, sha256}` (config/agent-protocol.ts); the agent checks the sha256 of the whole file.
 *
 * The file is named by its sha256, so a device that already has it (pushed by an earlier run) is not sent it
 * again: the transports skip a push whose content hash matches, as for the agent binary.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { OnnxLayer } from './onnx.ts';

export interface WeightsBlobLayout {
  readonly bytes: Uint8Array;
  /** sha256 of the whole file, 64 lowercase hex digits. */
  readonly sha256: string;
  /** Byte offset of each layer's weights, by ONNX node name. */
  readonly offsets: ReadonlyMap<string, number>;
}

export interface WeightsBlob {
  readonly path: string;
  /** The file's name alone (`prunelab-weights-<sha256>.bin`): the same on every device. */
  readonly fileName: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly offsets: ReadonlyMap<string, number>;
}

/** The blob's bytes and where each node's weights start (pure). Node names must be unique (the loader checks). */
export function weightsBlobLayout(model: { readonly layers: readonly OnnxLayer[] }): WeightsBlobLayout {
  const totalFloats = model.layers.reduce((sum, layer) => sum + layer.weights.length, 0);
  const bytes = new Uint8Array(totalFloats * 4);
  const view = new DataView(bytes.buffer);
  const offsets = new Map<string, number>();
  let at = 0;
  for (const layer of model.layers) {
    offsets.set(layer.node, at);
    // DataView, not a Float32Array over the buffer: the file is little-endian whatever the host is.
    for (const value of layer.weights) {
      view.setFloat32(at, value, true);
      at += 4;
    }
  }
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), offsets };
}

/** Where a sweep writes weights files unless told otherwise: one folder per user under the OS temp folder. */
export function defaultWeightsDir(): string {
  return join(tmpdir(), `prunelab-weights-${userInfo().uid}`);
}

export function weightsBlobFileName(sha256: string): string {
  return `prunelab-weights-${sha256}.bin`;
}

/**
 * Writes the model's blob into `dir` (created when missing) unless a file of that name and size is there
 * already; written to a temporary name and renamed, so a reader never sees half a blob.
 */
export async function writeWeightsBlob(
  model: { readonly layers: readonly OnnxLayer[] },
  dir: string,
): Promise<WeightsBlob> {
  const layout = weightsBlobLayout(model);
  const fileName = weightsBlobFileName(layout.sha256);
  const path = join(dir, fileName);
  const sizeBytes = layout.bytes.length;
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size !== sizeBytes) {
    await mkdir(dir, { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, layout.bytes);
    await rename(temporary, path);
  }
  return { path, fileName, sha256: layout.sha256, sizeBytes, offsets: layout.offsets };
}
