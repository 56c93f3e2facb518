/**
 * A LUT for an ONNX model's layer shapes whose latencies come from a formula this file states, NOT from a
 * measurement: the accuracy tests need a mapper input that prices every option the same way on every run (a
 * host-measured LUT moves with the load, and with it the mapper's choices). Fitted by the real cost model.
 *
 * latency = 100 ns + dense work x (overhead + slope x density), work = 0.5 ns per multiply-accumulate; per
 * scheme (overhead, slope): unstructured (0.25, 1.4), bcr (0.1, 1.0 + 0.4 / block rows), block-punched
 * (0.1, 1.1), pattern (0.05, 1.0), filter/channel (0, 1.0): coarser is faster per kept weight, as on our kernels.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gemmCols, gemmRows, outputHeight, shapeKey } from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import { BLOCK_SCHEMES, parseBlockSize, type Scheme } from '../../config/vocabulary.ts';
import { fitLut, type MeasuredPoint } from '../../cost-model/index.ts';
import { point } from '../../cost-model/test-support.ts';
import { parseOnnxModel } from '../../orchestrator/models/onnx.ts';
import { infeasibleReason } from '../../orchestrator/plan/feasibility.ts';

export const FORMULA_SCHEMES: readonly Scheme[] = ['unstructured', 'bcr', 'block-punched', 'pattern'];
export const FORMULA_BLOCKS: readonly string[] = ['4x1', '2x2'];
export const FORMULA_SPARSITIES: readonly number[] = [0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9];

function macs(shape: LayerShape): number {
  const pixels = outputHeight(shape) ** 2;
  return gemmRows(shape) * gemmCols(shape) * pixels;
}

function formulaNs(shape: LayerShape, scheme: Scheme, block: string | undefined, density: number): number {
  const rows = block === undefined ? 1 : (parseBlockSize(block)?.rows ?? 1);
  const [overhead, slope] =
    scheme === 'dense'
      ? [0, 1]
      : scheme === 'unstructured'
        ? [0.25, 1.4]
        : scheme === 'bcr'
          ? [0.1, 1 + 0.4 / rows]
          : scheme === 'block-punched'
            ? [0.1, 1.1]
            : scheme === 'pattern'
              ? [0.05, 1]
              : [0, 1];
  return 100 + 0.5 * macs(shape) * (overhead + slope * density);
}

/** Writes the LUT of every distinct shape of the ONNX model under dense and each feasible option. */
export function writeFormulaLut(modelPath: string, outPath: string): void {
  const model = parseOnnxModel(readFileSync(modelPath), modelPath);
  const shapes = [...new Map(model.layers.map((l) => [shapeKey(l.shape), l.shape])).values()];
  const points: MeasuredPoint[] = [];
  for (const shape of shapes) {
    points.push(
      point({ shape, scheme: 'dense', density: 1, latencyNs: formulaNs(shape, 'dense', undefined, 1) }),
    );
    for (const scheme of FORMULA_SCHEMES) {
      const blocks = BLOCK_SCHEMES.includes(scheme) ? FORMULA_BLOCKS : [undefined];
      for (const block of blocks) {
        for (const sparsity of FORMULA_SPARSITIES) {
          const size = block === undefined ? undefined : parseBlockSize(block);
          if (infeasibleReason(shape, scheme, size, sparsity) !== undefined) continue;
          const density = 1 - sparsity;
          const latencyNs = formulaNs(shape, scheme, block, density);
          points.push({
            ...point({ shape, scheme, density, latencyNs, ...(block === undefined ? {} : { block }) }),
            sparsity,
          });
        }
      }
    }
  }
  const lut = fitLut(points, { createdAt: '2026-01-01T00:00:00.000Z' });
  writeFileSync(outPath, `${JSON.stringify(lut, null, 2)}\n`);
}
