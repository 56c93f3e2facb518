/**
 * The ONNX files of a sweep (`sweep.models` entries that end in .onnx) -> their timed layers and one weights
 * blob each, read and checked before anything is stored: a file that cannot be swept is an OnnxModelError
 * (exit 2) naming the file and the node, and no run is created.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { basename, join } from 'node:path';
import { isOnnxPath } from '../../config/models/index.ts';
import { OnnxModelError } from './errors.ts';
import { type OnnxLayer, parseOnnxModel, type SkippedNode } from './onnx.ts';
import { type WeightsBlob, writeWeightsBlob } from './weights-blob.ts';

export interface SweepOnnxModel {
  /** The entry as the config holds it (an absolute path once config/read.ts or the CLI resolved it). */
  readonly path: string;
  /** How cases, the store and the report name the model: the file's name, or its path when two share a name. */
  readonly label: string;
  /** sha256 of the ONNX file. */
  readonly fileSha256: string;
  readonly layers: readonly OnnxLayer[];
  /** Weighted nodes the agent cannot time, each with its reason (listed once, never silently dropped). */
  readonly skipped: readonly SkippedNode[];
  readonly blob: WeightsBlob;
}

/** Where a sweep writes weights files unless told otherwise: one folder per user under the OS temp folder. */
export function defaultWeightsDir(): string {
  return join(tmpdir(), `prunelab-weights-${userInfo().uid}`);
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new OnnxModelError(
      `sweep.models: cannot read the ONNX file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); ` +
        'expected a readable .onnx file (paths in a config file are relative to that file, --model paths to ' +
        'the working directory).',
      { source: path },
      { cause: error },
    );
  }
}

/** fp16 or int8 weights are not silently left out of a sweep of the user's own model: the file is refused. */
function refuseUnreadWeights(path: string, skipped: readonly SkippedNode[]): void {
  const typed = skipped.find((node) => node.dataType !== undefined);
  if (typed === undefined) return;
  throw new OnnxModelError(
    `${path}: ${typed.opType} node '${typed.node}': ${typed.reason}. prunelab sweeps a model with its own ` +
      'weights, and the agent times fp32: export the model in fp32 (e.g. model.float() before torch.onnx.export).',
    { source: path, node: typed.node, opType: typed.opType },
  );
}

/** The blob and the store key layers by node name: two timed nodes of one name would be one. */
function refuseDuplicateNodes(path: string, layers: readonly OnnxLayer[]): void {
  const seen = new Set<string>();
  for (const layer of layers) {
    if (seen.has(layer.node)) {
      throw new OnnxModelError(
        `${path}: two ${layer.opType} nodes are both named '${layer.node}'; expected unique node names, as ` +
          'torch.onnx.export writes them. Rename one (onnx.helper, or the exporter).',
        { source: path, node: layer.node, opType: layer.opType },
      );
    }
    seen.add(layer.node);
  }
}

/** The labels: each file's name, or the whole path for files that share a name. */
function labelsOf(paths: readonly string[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const path of paths) count.set(basename(path), (count.get(basename(path)) ?? 0) + 1);
  return new Map(paths.map((path) => [path, (count.get(basename(path)) ?? 0) > 1 ? path : basename(path)]));
}

/**
 * Reads, parses and checks every ONNX entry of `models` (built-in names are left to config/models), and
 * writes each one's weights blob into `blobDir`. Keyed by the entry as given.
 */
export async function loadSweepModels(
  models: readonly string[],
  blobDir: string,
): Promise<ReadonlyMap<string, SweepOnnxModel>> {
  const paths = models.filter(isOnnxPath);
  const labels = labelsOf(paths);
  const loaded = new Map<string, SweepOnnxModel>();
  if (paths.length > 0) await mkdir(blobDir, { recursive: true });
  for (const path of paths) {
    const bytes = await readModelFile(path);
    const parsed = parseOnnxModel(bytes, path);
    refuseUnreadWeights(path, parsed.skipped);
    refuseDuplicateNodes(path, parsed.layers);
    loaded.set(path, {
      path,
      label: labels.get(path) ?? basename(path),
      fileSha256: createHash('sha256').update(bytes).digest('hex'),
      layers: parsed.layers,
      skipped: parsed.skipped,
      blob: await writeWeightsBlob(parsed, blobDir),
    });
  }
  return loaded;
}
