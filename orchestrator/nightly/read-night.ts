/**
 * The one read the night is judged from: per device, tonight's medians and case labels, its last nights
 * (any, and the last one that counts as history), its history on tonight's fingerprint, what lab hygiene
 * reported, the times it was lost and back, and the share of its cases that did not finish. `judgeNight` takes this and touches no store.
 */
import { deviceGaps } from '../store/lab.ts';
import type { StoreDb } from '../store/open.ts';
import { caseLabel } from './findings.ts';
import type { NightGap } from './gaps.ts';
import {
  type CaseHistory,
  previousNight,
  readHistory,
  readLabTrouble,
  readRunMedians,
} from './nightly-store.ts';

/** One measured case of tonight's sweep. */
export interface MedianRow {
  readonly case_key: string;
  readonly agent_hash: string;
  readonly median_ns: number;
}

/** An earlier night of the device. */
export interface PastNight {
  readonly build_fingerprint: string;
  readonly agent_hash: string;
}

export interface DeviceNightRead {
  readonly deviceId: string;
  readonly medians: readonly MedianRow[];
  /** Case key -> `layer scheme block s=sparsity`, for the findings. */
  readonly labels: ReadonlyMap<string, string>;
  /** The device's last night before tonight, whatever it was. */
  readonly previous: PastNight | undefined;
  /** The device's last night that counts as history: its build is the one tonight's is compared with. */
  readonly lastUsable: PastNight | undefined;
  readonly history: ReadonlyMap<string, CaseHistory>;
  readonly labTrouble: readonly string[];
  /** Times the device was lost during tonight's sweep (device_gaps), oldest first. */
  readonly gaps: readonly NightGap[];
  /** Share of the device's tasks not done (0 when it had none). */
  readonly failedShare: number;
}

export interface NightReadRequest {
  readonly nightlyRunId: string;
  readonly sweepRunId: string;
  readonly historyNights: number;
  readonly devices: readonly { readonly deviceId: string; readonly fingerprint: string }[];
}

export async function readTaskCases(db: StoreDb, runId: string, deviceId: string) {
  return db
    .selectFrom('tasks')
    .select(['case_key', 'case_json', 'plan_line_json'])
    .where('run_id', '=', runId)
    .where('device_id', '=', deviceId)
    .execute();
}

async function failedShare(db: StoreDb, runId: string, deviceId: string): Promise<number> {
  const rows = await db
    .selectFrom('tasks')
    .select(['status'])
    .where('run_id', '=', runId)
    .where('device_id', '=', deviceId)
    .execute();
  if (rows.length === 0) return 0;
  return rows.filter((row) => row.status !== 'done').length / rows.length;
}

export async function readNight(db: StoreDb, request: NightReadRequest): Promise<DeviceNightRead[]> {
  const { nightlyRunId, sweepRunId } = request;
  const medians = await readRunMedians(db, sweepRunId);
  const gaps = await deviceGaps(db, sweepRunId);
  const reads: DeviceNightRead[] = [];
  for (const { deviceId, fingerprint } of request.devices) {
    const tasks = await readTaskCases(db, sweepRunId, deviceId);
    reads.push({
      deviceId,
      medians: medians.filter((row) => row.device_id === deviceId),
      labels: new Map(tasks.map((task) => [task.case_key, caseLabel(task.case_json)])),
      previous: await previousNight(db, deviceId, nightlyRunId),
      lastUsable: await previousNight(db, deviceId, nightlyRunId, { usableOnly: true }),
      history: await readHistory(db, deviceId, fingerprint, request.historyNights, nightlyRunId),
      labTrouble: await readLabTrouble(db, sweepRunId, deviceId),
      gaps: gaps.filter((gap) => gap.device_id === deviceId),
      failedShare: await failedShare(db, sweepRunId, deviceId),
    });
  }
  return reads;
}
