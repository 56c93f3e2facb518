/**
 * Times the anchor's shapes in ONNX Runtime for `npm run bench:kernels`: each layer at 1 and 2 intra-op threads,
 * plus a trivial model of the layer's output size (the call's own cost), over `rounds` rounds (odd rounds in
 * reverse order, samples pooled per shape, as the agent's plan is run). I/O: loads ONNX Runtime.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayerShape } from '../../config/types.ts';
import type { OrtShapeTimes } from './anchor.ts';
import type { BenchLayer } from './cases.ts';
import { agentTensors, layerModel, trivialModel } from './onnx-layer.ts';
import { type OrtSampling, timeModel } from './ort.ts';
import { median } from './summarize.ts';

/** The seed of the bench's agent plan lines (cases.ts, planLine): the same weights and input on both sides. */
const SEED = 1;

interface Pooled {
  /** ONNX Runtime's own model_run times at 1 and 2 threads. */
  t1: number[];
  t2: number[];
  /** The Node caller's wall time at 1 thread, and the trivial model's. */
  t1Wall: number[];
  call: number[];
  error?: string;
}

function outputFloats(shape: LayerShape, dims: readonly number[]): number {
  return shape.op === 'fc' ? shape.cout : dims.reduce((p, d) => p * d, 1);
}

async function timeShape(
  layer: BenchLayer,
  sampling: OrtSampling,
  profilePrefix: string,
  pooled: Pooled,
): Promise<void> {
  const { weights, input } = agentTensors(layer.shape, SEED);
  const model = layerModel(layer.shape, weights);
  const one = await timeModel(model, input, 1, sampling, profilePrefix);
  pooled.t1.push(...(one.inOrtNs ?? []));
  pooled.t1Wall.push(...one.wallNs);
  const two = await timeModel(model, input, 2, sampling, profilePrefix);
  pooled.t2.push(...(two.inOrtNs ?? []));
  const floats = outputFloats(layer.shape, model.outputDims);
  pooled.call.push(...(await timeModel(trivialModel(floats), new Float32Array(floats), 1, sampling)).wallNs);
}

const medianOrUndefined = (samples: readonly number[]) =>
  samples.length === 0 ? undefined : median(samples);

/** ONNX Runtime's medians per shapeKey; a shape ONNX Runtime refuses gets its error instead. */
export async function timeOrtShapes(
  layers: readonly BenchLayer[],
  sampling: OrtSampling,
  rounds: number,
  progress: (text: string) => void,
): Promise<Map<string, OrtShapeTimes>> {
  const pooled = new Map<string, Pooled>(
    layers.map((l) => [l.key, { t1: [], t2: [], t1Wall: [], call: [] }]),
  );
  const profileDir = mkdtempSync(join(tmpdir(), 'prunelab-ort-'));
  try {
    await timeRounds(layers, sampling, rounds, join(profileDir, 'run'), pooled, progress);
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
  return new Map([...pooled].map(([key, p]): [string, OrtShapeTimes] => [key, shapeTimes(p)]));
}

async function timeRounds(
  layers: readonly BenchLayer[],
  sampling: OrtSampling,
  rounds: number,
  profilePrefix: string,
  pooled: ReadonlyMap<string, Pooled>,
  progress: (text: string) => void,
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? layers : [...layers].reverse();
    for (const [i, layer] of order.entries()) {
      const p = pooled.get(layer.key) as Pooled;
      if (p.error !== undefined) continue;
      try {
        await timeShape(layer, sampling, profilePrefix, p);
        const t1 = medianOrUndefined(p.t1);
        progress(
          `[ORT ${round + 1}/${rounds} ${String(i + 1).padStart(3)}/${layers.length}] ${layer.key}: ${t1 === undefined ? '-' : (t1 / 1e3).toFixed(1)} us (1 thread, pooled)`,
        );
      } catch (cause) {
        p.error = `ONNX Runtime: ${(cause as Error).message.split('\n')[0]}`;
        progress(`[ORT] ${layer.key}: ${p.error}`);
      }
    }
  }
}

function shapeTimes(p: Pooled): OrtShapeTimes {
  const fastest = (samples: readonly number[]) => (samples.length === 0 ? undefined : Math.min(...samples));
  const fields = {
    t1Ns: medianOrUndefined(p.t1),
    t2Ns: medianOrUndefined(p.t2),
    t1FastestNs: fastest(p.t1),
    t2FastestNs: fastest(p.t2),
    t1WallNs: medianOrUndefined(p.t1Wall),
    callNs: medianOrUndefined(p.call),
    error: p.error,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as OrtShapeTimes;
}

/** The fixed cost of one session.run: a Relu over one float, 1 thread, median. */
export async function callFloorNs(sampling: OrtSampling): Promise<number> {
  return median((await timeModel(trivialModel(1), new Float32Array(1), 1, sampling)).wallNs);
}
