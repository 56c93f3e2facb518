/**
 * Literal-data builders for the cost model's tests: measured points whose latency comes from a formula the
 * test states, so a test can check that the fit recovers it. Never used outside tests: nothing here is a
 * measurement.
 */
import { convShape, fcShape, shapeKey } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import type { Scheme } from '../config/vocabulary.ts';
import { computeFeatures } from './features.ts';
import { fitLut } from './fit.ts';
import type { TrainingPoint } from './predictor.ts';
import type { Lut, MeasuredPoint } from './types.ts';

export const TEST_DEVICE = { id: 'test-device', abi: 'host' } as const;
export const TEST_AGENT_HASH = 'feedc0de00000000';

export interface PointSpec {
  readonly shape: LayerShape;
  readonly scheme?: Scheme;
  readonly block?: string;
  readonly density: number;
  readonly latencyNs: number;
  readonly threads?: number;
  /** Half-width of the interval as a share of the latency (default 2%). */
  readonly relHalfWidth?: number;
  readonly n?: number;
}

export function point(spec: PointSpec): MeasuredPoint {
  const half = spec.latencyNs * (spec.relHalfWidth ?? 0.02);
  return {
    device: TEST_DEVICE,
    agentHash: TEST_AGENT_HASH,
    shape: spec.shape,
    scheme: spec.scheme ?? 'unstructured',
    block: spec.block,
    density: spec.density,
    sparsity: 1 - spec.density,
    threads: spec.threads ?? 1,
    medianNs: spec.latencyNs,
    ciLowNs: spec.latencyNs - half,
    ciHighNs: spec.latencyNs + half,
    n: spec.n ?? 20,
    flops: 0,
    keptBlocks: 0,
  };
}

/** Ten 3x3 convolutions of CIFAR-like sizes, varied enough that every feature moves independently. */
export const CONV3X3_SHAPES: readonly LayerShape[] = [
  convShape(16, 16, 32, 3, 1, 1),
  convShape(16, 32, 32, 3, 2, 1),
  convShape(32, 32, 16, 3, 1, 1),
  convShape(32, 64, 16, 3, 2, 1),
  convShape(64, 64, 8, 3, 1, 1),
  convShape(64, 128, 8, 3, 2, 1),
  convShape(128, 128, 4, 3, 1, 1),
  convShape(24, 40, 14, 3, 1, 1),
  convShape(48, 24, 7, 3, 1, 1),
  convShape(8, 96, 20, 3, 1, 1),
];

export const FC_SHAPE = fcShape(512, 10);

/** Predictor training points of unstructured layers: every shape at every density, latency by a stated formula. */
export function unstructuredTrainingPoints(
  shapes: readonly LayerShape[],
  densities: readonly number[],
  latencyNs: (shape: LayerShape, density: number) => number,
): TrainingPoint[] {
  return shapes.flatMap((shape) =>
    densities.map((density) => ({
      shapeKey: shapeKey(shape),
      shape,
      scheme: 'unstructured' as const,
      block: null,
      density,
      latencyNs: latencyNs(shape, density),
    })),
  );
}

/** The i-th of CONV3X3_SHAPES, failing loudly on a bad index (keeps tests free of non-null assertions). */
export function shapeAt(index: number): LayerShape {
  const shape = CONV3X3_SHAPES[index];
  if (shape === undefined) throw new RangeError(`no test shape ${index}`);
  return shape;
}

/** The synthetic cost of an unstructured layer: 0.25 ns/FLOP + 0.05 ns per weight byte + 2 us. */
export function formulaNs(shape: LayerShape, density: number): number {
  const features = computeFeatures(shape, 'unstructured', null, density, 8);
  return 0.25 * features.flops + 0.05 * features.weightBytes + 2000;
}

/**
 * A LUT fitted from formula latencies: every conv3x3 shape but the last under unstructured at densities
 * 0.1, 0.25 and 0.5 (the last shape is left for the predictor), dense on the first shape, and one FC shape
 * (a family too small for a predictor error).
 */
export function syntheticLut(): Lut {
  const measured = CONV3X3_SHAPES.slice(0, -1);
  const points = [
    ...measured.flatMap((shape) =>
      [0.1, 0.25, 0.5].map((density) => point({ shape, density, latencyNs: formulaNs(shape, density) })),
    ),
    point({ shape: shapeAt(0), scheme: 'dense', density: 1, latencyNs: 50_000 }),
    point({ shape: FC_SHAPE, density: 0.5, latencyNs: 3000 }),
  ];
  return fitLut(points, { createdAt: '2025-01-01T00:00:00.000Z' });
}
