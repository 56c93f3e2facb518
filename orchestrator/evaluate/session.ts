/**
 * ONNX Runtime (onnxruntime-node, CPU) sessions for evaluation: the one place that touches its API.
 * Sequential execution, the given intra-op thread count, full graph optimisation.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { EvaluateInputError } from './errors.ts';

/** Loaded on first use: the native binding costs every other prunelab command nothing. */
async function onnxRuntime(): Promise<typeof import('onnxruntime-node')> {
  return await import('onnxruntime-node');
}

export interface ModelRunner {
  readonly inputName: string;
  /** The input's dims as the model declares them (strings are symbolic, e.g. the batch). */
  readonly inputShape: readonly (number | string)[];
  readonly outputName: string;
  /** Runs one batch [batch, ...sampleDims]; the first output, flat. */
  run(input: Float32Array, dims: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

export async function openRunner(
  bytes: Uint8Array,
  file: string,
  option: string,
  threads: number,
): Promise<ModelRunner> {
  const ort = await onnxRuntime();
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new EvaluateInputError(
      `${option} ${file}: ONNX Runtime refuses the model (${(error as Error).message.split('\n')[0]}); expected an ONNX model ONNX Runtime ${ort.env.versions.common} can load`,
      { file, option },
      { cause: error },
    );
  }
  const input = session.inputMetadata[0];
  const outputName = session.outputNames[0];
  if (session.inputNames.length !== 1 || input === undefined || outputName === undefined) {
    await session.release();
    throw new EvaluateInputError(
      `${option} ${file}: the model has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; ` +
        'evaluate takes models with one input (the images) and reads their first output (the class scores)',
      { file, option },
    );
  }
  if (input.isTensor && input.type !== 'float32') {
    await session.release();
    throw new EvaluateInputError(
      `${option} ${file}: input '${input.name}' is ${input.type}; evaluate feeds float32`,
      {
        file,
        option,
      },
    );
  }
  return {
    inputName: input.name,
    inputShape: input.isTensor ? input.shape : [],
    outputName,
    async run(data, dims) {
      let result: InferenceSession.ReturnType;
      try {
        result = await session.run({ [input.name]: new ort.Tensor('float32', data, [...dims]) });
      } catch (error) {
        throw new EvaluateInputError(
          `${option} ${file}: ONNX Runtime could not run a batch of shape [${dims.join(', ')}] (${(error as Error).message.split('\n')[0]})`,
          { file, option },
          { cause: error },
        );
      }
      const out = result[outputName];
      if (out === undefined || out.type !== 'float32') {
        throw new EvaluateInputError(
          `${option} ${file}: output '${outputName}' is not float32 class scores`,
          { file, option },
        );
      }
      return out.data as Float32Array;
    },
    release: () => session.release(),
  };
}
