/**
 * `prunelab prune` as a use case: read the model and the mapping, compute the masks (pure), write the pruned
 * ONNX and, when asked, the masks `.npz` and its JSON sidecar. Every output goes to a temporary file beside
 * its target and is renamed only once all of them are written, so a failure leaves nothing half-written.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type OnnxModel, parseOnnxModel } from '../models/onnx.ts';
import { PruneInputError } from './errors.ts';
import { type ModelPruning, modelPruning } from './model-masks.ts';
import { masksNpzBytes, masksSidecar, prunedOnnxBytes } from './outputs.ts';
import { type MappingForPruning, parseMappingForPruning } from './read-mapping.ts';

export interface LoadedPruning {
  readonly modelBytes: Uint8Array;
  readonly model: OnnxModel;
  readonly modelSha256: string;
  readonly mapping: MappingForPruning;
  readonly pruning: ModelPruning;
}

async function readInput(path: string, option: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new PruneInputError(
      `${option}: cannot read ${resolve(path)} (${(error as Error).message}); expected ${what}`,
      { file: path, option },
      { cause: error },
    );
  }
}

/** Reads an ONNX model and a mapping made for it and computes the mapping's masks on the model's weights. */
export async function loadPruning(modelPath: string, mappingPath: string): Promise<LoadedPruning> {
  const modelBytes = await readInput(modelPath, '--model', 'an .onnx file');
  const model = parseOnnxModel(modelBytes, modelPath);
  const modelSha256 = createHash('sha256').update(modelBytes).digest('hex');
  const mappingText = new TextDecoder().decode(
    await readInput(mappingPath, '--mapping', 'a mapping.json written by `prunelab map`'),
  );
  const mapping = parseMappingForPruning(mappingText, mappingPath);
  const pruning = modelPruning(model, mapping, { model: modelPath, mapping: mappingPath, modelSha256 });
  return { modelBytes, model, modelSha256, mapping, pruning };
}

export interface PruneRequest {
  readonly modelPath: string;
  readonly mappingPath: string;
  readonly outPath: string;
  readonly masksPath?: string;
}

export interface PruneReport {
  readonly model: string;
  readonly mapping: string;
  readonly out: string;
  readonly masks: string | null;
  readonly sidecar: string | null;
  readonly zeroedWeights: number;
  readonly totalWeights: number;
  readonly layers: ReturnType<typeof masksSidecar>['layers'];
  readonly leftDense: ModelPruning['leftDense'];
  readonly skippedNodes: OnnxModel['skipped'];
}

/** `masks.npz` -> `masks.json`; any other name gets `.json` appended. */
export function sidecarPath(masksPath: string): string {
  return masksPath.endsWith('.npz') ? `${masksPath.slice(0, -'.npz'.length)}.json` : `${masksPath}.json`;
}

/** Writes all files or none: temporaries first, then renames (a rename within a folder is atomic). */
async function writeAll(files: readonly { path: string; bytes: Uint8Array | string }[]): Promise<void> {
  const temps = files.map((f) => join(dirname(resolve(f.path)), `.${basename(f.path)}.tmp-${process.pid}`));
  try {
    for (const [i, f] of files.entries()) await writeFile(temps[i] as string, f.bytes);
    for (const [i, f] of files.entries()) await rename(temps[i] as string, f.path);
  } catch (error) {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    throw new PruneInputError(
      `cannot write ${files.map((f) => f.path).join(', ')} (${(error as Error).message}); check the folder exists and is writable`,
      { file: files[0]?.path ?? '', option: '--out' },
      { cause: error },
    );
  }
}

export async function runPrune(request: PruneRequest): Promise<PruneReport> {
  const outputs = [request.outPath, ...(request.masksPath === undefined ? [] : [request.masksPath])].map(
    (p) => resolve(p),
  );
  for (const [option, path] of [
    ['--out', request.outPath],
    ['--masks', request.masksPath],
  ] as const) {
    if (
      path !== undefined &&
      [resolve(request.modelPath), resolve(request.mappingPath)].includes(resolve(path))
    ) {
      throw new PruneInputError(`${option} ${path} would overwrite an input; choose another path`, {
        file: path,
        option,
      });
    }
  }
  if (new Set(outputs).size !== outputs.length) {
    throw new PruneInputError('--out and --masks name the same file; choose two paths', {
      file: request.outPath,
      option: '--masks',
    });
  }
  const loaded = await loadPruning(request.modelPath, request.mappingPath);
  const pruned = prunedOnnxBytes(loaded.modelBytes, loaded.pruning, request.modelPath);
  const sidecar =
    request.masksPath === undefined
      ? null
      : masksSidecar(loaded.pruning, {
          model: request.modelPath,
          modelSha256: loaded.modelSha256,
          mapping: request.mappingPath,
          choiceHash: loaded.mapping.choiceHash ?? null,
          masks: request.masksPath,
        });
  const files: { path: string; bytes: Uint8Array | string }[] = [{ path: request.outPath, bytes: pruned }];
  if (request.masksPath !== undefined && sidecar !== null) {
    files.push({ path: request.masksPath, bytes: masksNpzBytes(loaded.pruning) });
    files.push({ path: sidecarPath(request.masksPath), bytes: `${JSON.stringify(sidecar, null, 2)}\n` });
  }
  await writeAll(files);
  const layers =
    sidecar?.layers ??
    masksSidecar(loaded.pruning, {
      model: request.modelPath,
      modelSha256: loaded.modelSha256,
      mapping: request.mappingPath,
      choiceHash: null,
      masks: '',
    }).layers;
  return {
    model: request.modelPath,
    mapping: request.mappingPath,
    out: request.outPath,
    masks: request.masksPath ?? null,
    sidecar: request.masksPath === undefined ? null : sidecarPath(request.masksPath),
    zeroedWeights: loaded.pruning.layers.reduce((s, p) => s + (p.mask.mask.length - p.mask.keptWeights), 0),
    totalWeights: loaded.model.layers.reduce((s, l) => s + l.weights.length, 0),
    layers,
    leftDense: loaded.pruning.leftDense,
    skippedNodes: loaded.model.skipped,
  };
}
