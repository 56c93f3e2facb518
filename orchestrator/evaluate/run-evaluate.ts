/**
 * `prunelab evaluate` as a use case: the dense model and a candidate (a pruned ONNX file, or the dense model
 * with a mapping's masks applied in memory: the same masks `prunelab prune` writes) run on the same data in
 * batches through ONNX Runtime; metrics.ts turns their outputs into accuracy, agreement and output error.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { prunedOnnxBytes } from '../prune/outputs.ts';
import { loadPruning } from '../prune/run-prune.ts';
import { checkInputShape, checkLabels, type EvalData, readEvalData } from './data.ts';
import { EvaluateInputError } from './errors.ts';
import { addBatch, emptyTotals, finishMetrics, type Metrics } from './metrics.ts';
import { type ModelRunner, openRunner } from './session.ts';

export interface EvaluateRequest {
  readonly modelPath: string;
  readonly prunedPath?: string;
  readonly mappingPath?: string;
  readonly dataPath: string;
  readonly batchSize: number;
  readonly limit?: number;
  readonly threads: number;
  readonly onProgress?: (done: number, total: number) => void;
  readonly nowMs?: () => number;
}

export interface EvaluateReport {
  readonly model: string;
  readonly candidate: { readonly kind: 'pruned' | 'mapping'; readonly path: string };
  readonly data: string;
  readonly labelled: boolean;
  readonly classes: number;
  readonly batchSize: number;
  readonly threads: number;
  readonly metrics: Metrics;
  /** Wall time of the batches (both models), and samples per second through both. */
  readonly seconds: number;
  readonly samplesPerSecond: number;
}

export async function readModel(path: string, option: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new EvaluateInputError(
      `${option}: cannot read ${resolve(path)} (${(error as Error).message})`,
      { file: path, option },
      { cause: error },
    );
  }
}

async function candidateBytes(
  request: EvaluateRequest,
): Promise<{ bytes: Uint8Array; kind: 'pruned' | 'mapping'; path: string }> {
  if (request.prunedPath !== undefined) {
    return {
      bytes: await readModel(request.prunedPath, '--pruned'),
      kind: 'pruned',
      path: request.prunedPath,
    };
  }
  if (request.mappingPath === undefined)
    throw new EvaluateInputError('give --pruned FILE or --mapping FILE', { file: '', option: '--pruned' });
  const loaded = await loadPruning(request.modelPath, request.mappingPath);
  return {
    bytes: prunedOnnxBytes(loaded.modelBytes, loaded.pruning, request.modelPath),
    kind: 'mapping',
    path: request.mappingPath,
  };
}

/** The batch the model takes: a fixed batch dimension wins over --batch. */
export function batchOf(runner: ModelRunner, requested: number, count: number, file: string): number {
  const fixed = runner.inputShape[0];
  if (typeof fixed !== 'number') return requested;
  if (count % fixed !== 0) {
    throw new EvaluateInputError(
      `--model ${file}: input '${runner.inputName}' has a fixed batch of ${fixed}, which does not divide the ${count} samples; use --limit ${count - (count % fixed)}`,
      { file, option: '--limit' },
    );
  }
  return fixed;
}

export async function runEvaluate(request: EvaluateRequest): Promise<EvaluateReport> {
  const now = request.nowMs ?? (() => performance.now());
  const data: EvalData = await readEvalData(request.dataPath);
  const denseBytes = await readModel(request.modelPath, '--model');
  const candidate = await candidateBytes(request);
  const dense = await openRunner(denseBytes, request.modelPath, '--model', request.threads);
  let cand: ModelRunner | undefined;
  try {
    cand = await openRunner(
      candidate.bytes,
      candidate.path,
      candidate.kind === 'pruned' ? '--pruned' : '--mapping',
      request.threads,
    );
    checkInputShape(data, dense.inputShape, request.modelPath, dense.inputName);
    checkInputShape(data, cand.inputShape, candidate.path, cand.inputName);
    const count = Math.min(data.count, request.limit ?? data.count);
    const batchSize = batchOf(dense, request.batchSize, count, request.modelPath);
    const sampleSize = data.sampleDims.reduce((p, d) => p * d, 1);
    const totals = emptyTotals();
    let classes = 0;
    const started = now();
    for (let at = 0; at < count; at += batchSize) {
      const batch = Math.min(batchSize, count - at);
      const input = data.inputs.subarray(at * sampleSize, (at + batch) * sampleSize);
      const dims = [batch, ...data.sampleDims];
      const denseOut = await dense.run(input, dims);
      const candOut = await cand.run(input, dims);
      if (classes === 0) {
        classes = denseOut.length / batch;
        checkLabels(data, classes, request.modelPath);
      }
      if (candOut.length !== denseOut.length) {
        throw new EvaluateInputError(
          `${candidate.path}: the candidate gives ${candOut.length / batch} outputs per sample, the dense model ${classes}; they are not the same network`,
          { file: candidate.path, option: candidate.kind === 'pruned' ? '--pruned' : '--mapping' },
        );
      }
      addBatch(
        totals,
        candOut,
        denseOut,
        classes,
        data.labels === null ? null : data.labels.subarray(at, at + batch),
      );
      request.onProgress?.(at + batch, count);
    }
    const seconds = (now() - started) / 1000;
    return {
      model: request.modelPath,
      candidate: { kind: candidate.kind, path: candidate.path },
      data: request.dataPath,
      labelled: data.labels !== null,
      classes,
      batchSize,
      threads: request.threads,
      metrics: finishMetrics(totals),
      seconds,
      samplesPerSecond: seconds > 0 ? count / seconds : 0,
    };
  } finally {
    await dense.release();
    await cand?.release();
  }
}
