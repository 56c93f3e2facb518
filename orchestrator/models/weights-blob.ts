/**
 * A model's real weights as ONE file the agent reads (plan field `weights`, config/agent-protocol.ts
 * WeightsRef): every layer's GEMM-view weights (OnnxLayer.weights: conv [cout][cin*k*k] with columns
 * (ci*k + ky)*k + kx as ONNX stores them, dwconv [c][k*k], fc [out][in]: the transposed MatMul and Gemm
 * transB=0 weights already turned back by onnx.ts) as raw little-endian fp32, back to back in model order.
 * Its name holds its sha256, so a device keeps one copy per content and a push never overwrites a blob an
 * agent is reading: the agent binary's content-hash scheme (sweep/run-sweep.ts).
 *
 * blobBytes is pure; writeWeightsBlob writes it (atomically, once per content) and pushWeightsBlob copies it
 * to a device.
 */
import { createHash } from 'node:crypto';
import { rename, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { WeightsRef } from '../../config/agent-protocol.ts';
import type { Device } from '../transport/port.ts';

/** Where one layer's weights sit in the blob. */
export interface WeightsBlobLayer {
  /** OnnxLayer.name (the weight initializer without `.weight`, else the node's name). */
  readonly name: string;
  /** The ONNX node's name. */
  readonly node: string;
  readonly offsetBytes: number;
  readonly floats: number;
}

export interface WeightsBlob {
  /** The file on this machine. */
  readonly path: string;
  /** sha256 of the whole file, 64 lowercase hex: what the agent checks. */
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly layers: readonly WeightsBlobLayer[];
  readonly byName: ReadonlyMap<string, WeightsBlobLayer>;
  readonly byNode: ReadonlyMap<string, WeightsBlobLayer>;
}

/** What the blob needs of a layer (OnnxLayer has it). */
export interface BlobLayerInput {
  readonly name: string;
  readonly node: string;
  readonly weights: Float32Array;
}

/** The blob's bytes and where each layer's weights start. Pure. */
export function blobBytes(layers: readonly BlobLayerInput[]): {
  bytes: Uint8Array;
  layers: WeightsBlobLayer[];
} {
  const total = layers.reduce((sum, l) => sum + l.weights.length, 0);
  const bytes = new Uint8Array(total * 4);
  const view = new DataView(bytes.buffer);
  const placed: WeightsBlobLayer[] = [];
  let offsetBytes = 0;
  for (const layer of layers) {
    // DataView with littleEndian: the file is little-endian whatever this machine is.
    layer.weights.forEach((value, i) => {
      view.setFloat32(offsetBytes + i * 4, value, true);
    });
    placed.push({ name: layer.name, node: layer.node, offsetBytes, floats: layer.weights.length });
    offsetBytes += layer.weights.length * 4;
  }
  return { bytes, layers: placed };
}

export function blobFileName(sha256: string): string {
  return `prunelab-weights-${sha256}.bin`;
}

/**
 * Writes the blob into dir as prunelab-weights-<sha256>.bin (kept when a file of that name and size is
 * already there: same name, same content) and returns where every layer's weights are.
 */
export async function writeWeightsBlob(
  model: { readonly layers: readonly BlobLayerInput[] },
  dir: string,
): Promise<WeightsBlob> {
  const { bytes, layers } = blobBytes(model.layers);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const path = join(dir, blobFileName(sha256));
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size !== bytes.length) {
    const partial = `${path}.${process.pid}.partial`;
    await writeFile(partial, bytes);
    await rename(partial, path);
  }
  return {
    path,
    sha256,
    sizeBytes: bytes.length,
    layers,
    byName: new Map(layers.map((l) => [l.name, l])),
    byNode: new Map(layers.map((l) => [l.node, l])),
  };
}

/** The blob's path in a device's work folder: named by content, like the agent binary. */
export function deviceBlobPath(workDir: string, blob: Pick<WeightsBlob, 'sha256'>): string {
  return posix.join(workDir, blobFileName(blob.sha256));
}

/** Copies the blob to the device (host, adb, Appium: the Device port's push) and returns its path there. */
export async function pushWeightsBlob(device: Device, workDir: string, blob: WeightsBlob): Promise<string> {
  const remote = deviceBlobPath(workDir, blob);
  await device.push(blob.path, remote, { mode: 0o644 });
  return remote;
}

/** The plan line's `weights` for one layer of the blob at devicePath. */
export function weightsRef(blob: WeightsBlob, devicePath: string, layer: WeightsBlobLayer): WeightsRef {
  return { path: devicePath, offset: layer.offsetBytes, sha256: blob.sha256 };
}
