/**
 * Times the anchor's shapes in ONNX Runtime for `npm run bench:kernels`: each layer at 1 and 2 intra-op threads,
 * plus a trivial model of the layer's output size (the call's own cost), over `rounds` rounds (odd rounds in
 * reverse order, samples pooled per shape, as the agent's plan is run). I/O: loads ONNX Runtime.
 */
import type { LayerShape } from '../../config/types.ts';
import type { OrtShapeTimes } from './anchor.ts';
import type { BenchLayer } from './cases.ts';
import { agentTensors, layerModel, trivialModel } from './onnx-layer.ts';
import { type OrtSampling, timeModel } from './ort.ts';
import { median } from './summarize.ts';

/** The seed of the bench's agent plan lines (cases.ts, planLine): the same weights and input on both sides. */
const SEED = 1;

interface Pooled {
  t1: number[];
  t2: number[];
  call: number[];
  error?: string;
}

function outputFloats(shape: LayerShape, dims: readonly number[]): number {
  return shape.op === 'fc' ? shape.cout : dims.reduce((p, d) => p * d, 1);
}

async function timeShape(layer: BenchLayer, sampling: OrtSampling, pooled: Pooled): Promise<void> {
  const { weights, input } = agentTensors(layer.shape, SEED);
  const model = layerModel(layer.shape, weights);
  pooled.t1.push(...(await timeModel(model, input, 1, sampling)));
  pooled.t2.push(...(await timeModel(model, input, 2, sampling)));
  const floats = outputFloats(layer.shape, model.outputDims);
  pooled.call.push(...(await timeModel(trivialModel(floats), new Float32Array(floats), 1, sampling)));
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
  const pooled = new Map<string, Pooled>(layers.map((l) => [l.key, { t1: [], t2: [], call: [] }]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? layers : [...layers].reverse();
    for (const [i, layer] of order.entries()) {
      const p = pooled.get(layer.key) as Pooled;
      if (p.error !== undefined) continue;
      try {
        await timeShape(layer, sampling, p);
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
  return new Map(
    [...pooled].map(([key, p]): [string, OrtShapeTimes] => {
      const t1Ns = medianOrUndefined(p.t1);
      const t2Ns = medianOrUndefined(p.t2);
      const callNs = medianOrUndefined(p.call);
      const fastest = (samples: readonly number[]) =>
        samples.length === 0 ? undefined : Math.min(...samples);
      const t1FastestNs = fastest(p.t1);
      const t2FastestNs = fastest(p.t2);
      return [
        key,
        {
          ...(t1Ns === undefined ? {} : { t1Ns }),
          ...(t2Ns === undefined ? {} : { t2Ns }),
          ...(callNs === undefined ? {} : { callNs }),
          ...(t1FastestNs === undefined ? {} : { t1FastestNs }),
          ...(t2FastestNs === undefined ? {} : { t2FastestNs }),
          ...(p.error === undefined ? {} : { error: p.error }),
        },
      ];
    }),
  );
}

/** The fixed cost of one session.run: a Relu over one float, 1 thread, median. */
export async function callFloorNs(sampling: OrtSampling): Promise<number> {
  return median(await timeModel(trivialModel(1), new Float32Array(1), 1, sampling));
}
