/**
 * Times single-node models in ONNX Runtime (onnxruntime-node, CPU execution provider) the way the agent times
 * its layers: warm-up runs, then timed repetitions until both a minimum count and a minimum time are reached
 * (or a time cap), each repetition timed on its own; the caller takes the median. Sessions run sequentially
 * with `threads` intra-op threads and every graph optimisation on (what a deployment would use). I/O only:
 * the models come from onnx-layer.ts.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import type { LayerModel } from './onnx-layer.ts';

export interface OrtSampling {
  readonly warmup: number;
  readonly minReps: number;
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
}

/** Loaded on first use, so the pure modules and their tests never load the native binding. */
async function onnxRuntime(): Promise<typeof import('onnxruntime-node')> {
  return await import('onnxruntime-node');
}

export async function ortVersion(): Promise<string> {
  return (await onnxRuntime()).env.versions.common ?? 'unknown';
}

async function openSession(
  model: LayerModel,
  threads: number,
  profilePrefix?: string,
): Promise<InferenceSession> {
  const ort = await onnxRuntime();
  return await ort.InferenceSession.create(model.bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...(profilePrefix === undefined ? {} : { enableProfiling: true, profileFilePrefix: profilePrefix }),
  });
}

/** ONNX Runtime's own `model_run` durations (its profiler's trace, microseconds) in ns, in run order. */
function modelRunNs(profilePrefix: string): number[] {
  const dir = dirname(profilePrefix);
  const files = readdirSync(dir).filter((f) => join(dir, f).startsWith(profilePrefix) && f.endsWith('.json'));
  if (files.length !== 1)
    throw new Error(`expected one ONNX Runtime profile ${profilePrefix}*.json, found ${files.length}`);
  const path = join(dir, files[0] as string);
  const events = JSON.parse(readFileSync(path, 'utf8')) as { cat?: string; name?: string; dur?: number }[];
  rmSync(path);
  return events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run' && typeof e.dur === 'number')
    .map((e) => (e.dur as number) * 1e3);
}

/** One run of the model on `input`; the first output, flat (for correctness checks). */
export async function runOnce(model: LayerModel, input: Float32Array, threads = 1): Promise<Float32Array> {
  const ort = await onnxRuntime();
  const session = await openSession(model, threads);
  try {
    const feeds = { [model.inputName]: new ort.Tensor('float32', input, [...model.inputDims]) };
    const out = (await session.run(feeds))[session.outputNames[0] ?? 'y'];
    if (out === undefined || !(out.data instanceof Float32Array))
      throw new Error(
        `ONNX Runtime returned no float32 output for a model with output dims [${model.outputDims}]`,
      );
    return out.data;
  } finally {
    await session.release();
  }
}

/**
 * The model's samples in ns: `sampling.warmup` untimed runs, then timed runs until at least `minReps` runs and
 * `minTimeMs` of timed runs, or `maxTimeMs` since the start. Each sample is one awaited session.run, as a
 * Node user of ONNX Runtime would call it, into a pre-bound output (the call's own cost is measured apart, with
 * trivialModel).
 */
export interface OrtSamples {
  /** Each awaited session.run, as the Node caller sees it. */
  readonly wallNs: readonly number[];
  /** The same runs as ONNX Runtime's profiler times them (`model_run`, 1 us resolution): no binding, no event
   * loop; what a C/C++ caller of the same library would see. Only with a profile prefix. */
  readonly inOrtNs?: readonly number[];
}

export async function timeModel(
  model: LayerModel,
  input: Float32Array,
  threads: number,
  sampling: OrtSampling,
  profilePrefix?: string,
): Promise<OrtSamples> {
  const ort = await onnxRuntime();
  const session = await openSession(model, threads, profilePrefix);
  let warmups = 0;
  const samplesNs: number[] = [];
  try {
    const feeds = { [model.inputName]: new ort.Tensor('float32', input, [...model.inputDims]) };
    // The output is bound once, as a C++ user would with IOBinding: with a fresh output per run, a Relu over
    // 400K floats took 18.6 ms (median, machine under shared load) against 0.29 ms bound, the cost of a new
    // JS buffer per run, which is no part of the layer.
    const outputName = session.outputNames[0] ?? 'y';
    const outFloats = model.outputDims.reduce((p, d) => p * d, 1);
    const fetches = {
      [outputName]: new ort.Tensor('float32', new Float32Array(outFloats), [...model.outputDims]),
    };
    const startNs = process.hrtime.bigint();
    const maxNs = BigInt(Math.round(sampling.maxTimeMs * 1e6));
    for (; warmups < sampling.warmup && process.hrtime.bigint() - startNs < maxNs; warmups++)
      await session.run(feeds, fetches);
    let timedNs = 0;
    const minTimedNs = sampling.minTimeMs * 1e6;
    while (
      (samplesNs.length < sampling.minReps || timedNs < minTimedNs) &&
      process.hrtime.bigint() - startNs < maxNs
    ) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds, fetches);
      const ns = Number(process.hrtime.bigint() - t0);
      samplesNs.push(ns);
      timedNs += ns;
    }
    if (profilePrefix !== undefined) await session.endProfiling();
  } finally {
    await session.release();
  }
  if (profilePrefix === undefined) return { wallNs: samplesNs };
  const inOrtNs = modelRunNs(profilePrefix).slice(warmups);
  if (inOrtNs.length !== samplesNs.length)
    throw new Error(
      `ONNX Runtime's profile has ${inOrtNs.length + warmups} model_run events for ${samplesNs.length + warmups} runs`,
    );
  return { wallNs: samplesNs, inOrtNs };
}
