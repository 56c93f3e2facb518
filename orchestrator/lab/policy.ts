/**
 * Lab hygiene decisions (pure): which CPUs to pin to, when a device is cool enough to start a batch, and
 * whether a finished batch ran under conditions that spoil its timings.
 */
import type { AgentInfo } from '../../config/agent-protocol.ts';
import { cpuTemperatureC, type LabTelemetry } from './telemetry.ts';

export interface ThermalPolicy {
  /** A batch starts once the CPU is at or below this (Tradefed: 30 °C). */
  readonly thresholdC: number;
  /** Time between two readings while waiting (Tradefed: 30 s). */
  readonly pollMs: number;
  /** Longest wait before a batch starts anyway (Tradefed: 20 min); the wait is recorded either way. */
  readonly maxWaitMs: number;
  /** A batch that ends hotter than this is flagged. */
  readonly batchLimitC: number;
}

export interface HygienePolicy {
  readonly pinBigCluster: boolean;
  readonly thermal: ThermalPolicy;
  /** A batch whose pinned CPUs end below (1 - this) x their frequency at the start is flagged. */
  readonly freqDropTolerance: number;
  /** Run a flagged batch once more (its results are discarded and measured again). */
  readonly requeueFlagged: boolean;
  /** On a rooted phone, set the pinned CPUs' governor to `performance` and restore it afterwards. */
  readonly lockGovernor: boolean;
}

/** The CPUs of the fastest cluster, from the agent's `info` (clusters sorted fastest first). */
export function bigClusterCpus(info: Pick<AgentInfo, 'clusters' | 'bigCluster'>): number[] | undefined {
  const index = info.bigCluster ?? 0;
  const cluster = info.clusters.find((candidate) => candidate.index === index) ?? info.clusters[0];
  if (cluster === undefined || cluster.cpus.length === 0) return undefined;
  // One cluster only (no big.LITTLE, or no frequencies): nothing to choose, so no pinning.
  if (info.clusters.length < 2) return undefined;
  return [...cluster.cpus];
}

export type GateStep =
  | { readonly action: 'start'; readonly reason: 'cool' | 'no-sensor' }
  | { readonly action: 'start'; readonly reason: 'max-wait' }
  | { readonly action: 'wait'; readonly delayMs: number };

/** One step of the thermal gate: start now, or wait `delayMs` and read again. */
export function gateStep(tempC: number | undefined, waitedMs: number, policy: ThermalPolicy): GateStep {
  if (tempC === undefined) return { action: 'start', reason: 'no-sensor' };
  if (tempC <= policy.thresholdC) return { action: 'start', reason: 'cool' };
  if (waitedMs >= policy.maxWaitMs) return { action: 'start', reason: 'max-wait' };
  return { action: 'wait', delayMs: Math.min(policy.pollMs, policy.maxWaitMs - waitedMs) };
}

/** Why a batch's timings are suspect, or undefined when they are not. */
export function batchFlag(
  before: LabTelemetry,
  after: LabTelemetry,
  cpus: readonly number[] | undefined,
  policy: Pick<HygienePolicy, 'freqDropTolerance' | 'thermal'>,
): string | undefined {
  const reasons: string[] = [];
  const tempC = cpuTemperatureC(after);
  if (tempC !== undefined && tempC > policy.thermal.batchLimitC)
    reasons.push(
      `CPU at ${tempC.toFixed(1)} °C after the batch (limit lab.thermal.batchLimitC = ${policy.thermal.batchLimitC} °C)`,
    );
  const watched = cpus ?? Object.keys(after.curFreqKhz).map((name) => Number(name.slice(3)));
  for (const cpu of watched) {
    const name = `cpu${cpu}`;
    const start = before.curFreqKhz[name];
    const end = after.curFreqKhz[name];
    const capStart = before.maxFreqKhz[name];
    const capEnd = after.maxFreqKhz[name];
    // A lowered cap is a thermal (or power) limit for sure; a lower current frequency may be one.
    if (capStart != null && capEnd != null && capEnd < capStart * (1 - policy.freqDropTolerance)) {
      reasons.push(`${name} capped from ${capStart} to ${capEnd} kHz during the batch`);
    } else if (start != null && end != null && end < start * (1 - policy.freqDropTolerance)) {
      reasons.push(`${name} dropped from ${start} to ${end} kHz during the batch`);
    }
  }
  return reasons.length === 0 ? undefined : reasons.join('; ');
}
