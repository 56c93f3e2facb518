/**
 * The data behind the report's "nightly trends" section: per device, its last nights with the sentinel
 * factor, what was found and each case's normalised ratio to its baseline. Reads only; the HTML is built
 * by reports/ from this. The fields shared with the report are declared once, in reports/types.ts.
 */
import type {
  NightlyCaseFields,
  NightlyDeviceFields,
  NightlyFindingFields,
  NightlyNightFields,
} from '../../reports/types.ts';
import type { StoreDb } from '../store/open.ts';
import type { FindingKind, NightlyStatus } from '../store/schema.ts';

export interface TrendFinding extends NightlyFindingFields {
  readonly kind: FindingKind;
  readonly caseKey: string | null;
}

export interface TrendCase extends NightlyCaseFields {
  readonly caseKey: string;
  readonly latencyNs: number;
  /** latencyNs divided by the night's sentinel factor. */
  readonly normalisedNs: number;
}

export interface TrendNight extends NightlyNightFields<TrendFinding, TrendCase> {
  readonly startedAt: string;
  readonly status: NightlyStatus;
}

export type TrendDevice = NightlyDeviceFields<TrendNight>;

export interface TrendRequest {
  readonly deviceId?: string;
  /** The last this many nightly runs (of the whole lab). */
  readonly nights: number;
}

interface DeviceNightRow {
  readonly nightly_run_id: string;
  readonly device_id: string | null;
}

function deviceNightKey(row: DeviceNightRow): string {
  return `${row.nightly_run_id}\u0000${row.device_id ?? ''}`;
}

/** Rows by (nightly run, device), in their order: each device-night takes its own without scanning all. */
function groupByDeviceNight<T extends DeviceNightRow>(rows: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = deviceNightKey(row);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  return groups;
}

export async function readNightlyTrends(db: StoreDb, request: TrendRequest): Promise<TrendDevice[]> {
  const runs = await db
    .selectFrom('nightly_runs')
    .select(['id', 'night', 'started_at', 'status'])
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(request.nights)
    .execute();
  if (runs.length === 0) return [];
  const runIds = runs.map((run) => run.id);
  let deviceQuery = db
    .selectFrom('nightly_devices as n')
    .innerJoin('devices as d', 'd.id', 'n.device_id')
    .selectAll('n')
    .select('d.model')
    .where('n.nightly_run_id', 'in', runIds);
  if (request.deviceId !== undefined) deviceQuery = deviceQuery.where('n.device_id', '=', request.deviceId);
  const deviceRows = await deviceQuery.execute();
  let caseQuery = db.selectFrom('nightly_cases').selectAll().where('nightly_run_id', 'in', runIds);
  if (request.deviceId !== undefined) caseQuery = caseQuery.where('device_id', '=', request.deviceId);
  const caseRows = await caseQuery.execute();
  let findingQuery = db
    .selectFrom('nightly_findings')
    .selectAll()
    .where('nightly_run_id', 'in', runIds)
    .orderBy('id');
  if (request.deviceId !== undefined) findingQuery = findingQuery.where('device_id', '=', request.deviceId);
  const findingRows = await findingQuery.execute();

  const runById = new Map(runs.map((run) => [run.id, run]));
  const findingsByNight = groupByDeviceNight(findingRows);
  const casesByNight = groupByDeviceNight(caseRows);
  const devices = new Map<string, { model: string; nights: TrendNight[] }>();
  const oldestFirst = [...deviceRows].sort((a, b) => {
    const left = runById.get(a.nightly_run_id)?.started_at ?? '';
    const right = runById.get(b.nightly_run_id)?.started_at ?? '';
    return left < right ? -1 : left > right ? 1 : 0;
  });
  for (const row of oldestFirst) {
    const run = runById.get(row.nightly_run_id);
    if (run === undefined) continue;
    const key = deviceNightKey(row);
    const entry = devices.get(row.device_id) ?? { model: row.model, nights: [] };
    entry.nights.push({
      nightlyRunId: run.id,
      night: run.night,
      startedAt: run.started_at,
      status: run.status,
      agentHash: row.agent_hash,
      fingerprint: row.build_fingerprint,
      sentinelFactor: row.sentinel_factor,
      sentinelSpread: row.sentinel_spread,
      usable: row.usable === 1,
      findings: (findingsByNight.get(key) ?? []).map((f) => ({
        kind: f.kind,
        caseKey: f.case_key,
        ratio: f.ratio,
        threshold: f.threshold,
        confirmed: f.confirmed === 1,
        message: f.message,
      })),
      cases: (casesByNight.get(key) ?? []).map((c) => ({
        caseKey: c.case_key,
        sentinel: c.sentinel === 1,
        latencyNs: c.latency_ns,
        normalisedNs: c.normalised_ns,
        ratio: c.ratio,
        threshold: c.threshold,
      })),
    });
    devices.set(row.device_id, entry);
  }
  return [...devices].map(([deviceId, entry]) => ({ deviceId, model: entry.model, nights: entry.nights }));
}
