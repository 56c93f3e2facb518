/** PlannedCase -> the agent's plan line (config/agent-protocol.ts), the only place that wire shape is built. */
import type { ConvPlanLine, FcPlanLine, PlanLine } from '../../config/agent-protocol.ts';
import type { LayerShape } from '../../config/types.ts';
import type { PlannedCase } from './types.ts';

/** The op and shape fields of a layer's plan line: `in` and `out` for fc, the conv geometry otherwise. */
export function shapeFields(
  shape: LayerShape,
):
  | Pick<FcPlanLine, 'op' | 'in' | 'out'>
  | Pick<ConvPlanLine, 'op' | 'cin' | 'cout' | 'h' | 'w' | 'k' | 'stride' | 'pad'> {
  if (shape.op === 'fc') return { op: 'fc', in: shape.cin, out: shape.cout };
  const { op, cin, cout, h, w, k, stride, pad } = shape;
  return { op, cin, cout, h, w, k, stride, pad };
}

/**
 * `id` is the line's id within one agent call (the scheduler maps it back to the case); `cpus` pins the
 * workers (omit to inherit the agent's affinity).
 */
export function toPlanLine(plannedCase: PlannedCase, id: string, cpus?: readonly number[]): PlanLine {
  const { shape, scheme, block, sparsity, threads, backend, seed, measurement, weights } = plannedCase;
  const common = {
    id,
    scheme,
    sparsity,
    threads,
    seed,
    warmup: measurement.warmup,
    minReps: measurement.minReps,
    minTimeMs: measurement.minTimeMs,
    maxReps: measurement.maxReps,
    maxTimeMs: measurement.maxTimeMs,
    ...(block === undefined ? {} : { block }),
    // cpu is the agent's default: a cpu line stays what it was before the GPU backend.
    ...(backend === 'gpu' ? { backend } : {}),
    ...(cpus === undefined ? {} : { cpus: [...cpus] }),
    // The path is the blob's file name: the scheduler puts the device's work folder in front when it sends it.
    ...(weights === undefined
      ? {}
      : { weights: { path: weights.file, offset: weights.offset, sha256: weights.sha256 } }),
  };
  return { ...shapeFields(shape), ...common } as PlanLine;
}
