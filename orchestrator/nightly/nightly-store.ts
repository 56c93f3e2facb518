/** The store side of nightly runs: the nightly_* tables (migration 0002) and the reads of a night's results. */
import type { StoreDb } from '../store/open.ts';
import type { FindingKind, NightlyStatus } from '../store/schema.ts';

export async function createNightlyRun(db: StoreDb, id: string, now: Date): Promise<void> {
  await db
    .insertInto('nightly_runs')
    .values({
      id,
      night: now.toISOString().slice(0, 10),
      sweep_run_id: null,
      confirm_run_id: null,
      status: 'running',
      exit_code: null,
      summary_json: null,
      started_at: now.toISOString(),
      finished_at: null,
    })
    .execute();
}

export async function setNightlyRuns(
  db: StoreDb,
  id: string,
  runs: { readonly sweepRunId?: string; readonly confirmRunId?: string },
): Promise<void> {
  await db
    .updateTable('nightly_runs')
    .set({
      ...(runs.sweepRunId === undefined ? {} : { sweep_run_id: runs.sweepRunId }),
      ...(runs.confirmRunId === undefined ? {} : { confirm_run_id: runs.confirmRunId }),
    })
    .where('id', '=', id)
    .execute();
}

/** The night's verdict, known before its report is written (the report shows it), ahead of finishing. */
export async function setNightlyStatus(db: StoreDb, id: string, status: NightlyStatus): Promise<void> {
  await db.updateTable('nightly_runs').set({ status }).where('id', '=', id).execute();
}

export async function finishNightlyRun(
  db: StoreDb,
  id: string,
  outcome: { readonly status: NightlyStatus; readonly exitCode: number; readonly summary: unknown },
  now: Date,
): Promise<void> {
  await db
    .updateTable('nightly_runs')
    .set({
      status: outcome.status,
      exit_code: outcome.exitCode,
      summary_json: JSON.stringify(outcome.summary),
      finished_at: now.toISOString(),
    })
    .where('id', '=', id)
    .execute();
}

/**
 * The device's row of the latest nightly run before `nightlyRunId` (any fingerprint); with `usableOnly`,
 * of the latest night that counts as history (its build is the one tonight's is compared with).
 */
export async function previousNight(
  db: StoreDb,
  deviceId: string,
  nightlyRunId: string,
  options: { readonly usableOnly?: boolean } = {},
) {
  let query = db
    .selectFrom('nightly_devices as d')
    .innerJoin('nightly_runs as r', 'r.id', 'd.nightly_run_id')
    .select(['d.nightly_run_id', 'd.build_fingerprint', 'd.agent_hash'])
    .where('d.device_id', '=', deviceId)
    .where('d.nightly_run_id', '!=', nightlyRunId);
  if (options.usableOnly === true) query = query.where('d.usable', '=', 1);
  return query.orderBy('r.started_at', 'desc').orderBy('r.id', 'desc').limit(1).executeTakeFirst();
}

export interface CaseHistory {
  readonly normalisedNs: number[];
  readonly rawNs: number[];
}

/**
 * Per case key, the latencies of the last `nights` usable nights of this device with this fingerprint
 * (a fingerprint change starts a new history), oldest first; tonight excluded.
 */
export async function readHistory(
  db: StoreDb,
  deviceId: string,
  fingerprint: string,
  nights: number,
  nightlyRunId: string,
): Promise<Map<string, CaseHistory>> {
  const runs = await db
    .selectFrom('nightly_devices as d')
    .innerJoin('nightly_runs as r', 'r.id', 'd.nightly_run_id')
    .select('d.nightly_run_id')
    .where('d.device_id', '=', deviceId)
    .where('d.build_fingerprint', '=', fingerprint)
    .where('d.usable', '=', 1)
    .where('d.nightly_run_id', '!=', nightlyRunId)
    .orderBy('r.started_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(nights)
    .execute();
  const history = new Map<string, CaseHistory>();
  if (runs.length === 0) return history;
  const rows = await db
    .selectFrom('nightly_cases as c')
    .innerJoin('nightly_runs as r', 'r.id', 'c.nightly_run_id')
    .select(['c.case_key', 'c.latency_ns', 'c.normalised_ns'])
    .where('c.device_id', '=', deviceId)
    .where(
      'c.nightly_run_id',
      'in',
      runs.map((run) => run.nightly_run_id),
    )
    .orderBy('r.started_at')
    .execute();
  for (const row of rows) {
    const entry = history.get(row.case_key) ?? { normalisedNs: [], rawNs: [] };
    entry.normalisedNs.push(row.normalised_ns);
    entry.rawNs.push(row.latency_ns);
    history.set(row.case_key, entry);
  }
  return history;
}

/** Every measured case of a run: its task key, device, build and median. */
export async function readRunMedians(db: StoreDb, runId: string) {
  return db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .select(['t.device_id', 't.case_key', 'm.agent_hash', 'm.build_fingerprint', 'm.median_ns'])
    .where('t.run_id', '=', runId)
    .orderBy('m.id')
    .execute();
}

/**
 * What lab hygiene reported as trouble on a device in a run, one line per kind: batches whose thermal gate
 * gave up waiting, and flagged batches with their distinct reasons.
 */
export async function readLabTrouble(db: StoreDb, runId: string, deviceId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('batch_runs')
    .select(['gate', 'flag', 'temp_before_c'])
    .where('run_id', '=', runId)
    .where('device_id', '=', deviceId)
    .where((eb) => eb.or([eb('gate', '=', 'max-wait'), eb('flag', 'is not', null)]))
    .orderBy('id')
    .execute();
  const troubles: string[] = [];
  const hot = rows.filter((row) => row.gate === 'max-wait');
  if (hot.length > 0) {
    const hottest = Math.max(...hot.map((row) => row.temp_before_c ?? Number.NaN));
    troubles.push(
      `${hot.length} batch(es) started hot (up to ${Number.isFinite(hottest) ? hottest.toFixed(1) : '?'} °C): ` +
        'the thermal gate gave up waiting (lab.thermal.maxWaitMs)',
    );
  }
  const flags = rows.map((row) => row.flag).filter((flag) => flag !== null);
  if (flags.length > 0)
    troubles.push(`${flags.length} batch(es) flagged: ${[...new Set(flags)].slice(0, 3).join('; ')}`);
  return troubles;
}

export interface NightlyDeviceRecord {
  readonly deviceId: string;
  readonly fingerprint: string;
  readonly agentHash: string;
  readonly sentinelFactor: number | undefined;
  readonly sentinelSpread: number | undefined;
  readonly usable: boolean;
  readonly note: string | undefined;
  readonly cases: readonly {
    readonly caseKey: string;
    readonly sentinel: boolean;
    readonly latencyNs: number;
    readonly normalisedNs: number;
    readonly ratio: number | undefined;
    readonly threshold: number | undefined;
  }[];
}

export interface FindingRecord {
  readonly deviceId: string | undefined;
  readonly caseKey: string | undefined;
  readonly kind: FindingKind;
  readonly ratio: number | undefined;
  readonly threshold: number | undefined;
  readonly confirmed: boolean;
  readonly agentHash: string | undefined;
  readonly previousAgentHash: string | undefined;
  readonly message: string;
}

export async function recordNight(
  db: StoreDb,
  nightlyRunId: string,
  devices: readonly NightlyDeviceRecord[],
  findings: readonly FindingRecord[],
  now: Date,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const device of devices) {
      await trx
        .insertInto('nightly_devices')
        .values({
          nightly_run_id: nightlyRunId,
          device_id: device.deviceId,
          build_fingerprint: device.fingerprint,
          agent_hash: device.agentHash,
          sentinel_factor: device.sentinelFactor ?? null,
          sentinel_spread: device.sentinelSpread ?? null,
          usable: device.usable ? 1 : 0,
          note: device.note ?? null,
        })
        .execute();
      for (let start = 0; start < device.cases.length; start += 500) {
        const chunk = device.cases.slice(start, start + 500);
        if (chunk.length === 0) continue;
        await trx
          .insertInto('nightly_cases')
          .values(
            chunk.map((c) => ({
              nightly_run_id: nightlyRunId,
              device_id: device.deviceId,
              case_key: c.caseKey,
              sentinel: c.sentinel ? 1 : 0,
              latency_ns: c.latencyNs,
              normalised_ns: c.normalisedNs,
              ratio: c.ratio ?? null,
              threshold: c.threshold ?? null,
            })),
          )
          .execute();
      }
    }
    for (const finding of findings) {
      await trx
        .insertInto('nightly_findings')
        .values({
          nightly_run_id: nightlyRunId,
          device_id: finding.deviceId ?? null,
          case_key: finding.caseKey ?? null,
          kind: finding.kind,
          ratio: finding.ratio ?? null,
          threshold: finding.threshold ?? null,
          confirmed: finding.confirmed ? 1 : 0,
          agent_hash: finding.agentHash ?? null,
          previous_agent_hash: finding.previousAgentHash ?? null,
          message: finding.message,
          created_at: now.toISOString(),
        })
        .execute();
    }
  });
}
