/**
 * Duration estimates for planned cases, from the measurement policy and an ASSUMED compute rate. Nothing
 * here is measured: the figures are deliberately conservative so that a sweep finishes before its
 * estimate, and `describeRateModel` says so wherever an estimate is shown.
 */
import { denseFlops, weightCount } from '../../config/shape.ts';
import type { PlannedCase } from './types.ts';

export interface RateModel {
  /** Assumed FLOP rate of every kernel, counted on the DENSE FLOPs of the layer (no credit for sparsity). */
  readonly denseEquivalentGflops: number;
  /** Weight generation, magnitude pruning (a sort) and packing before the first run, per weight. */
  readonly prepareNsPerWeight: number;
  /** Telemetry reads, JSON out, result commit: per case. */
  readonly perCaseOverheadMs: number;
  /** Agent start, transport round trip: per batch (one agent call). */
  readonly perBatchOverheadMs: number;
}

/**
 * Conservative host defaults. A 2-vCPU EPYC VM reached 45-100 GFLOP/s with a vectorised GEMM and 2.5-5 with
 * naive loops (device-agent/bench/README.md); 2 GFLOP/s on the dense FLOPs, single thread, with no speedup
 * from sparsity or threads, is below the slowest kernel seen there. Prepare: a seeded fill plus a sort per
 * weight, taken as 100 ns. A phone's big core is slower than this host, but so are its sweeps smaller.
 */
export const CONSERVATIVE_RATE_MODEL: RateModel = {
  denseEquivalentGflops: 2,
  prepareNsPerWeight: 100,
  perCaseOverheadMs: 2,
  perBatchOverheadMs: 50,
};

export function describeRateModel(model: RateModel): string {
  return (
    `estimate, not a measurement: assumes ${model.denseEquivalentGflops} GFLOP/s on dense FLOPs for every ` +
    `kernel (no speedup from sparsity or threads), ${model.prepareNsPerWeight} ns per weight to prepare, ` +
    `${model.perCaseOverheadMs} ms per case and ${model.perBatchOverheadMs} ms per agent call`
  );
}

/** Estimated time of one timed repetition of the case, in ms. */
export function estimateRepMs(plannedCase: PlannedCase, model: RateModel = CONSERVATIVE_RATE_MODEL): number {
  return denseFlops(plannedCase.shape) / (model.denseEquivalentGflops * 1e6);
}

/**
 * Estimated wall time of one case, in ms, following the agent's loop (device-agent/src/options.h): warmup
 * runs, then repetitions until both minReps and minTimeMs are reached; maxReps and maxTimeMs (warm-up
 * included) are hard caps; at least one timed repetition is always made. Plus preparation and overhead.
 */
export function estimateCaseMs(plannedCase: PlannedCase, model: RateModel = CONSERVATIVE_RATE_MODEL): number {
  const policy = plannedCase.measurement;
  const repMs = estimateRepMs(plannedCase, model);
  const warmupMs = policy.warmup * repMs;
  const wantedReps = Math.max(policy.minReps, Math.ceil(policy.minTimeMs / repMs), 1);
  const repsCappedMs = Math.min(wantedReps, Math.max(1, policy.maxReps)) * repMs;
  // maxTimeMs counts from the first warm-up run; the repetition running when it expires still completes.
  const loopMs = Math.min(warmupMs + repsCappedMs, Math.max(policy.maxTimeMs + repMs, warmupMs + repMs));
  const prepareMs = (weightCount(plannedCase.shape) * model.prepareNsPerWeight) / 1e6;
  return prepareMs + loopMs + model.perCaseOverheadMs;
}
