/**
 * Store rows -> the cost model's measured points, grouped one LUT per device. Pure: the rows come from
 * orchestrator/fit/read-rows.ts (or a test's literals).
 */
import { DEFAULT_LAB } from '../../config/defaults.ts';
import { isScheme } from '../../config/vocabulary.ts';
import type { DeviceIdentity, MeasuredPoint } from '../../cost-model/index.ts';
import { fastestProbeNs, probeMaxNs } from '../store/probes.ts';
import { type CaseColumnValues, shapeOfColumns } from '../store/shape-columns.ts';

/** The columns the fit needs, named as in the store (orchestrator/store/schema.ts). */
export interface FitRow extends CaseColumnValues {
  readonly device_id: string;
  readonly device_model: string;
  readonly abi: string;
  readonly build_fingerprint: string;
  readonly agent_hash: string;
  readonly density: number;
  readonly kept_blocks: number;
  readonly flops: number;
  readonly n: number;
  readonly median_ns: number;
  readonly ci_low_ns: number;
  readonly ci_high_ns: number;
  /** ISO-8601: which agent build measured last. */
  readonly measured_at: string;
  /** The run and case (disturbance is judged against the run's fastest probe; twins share a case key). */
  readonly run_id?: string;
  readonly case_key?: string;
  /** The weights the agent reported: `seeded` or a weights file's sha256 (null: before migration 0007). */
  readonly measured_weights?: string | null;
  /** The agent's probe around the case (null: not reported). */
  readonly probe_before_ns?: number | null;
  readonly probe_after_ns?: number | null;
}

/** A row as a point; undefined for rows that are not layer timings (idle cases). */
export function pointFromRow(row: FitRow): MeasuredPoint | undefined {
  const shape = shapeOfColumns(row);
  if (shape === undefined || row.scheme === null || !isScheme(row.scheme)) return undefined;
  const device: DeviceIdentity = {
    id: row.device_id,
    model: row.device_model,
    abi: row.abi,
    buildFingerprint: row.build_fingerprint,
  };
  return {
    device,
    agentHash: row.agent_hash,
    shape,
    scheme: row.scheme,
    block: row.block ?? undefined,
    density: row.density,
    sparsity: row.sparsity ?? 0,
    threads: row.threads ?? 1,
    ...(row.backend === 'gpu' ? { backend: 'gpu' as const } : {}),
    medianNs: row.median_ns,
    ciLowNs: row.ci_low_ns,
    ciHighNs: row.ci_high_ns,
    n: row.n,
    flops: row.flops,
    keptBlocks: row.kept_blocks,
  };
}

export interface DevicePoints {
  readonly deviceId: string;
  readonly agentHash: string;
  readonly points: readonly MeasuredPoint[];
  /** Rows of this device measured by other agent builds, left out (one build per LUT), by hash. */
  readonly skippedBuilds: Readonly<Record<string, number>>;
  /** Measurements left out as disturbed because another run measured the same case calm (see dropDisturbed). */
  readonly disturbedDropped: number;
}

/** The slower probe of a row over the fastest probe of its run on its device; undefined without probes. */
function probeRatios(rows: readonly FitRow[]): Map<FitRow, number> {
  const byRun = new Map<string, FitRow[]>();
  for (const row of rows) {
    const run = `${row.device_id}\u0000${row.run_id ?? ''}`;
    const group = byRun.get(run);
    if (group === undefined) byRun.set(run, [row]);
    else group.push(row);
  }
  const ratios = new Map<FitRow, number>();
  for (const runRows of byRun.values()) {
    const fastest = fastestProbeNs(runRows);
    for (const row of runRows) {
      const slowest = probeMaxNs(row);
      if (fastest !== undefined && slowest !== undefined) ratios.set(row, slowest / fastest);
    }
  }
  return ratios;
}

/**
 * Leaves out the measurements that still ran disturbed after the sweep's re-measures (a probe more than
 * `tolerance` over its run's fastest: orchestrator/scheduler/disturbance.ts) when another measurement of the same
 * case (device, case key) was calm. A case measured only while disturbed keeps its measurements: a wide knot
 * beats a hole. On the development VM a disturbance outlasted both re-measures of a 7-minute sweep for 191 of
 * 1422 results (probe up to 2.4x, medians up to 1.66x their case's median).
 */
export function dropDisturbed(
  rows: readonly FitRow[],
  tolerance: number,
): { kept: FitRow[]; dropped: number } {
  const ratios = probeRatios(rows);
  const disturbed = (row: FitRow) => (ratios.get(row) ?? 1) > 1 + tolerance;
  const caseOf = (row: FitRow) => `${row.device_id}\u0000${row.agent_hash}\u0000${row.case_key ?? ''}`;
  const calmCases = new Set(rows.filter((row) => row.case_key !== undefined && !disturbed(row)).map(caseOf));
  const kept = rows.filter(
    (row) => !(disturbed(row) && row.case_key !== undefined && calmCases.has(caseOf(row))),
  );
  return { kept, dropped: rows.length - kept.length };
}

/**
 * One group per device, with the agent build chosen: `agentHash` when given, else the build that measured
 * most recently (a rebuilt agent makes the older timings stale: kernels changed).
 */
export function groupPointsByDevice(
  rows: readonly FitRow[],
  agentHash?: string,
  disturbanceTolerance: number = DEFAULT_LAB.disturbance.tolerance,
): DevicePoints[] {
  const byDevice = new Map<string, FitRow[]>();
  for (const row of rows) byDevice.set(row.device_id, [...(byDevice.get(row.device_id) ?? []), row]);
  const groups: DevicePoints[] = [];
  for (const [deviceId, deviceRows] of [...byDevice.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const latest = deviceRows.reduce((best, row) => (row.measured_at > best.measured_at ? row : best));
    const chosen = agentHash ?? latest.agent_hash;
    const skippedBuilds: Record<string, number> = {};
    const ofBuild: FitRow[] = [];
    for (const row of deviceRows) {
      if (row.agent_hash === chosen) ofBuild.push(row);
      else skippedBuilds[row.agent_hash] = (skippedBuilds[row.agent_hash] ?? 0) + 1;
    }
    const { kept, dropped } = dropDisturbed(ofBuild, disturbanceTolerance);
    const points = kept.map(pointFromRow).filter((point) => point !== undefined);
    groups.push({ deviceId, agentHash: chosen, points, skippedBuilds, disturbedDropped: dropped });
  }
  return groups;
}
