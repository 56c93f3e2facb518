/** A result line + its host-side statistics -> the row the store keeps (pure). */
import type { OkResultLine } from '../../config/agent-protocol.ts';
import { type SampleSummary, summarize, toSortedSamples } from '../stats/index.ts';
import type { MeasurementInput } from '../store/tasks.ts';

export interface Provenance {
  readonly agentHash: string;
  readonly buildFingerprint: string;
}

/**
 * The percentile bootstrap costs resamples x n draws, and a fast layer timed for 100 ms brings up to 10,000
 * samples: 2000 resamples would take about half a second per case on a phone lab's host, and on the host
 * transport that time is taken from the agent's CPUs. So the resample count shrinks as n grows, within a
 * budget of draws, never below 200. Below n = 100 it stays at the stats module's 2000; above, the interval
 * is already narrow and the Monte Carlo error of 200 resamples is small next to it. Deterministic in n.
 */
export const BOOTSTRAP_DRAW_BUDGET = 200_000;
const MIN_RESAMPLES = 200;
const MAX_RESAMPLES = 2_000;

export function bootstrapResamples(sampleCount: number): number {
  const byBudget = Math.floor(BOOTSTRAP_DRAW_BUDGET / Math.max(1, sampleCount));
  return Math.min(MAX_RESAMPLES, Math.max(MIN_RESAMPLES, byBudget));
}

/** Statistics of the result's samples, or a sentence saying why there are none (an empty or non-finite sample). */
export function summarizeResult(result: OkResultLine): SampleSummary | string {
  try {
    const sorted = toSortedSamples(result.samplesNs);
    return sorted === undefined
      ? 'the agent returned an ok result with no samples'
      : summarize(sorted, { resamples: bootstrapResamples(sorted.length) });
  } catch (error) {
    return (error as Error).message;
  }
}

export function toMeasurement(
  result: OkResultLine,
  summary: SampleSummary,
  provenance: Provenance,
): MeasurementInput {
  return {
    agent_hash: provenance.agentHash,
    build_fingerprint: provenance.buildFingerprint,
    samples_ns_json: JSON.stringify(result.samplesNs),
    kernel_ns_json: result.kernelNs === undefined ? null : JSON.stringify(result.kernelNs),
    telemetry_json: JSON.stringify(result.telemetry),
    cpus_json: JSON.stringify(result.cpus),
    density: result.density,
    kept_blocks: result.keptBlocks,
    kept_energy: result.keptEnergy,
    kernel: result.kernel,
    flops: result.flops,
    weights: weightsUsed(result),
    mask_fnv1a: result.maskFnv1a ?? null,
    prepare_ns: result.prepareNs ?? null,
    sampling_ns: result.samplingNs ?? null,
    probe_before_ns: result.probeNs?.[0] ?? null,
    probe_after_ns: result.probeNs?.[1] ?? null,
    n: summary.count,
    min_ns: summary.min,
    max_ns: summary.max,
    median_ns: summary.median,
    mad_ns: summary.mad,
    p10_ns: summary.p10,
    p90_ns: summary.p90,
    ci_low_ns: summary.medianCiLow,
    ci_high_ns: summary.medianCiHigh,
  };
}

/** The weights a result was timed with; an agent that does not say (older than weights files) seeded them. */
export function weightsUsed(result: OkResultLine): string {
  return result.weights ?? 'seeded';
}

/**
 * Why a result cannot stand for the weights its task asked for (`seeded` or a weights file's sha256), or
 * undefined when it can: a case planned with a
 * model's weights must be timed with exactly that file (never silently with seeded ones), and a seeded case
 * with seeded weights.
 */
export function weightsMismatch(asked: string, result: OkResultLine): string | undefined {
  const used = weightsUsed(result);
  if (used === asked) return undefined;
  return asked === 'seeded'
    ? `the plan line asked for seeded weights, the agent reports weights ${used}`
    : `the plan line asked for the weights file with sha256 ${asked}, the agent reports ${used === 'seeded' ? 'seeded weights' : `weights ${used}`}` +
        (result.weights === undefined
          ? ': this agent build does not read weights files (its results carry no `weights`); build one that does (`prunelab build --force`)'
          : '');
}
