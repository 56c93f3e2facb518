/**
 * Many candidates against one dense model on one data set: the dense outputs are computed once and kept, then
 * each candidate (pruned ONNX bytes) runs through its own session in the same batches as `prunelab evaluate`
 * (same batch size, same threads), so a candidate's figures equal `prunelab evaluate --pruned` of the same
 * bytes. `prunelab map --evaluate-with` measures its table through this.
 */
import { readFile } from 'node:fs/promises';
import { checkInputShape, checkLabels, type EvalData, readEvalData } from './data.ts';
import { EvaluateInputError } from './errors.ts';
import { addBatch, emptyTotals, finishMetrics, type Metrics } from './metrics.ts';
import { type ModelRunner, openRunner } from './session.ts';

export interface ComparisonRequest {
  readonly modelPath: string;
  readonly dataPath: string;
  /** The option that named the data, for messages (e.g. --evaluate-with). */
  readonly dataOption: string;
  readonly batchSize: number;
  readonly threads: number;
}

export interface Comparison {
  readonly samples: number;
  readonly labelled: boolean;
  /** top-1 accuracy with labels, else top-1 agreement with the dense model. */
  readonly metric: 'top1' | 'agreement';
  /** The dense model's value of `metric` (agreement: 1). */
  readonly denseValue: number;
  /** The candidate's metrics against the dense outputs and the labels (each candidate's session is released). */
  measure(candidate: Uint8Array, label: string): Promise<Metrics>;
}

/** The value of the comparison's metric in a candidate's metrics. */
export function metricValue(metrics: Metrics, metric: 'top1' | 'agreement'): number {
  return metric === 'top1' ? (metrics.top1 as number) : metrics.agreement;
}

async function denseOutputs(
  dense: ModelRunner,
  data: EvalData,
  batchSize: number,
): Promise<{ outputs: Float32Array[]; classes: number }> {
  const sampleSize = data.sampleDims.reduce((p, d) => p * d, 1);
  const outputs: Float32Array[] = [];
  for (let at = 0; at < data.count; at += batchSize) {
    const batch = Math.min(batchSize, data.count - at);
    const input = data.inputs.subarray(at * sampleSize, (at + batch) * sampleSize);
    outputs.push((await dense.run(input, [batch, ...data.sampleDims])).slice());
  }
  return { outputs, classes: (outputs[0]?.length ?? 0) / Math.min(batchSize, data.count) };
}

export async function openComparison(request: ComparisonRequest): Promise<Comparison> {
  const data = await readEvalData(request.dataPath);
  const modelBytes = await readFile(request.modelPath);
  const dense = await openRunner(modelBytes, request.modelPath, '--model', request.threads);
  let outputs: Float32Array[];
  let classes: number;
  try {
    checkInputShape(data, dense.inputShape, request.modelPath, dense.inputName);
    const fixed = dense.inputShape[0];
    if (typeof fixed === 'number' && fixed !== request.batchSize) {
      throw new EvaluateInputError(
        `${request.dataOption} ${request.dataPath}: ${request.modelPath} has a fixed batch of ${fixed}; ` +
          'the measured table runs models with a symbolic batch dimension',
        { file: request.modelPath, option: request.dataOption },
      );
    }
    ({ outputs, classes } = await denseOutputs(dense, data, request.batchSize));
    checkLabels(data, classes, request.modelPath);
  } finally {
    await dense.release();
  }
  const metric = data.labels === null ? 'agreement' : 'top1';
  const sampleSize = data.sampleDims.reduce((p, d) => p * d, 1);
  const measure = async (candidate: Uint8Array, label: string): Promise<Metrics> => {
    const runner = await openRunner(candidate, label, request.dataOption, request.threads);
    const totals = emptyTotals();
    try {
      for (const [b, denseOut] of outputs.entries()) {
        const at = b * request.batchSize;
        const batch = denseOut.length / classes;
        const input = data.inputs.subarray(at * sampleSize, (at + batch) * sampleSize);
        const out = await runner.run(input, [batch, ...data.sampleDims]);
        addBatch(totals, out, denseOut, classes, data.labels?.subarray(at, at + batch) ?? null);
      }
    } finally {
      await runner.release();
    }
    return finishMetrics(totals);
  };
  const denseMetrics = finishMetrics(
    outputs.reduce(
      (totals, out, b) =>
        addBatch(
          totals,
          out,
          out,
          classes,
          data.labels?.subarray(b * request.batchSize, b * request.batchSize + out.length / classes) ?? null,
        ),
      emptyTotals(),
    ),
  );
  return {
    samples: data.count,
    labelled: data.labels !== null,
    metric,
    denseValue: metricValue(denseMetrics, metric),
    measure,
  };
}
