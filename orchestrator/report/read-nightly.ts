/**
 * The report's "nightly trends" input: orchestrator/nightly's trends, with each case key replaced by a label
 * people can read (from the task rows that measured it). Reads only.
 */
import type { ReportNightlyDevice } from '../../reports/types.ts';
import { sentinelNameOf } from '../nightly/sentinels.ts';
import { readNightlyTrends } from '../nightly/trends.ts';
import type { StoreDb } from '../store/open.ts';
import { CASE_COLUMN_NAMES } from '../store/shape-columns.ts';
import { caseLabel } from './read-store.ts';

/** Nights shown by default: two weeks, the span a regression hunt usually looks back over. */
export const DEFAULT_TREND_NIGHTS = 14;

const KEYS_PER_QUERY = 500;

async function labelsOf(db: StoreDb, keys: readonly string[]): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  for (let start = 0; start < keys.length; start += KEYS_PER_QUERY) {
    const rows = await db
      .selectFrom('tasks')
      .select(['case_key', ...CASE_COLUMN_NAMES])
      .where('case_key', 'in', keys.slice(start, start + KEYS_PER_QUERY))
      .execute();
    for (const row of rows) if (!labels.has(row.case_key)) labels.set(row.case_key, caseLabel(row));
  }
  return labels;
}

/** A sentinel's history key (`sentinel/<name>`) names no task: say which sentinel it is. */
function fallbackLabel(key: string): string {
  const name = sentinelNameOf(key);
  return name === undefined ? key : `sentinel ${name}`;
}

export async function readNightlyForReport(
  db: StoreDb,
  nights: number = DEFAULT_TREND_NIGHTS,
): Promise<ReportNightlyDevice[]> {
  const trends = await readNightlyTrends(db, { nights });
  const keys = new Set<string>();
  for (const device of trends)
    for (const night of device.nights) {
      for (const c of night.cases) keys.add(c.caseKey);
      for (const f of night.findings) if (f.caseKey !== null) keys.add(f.caseKey);
    }
  const labels = await labelsOf(db, [...keys]);
  const label = (key: string) => labels.get(key) ?? fallbackLabel(key);
  return trends.map((device) => ({
    deviceId: device.deviceId,
    model: device.model,
    nights: device.nights.map((night) => ({
      nightlyRunId: night.nightlyRunId,
      night: night.night,
      status: night.status,
      agentHash: night.agentHash,
      fingerprint: night.fingerprint,
      sentinelFactor: night.sentinelFactor,
      sentinelSpread: night.sentinelSpread,
      usable: night.usable,
      findings: night.findings.map((f) => ({
        kind: f.kind,
        caseLabel: f.caseKey === null ? null : label(f.caseKey),
        ratio: f.ratio,
        threshold: f.threshold,
        confirmed: f.confirmed,
        message: f.message,
      })),
      cases: night.cases.map((c) => ({
        caseLabel: label(c.caseKey),
        sentinel: c.sentinel,
        ratio: c.ratio,
        threshold: c.threshold,
      })),
    })),
  }));
}
