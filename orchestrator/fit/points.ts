/**
 * Store rows -> the cost model's measured points, grouped one LUT per device. Pure: the rows come from
 * orchestrator/fit/read-rows.ts (or a test's literals).
 */
import { isScheme } from '../../config/vocabulary.ts';
import type { DeviceIdentity, MeasuredPoint } from '../../cost-model/types.ts';
import { shapeOfColumns } from '../store/shape-columns.ts';

/** The columns the fit needs, named as in the store (orchestrator/store/schema.ts). */
export interface FitRow {
  readonly device_id: string;
  readonly device_model: string;
  readonly abi: string;
  readonly build_fingerprint: string;
  readonly agent_hash: string;
  readonly op: string;
  readonly scheme: string | null;
  readonly block: string | null;
  readonly sparsity: number | null;
  readonly threads: number | null;
  readonly cin: number | null;
  readonly cout: number | null;
  readonly h: number | null;
  readonly w: number | null;
  readonly k: number | null;
  readonly stride: number | null;
  readonly pad: number | null;
  readonly density: number;
  readonly kept_blocks: number;
  readonly flops: number;
  readonly n: number;
  readonly median_ns: number;
  readonly ci_low_ns: number;
  readonly ci_high_ns: number;
  /** ISO-8601: which agent build measured last. */
  readonly measured_at: string;
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
}

/**
 * One group per device, with the agent build chosen: `agentHash` when given, else the build that measured
 * most recently (a rebuilt agent makes the older timings stale: kernels changed).
 */
export function groupPointsByDevice(rows: readonly FitRow[], agentHash?: string): DevicePoints[] {
  const byDevice = new Map<string, FitRow[]>();
  for (const row of rows) byDevice.set(row.device_id, [...(byDevice.get(row.device_id) ?? []), row]);
  const groups: DevicePoints[] = [];
  for (const [deviceId, deviceRows] of [...byDevice.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const latest = deviceRows.reduce((best, row) => (row.measured_at > best.measured_at ? row : best));
    const chosen = agentHash ?? latest.agent_hash;
    const skippedBuilds: Record<string, number> = {};
    const points: MeasuredPoint[] = [];
    for (const row of deviceRows) {
      if (row.agent_hash !== chosen) {
        skippedBuilds[row.agent_hash] = (skippedBuilds[row.agent_hash] ?? 0) + 1;
        continue;
      }
      const point = pointFromRow(row);
      if (point !== undefined) points.push(point);
    }
    groups.push({ deviceId, agentHash: chosen, points, skippedBuilds });
  }
  return groups;
}
