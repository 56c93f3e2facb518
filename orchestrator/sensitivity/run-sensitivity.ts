/**
 * `prunelab sensitivity` as a use case: read and check everything (model, data, LUT, the dense pass) before
 * anything is written, then measure every candidate the cache does not hold on a pool of workers, appending
 * each to the cache as it lands, and write sensitivity.json last, all at once.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Scheme } from '../../config/vocabulary.ts';
import { checkInputShape, checkLabels, type EvalData, readEvalData } from '../evaluate/data.ts';
import { addBatch, emptyTotals, finishMetrics } from '../evaluate/metrics.ts';
import { batchOf, readModel } from '../evaluate/run-evaluate.ts';
import { openRunner } from '../evaluate/session.ts';
import { readLut } from '../map/run-map.ts';
import { type OnnxModel, parseOnnxModel } from '../models/onnx.ts';
import { type CacheFile, cacheFileName, openCache } from './cache.ts';
import {
  type Candidate,
  type CandidatePlan,
  candidateKey,
  planCandidates,
  type RefusedCandidate,
} from './candidates.ts';
import { SensitivityInputError } from './errors.ts';
import { type Batches, runBatches } from './measure.ts';
import { inlinePool, shared, startPool } from './pool.ts';
import { type SensitivityFile, sensitivityFile } from './sensitivity-file.ts';

export interface SensitivityRequest {
  readonly modelPath: string;
  readonly dataPath: string;
  readonly outPath: string;
  readonly lutPath?: string;
  readonly lutThreads: number;
  readonly schemes?: readonly Scheme[];
  readonly blocks?: readonly string[];
  readonly sparsities?: readonly number[];
  readonly limit?: number;
  readonly batchSize: number;
  /** ONNX Runtime intra-op threads of every session. */
  readonly threads: number;
  readonly workers: number;
  /** Default: `.prunelab-sensitivity-cache/` beside the output. */
  readonly cacheDir?: string;
  /** Called once before measuring (total = candidates to measure now) and after each candidate. */
  readonly onProgress?: (event: SensitivityProgress) => void;
  readonly nowMs?: () => number;
}

export type SensitivityProgress =
  | { readonly type: 'start'; readonly toMeasure: number; readonly cached: number; readonly workers: number }
  | {
      readonly type: 'candidate';
      readonly done: number;
      readonly total: number;
      readonly label: string;
      readonly wallMs: number | null;
      readonly error?: string;
    };

export interface SensitivityOutcome {
  readonly file: SensitivityFile;
  readonly outPath: string;
  readonly cachePath: string;
}

/** Everything read and checked: nothing has been written yet. */
interface Prepared {
  readonly modelBytes: Uint8Array;
  readonly model: OnnxModel;
  readonly modelSha256: string;
  readonly data: EvalData;
  readonly dataSha256: string;
  readonly plan: CandidatePlan;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function checkOutPath(request: SensitivityRequest): void {
  const out = resolve(request.outPath);
  const inputs = [request.modelPath, request.dataPath, request.lutPath].filter((p) => p !== undefined);
  if (inputs.some((p) => resolve(p) === out)) {
    throw new SensitivityInputError(
      `--out ${request.outPath} would overwrite an input; choose another path`,
      {
        option: '--out',
        file: request.outPath,
      },
    );
  }
}

async function prepare(request: SensitivityRequest): Promise<Prepared> {
  checkOutPath(request);
  const modelBytes = await readModel(request.modelPath, '--model');
  const model = parseOnnxModel(modelBytes, request.modelPath);
  if (model.layers.length === 0) {
    throw new SensitivityInputError(
      `--model ${request.modelPath}: no prunable layer (Conv, Gemm, MatMul with fp32 weights) was found` +
        `${model.skipped.length > 0 ? `; skipped: ${model.skipped.map((s) => `${s.node} (${s.reason})`).join('; ')}` : ''}`,
      { option: '--model', file: request.modelPath },
    );
  }
  const data = await readEvalData(request.dataPath);
  const dataSha256 = sha256(await readFile(request.dataPath));
  const lut = request.lutPath === undefined ? undefined : await readLut(request.lutPath);
  const plan = planCandidates(model.layers, {
    ...(lut === undefined ? {} : { lut }),
    ...(request.lutPath === undefined ? {} : { lutFile: request.lutPath }),
    lutThreads: request.lutThreads,
    ...(request.schemes === undefined ? {} : { schemes: request.schemes }),
    ...(request.blocks === undefined ? {} : { blocks: request.blocks }),
    ...(request.sparsities === undefined ? {} : { sparsities: request.sparsities }),
  });
  return { modelBytes, model, modelSha256: sha256(modelBytes), data, dataSha256, plan };
}

/** The dense pass, which also checks the data against the model (shape, class range) before any write. */
async function densePass(
  request: SensitivityRequest,
  prepared: Prepared,
): Promise<{
  batches: Batches;
  outputs: Float32Array;
  classes: number;
  labels: Int32Array | null;
  top1: number | null;
}> {
  const runner = await openRunner(prepared.modelBytes, request.modelPath, '--model', request.threads);
  try {
    const { data } = prepared;
    checkInputShape(data, runner.inputShape, request.modelPath, runner.inputName);
    const count = Math.min(data.count, request.limit ?? data.count);
    const batchSize = batchOf(runner, request.batchSize, count, request.modelPath);
    const sampleSize = data.sampleDims.reduce((p, d) => p * d, 1);
    const batches = {
      inputs: data.inputs.subarray(0, count * sampleSize),
      sampleDims: data.sampleDims,
      count,
      batchSize,
    };
    const outputs = await runBatches(runner, batches);
    const classes = outputs.length / count;
    checkLabels(data, classes, request.modelPath);
    const labels = data.labels === null ? null : data.labels.subarray(0, count);
    const top1 = finishMetrics(addBatch(emptyTotals(), outputs, outputs, classes, labels)).denseTop1;
    return { batches, outputs, classes, labels, top1 };
  } finally {
    await runner.release();
  }
}

function label(layer: string, c: Candidate): string {
  return `${layer} ${c.scheme}${c.block === null ? '' : ` ${c.block}`} @${c.sparsity}`;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = join(dirname(resolve(path)), `.${basename(path)}.tmp-${process.pid}`);
  try {
    await writeFile(temp, text);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new SensitivityInputError(
      `--out: cannot write ${resolve(path)} (${(error as Error).message}); check the folder exists and is writable`,
      { option: '--out', file: path },
      { cause: error },
    );
  }
}

/** Measures what the cache lacks on the pool; returns the refused ones (failures) and the wall time. */
async function measureMissing(
  request: SensitivityRequest,
  prepared: Prepared,
  dense: Awaited<ReturnType<typeof densePass>>,
  cache: CacheFile,
): Promise<{
  failed: RefusedCandidate[];
  wallMs: number;
  poolStartMs: number;
  measured: number;
  cached: number;
  workers: number;
}> {
  const now = request.nowMs ?? (() => performance.now());
  const todo = prepared.plan.layers.flatMap((p) =>
    p.candidates
      .filter((c) => !cache.entries.has(candidateKey(p.layer.name, c)))
      .map((c) => ({ layer: p.layer.name, candidate: c })),
  );
  const workers = Math.max(1, Math.min(request.workers, todo.length));
  const total = prepared.plan.layers.reduce((n, p) => n + p.candidates.length, 0);
  request.onProgress?.({ type: 'start', toMeasure: todo.length, cached: total - todo.length, workers });
  const failed: RefusedCandidate[] = [];
  const cached = total - todo.length;
  if (todo.length === 0) return { failed, wallMs: 0, poolStartMs: 0, measured: 0, cached, workers: 0 };
  const poolStarted = now();
  const context = {
    modelBytes: prepared.modelBytes,
    modelFile: request.modelPath,
    data: { ...dense.batches, inputs: shared(dense.batches.inputs) },
    denseOutputs: shared(dense.outputs),
    classes: dense.classes,
    labels: dense.labels === null ? null : shared(dense.labels),
    threads: request.threads,
  };
  const pool =
    workers === 1
      ? inlinePool({ ...context, layers: new Map(prepared.model.layers.map((l) => [l.name, l])) })
      : startPool(workers, { type: 'init', ...context });
  let done = 0;
  let started = now();
  try {
    await pool.ready;
    started = now();
    await Promise.all(
      todo.map(async ({ layer, candidate }) => {
        try {
          const m = await pool.run(layer, candidate);
          const { top1, agreement, meanRelativeError } = m.metrics;
          cache.append({
            layer,
            ...candidate,
            top1,
            agreement,
            relError: meanRelativeError,
            density: m.density,
            keptEnergy: m.keptEnergy,
            maskFnv1a: m.maskFnv1a,
            wallMs: m.wallMs,
          });
          done++;
          request.onProgress?.({
            type: 'candidate',
            done,
            total: todo.length,
            label: label(layer, candidate),
            wallMs: m.wallMs,
          });
        } catch (error) {
          done++;
          const message = (error as Error).message;
          failed.push({ layer, option: label(layer, candidate), reason: `measurement failed: ${message}` });
          request.onProgress?.({
            type: 'candidate',
            done,
            total: todo.length,
            label: label(layer, candidate),
            wallMs: null,
            error: message,
          });
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return {
    failed,
    wallMs: now() - started,
    poolStartMs: started - poolStarted,
    measured: todo.length - failed.length,
    cached,
    workers,
  };
}

export async function runSensitivity(request: SensitivityRequest): Promise<SensitivityOutcome> {
  const now = request.nowMs ?? (() => performance.now());
  const prepared = await prepare(request);
  const denseStarted = now();
  const dense = await densePass(request, prepared);
  const denseMs = now() - denseStarted;
  const cacheFolder = request.cacheDir ?? join(dirname(request.outPath), '.prunelab-sensitivity-cache');
  const cache = openCache(
    cacheFolder,
    cacheFileName(prepared.modelSha256, prepared.dataSha256, dense.batches.count),
  );
  const measured = await measureMissing(request, prepared, dense, cache);
  const file = sensitivityFile({
    model: { path: request.modelPath, sha256: prepared.modelSha256 },
    data: {
      path: request.dataPath,
      sha256: prepared.dataSha256,
      samples: dense.batches.count,
      labels: dense.labels !== null,
    },
    denseTop1: dense.top1,
    plan: prepared.plan.layers,
    measures: (layer, c) => cache.entries.get(candidateKey(layer, c)),
    refused: [...prepared.plan.refused, ...measured.failed],
    timing: {
      measured: measured.measured,
      cached: measured.cached,
      wallMs: measured.wallMs,
      poolStartMs: measured.poolStartMs,
      wallPerMeasuredMs: measured.measured === 0 ? null : measured.wallMs / measured.measured,
      denseMs,
      workers: measured.workers,
      threadsPerSession: request.threads,
    },
  });
  await writeAtomically(request.outPath, `${JSON.stringify(file, null, 2)}\n`);
  return { file, outPath: request.outPath, cachePath: cache.path };
}
