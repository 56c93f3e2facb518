/** Store side of lab hygiene and of lost devices: run_devices, batch_runs, device_gaps, re-queued and skipped tasks. */
import type { StoreDb } from './open.ts';
import type { DeviceGapRow } from './schema.ts';
import { moveDeviceTasks } from './tasks.ts';

export interface RunDeviceInput {
  readonly screenOn: boolean | null;
  readonly charging: boolean | null;
  readonly batteryLevel: number | null;
  readonly root: string;
  readonly bigCpus: readonly number[] | null;
  readonly lab: unknown;
}

const flag = (value: boolean | null): number | null => (value === null ? null : value ? 1 : 0);

/** Records (or, on resume, replaces) what the lab found on a device for a run. */
export async function recordRunDevice(
  db: StoreDb,
  runId: string,
  deviceId: string,
  input: RunDeviceInput,
  now: Date = new Date(),
): Promise<void> {
  const row = {
    screen_on: flag(input.screenOn),
    charging: flag(input.charging),
    battery_level: input.batteryLevel,
    root: input.root,
    big_cpus_json: input.bigCpus === null ? null : JSON.stringify(input.bigCpus),
    lab_json: JSON.stringify(input.lab),
    recorded_at: now.toISOString(),
  };
  await db
    .insertInto('run_devices')
    .values({ run_id: runId, device_id: deviceId, ...row })
    .onConflict((conflict) => conflict.columns(['run_id', 'device_id']).doUpdateSet(row))
    .execute();
}

export interface BatchStartInput {
  readonly batchIndex: number;
  readonly cases: number;
  readonly thermalWaitMs: number;
  readonly gate: string;
  readonly temperatureC: number | null;
  readonly telemetry: unknown;
}

export async function startBatchRun(
  db: StoreDb,
  runId: string,
  deviceId: string,
  input: BatchStartInput,
  now: Date = new Date(),
): Promise<number> {
  const inserted = await db
    .insertInto('batch_runs')
    .values({
      run_id: runId,
      device_id: deviceId,
      batch_index: input.batchIndex,
      cases: input.cases,
      thermal_wait_ms: input.thermalWaitMs,
      gate: input.gate,
      temp_before_c: input.temperatureC,
      telemetry_before_json: JSON.stringify(input.telemetry),
      requeued: 0,
      started_at: now.toISOString(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return inserted.id;
}

export async function finishBatchRun(
  db: StoreDb,
  batchRunId: number,
  end: {
    readonly temperatureC: number | null;
    readonly telemetry: unknown;
    readonly flag: string | null;
    readonly requeued: boolean;
  },
  now: Date = new Date(),
): Promise<void> {
  await db
    .updateTable('batch_runs')
    .set({
      temp_after_c: end.temperatureC,
      telemetry_after_json: JSON.stringify(end.telemetry),
      flag: end.flag,
      requeued: end.requeued ? 1 : 0,
      finished_at: now.toISOString(),
    })
    .where('id', '=', batchRunId)
    .execute();
}

/**
 * A flagged batch is measured again: its measurements are deleted and its done tasks go back to pending,
 * in one transaction, so the store never holds two measurements of a case.
 */
export async function requeueTasks(
  db: StoreDb,
  taskIds: readonly number[],
  reason: string,
  now: Date = new Date(),
) {
  if (taskIds.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('measurements')
      .where('task_id', 'in', [...taskIds])
      .execute();
    const result = await trx
      .updateTable('tasks')
      .set({ status: 'pending', last_error: reason, updated_at: now.toISOString() })
      .where('id', 'in', [...taskIds])
      .where('status', '=', 'done')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  });
}

/** Marks a device's pending tasks of a run skipped, with the reason; returns how many. */
export function skipPendingTasks(
  db: StoreDb,
  runId: string,
  deviceId: string,
  reason: string,
  now: Date = new Date(),
): Promise<number> {
  return moveDeviceTasks(
    db,
    runId,
    deviceId,
    { from: ['pending', 'running'], to: 'skipped', lastError: reason },
    now,
  );
}

/** On resume: cases skipped because their device went away are pending again now that it is back. */
export function reviveSkippedTasks(db: StoreDb, runId: string, deviceId: string, now: Date = new Date()) {
  return moveDeviceTasks(db, runId, deviceId, { from: ['skipped'], to: 'pending' }, now);
}

export interface DeviceGapInput {
  readonly lostAt: Date;
  readonly reason: string;
  readonly backAt: Date | null;
  readonly flaps: number;
  readonly fingerprintBefore: string;
  readonly fingerprintAfter: string | null;
}

/** Records a gap in a device's work (orchestrator/scheduler/returns.ts). */
export async function recordDeviceGap(
  db: StoreDb,
  runId: string,
  deviceId: string,
  gap: DeviceGapInput,
): Promise<void> {
  await db
    .insertInto('device_gaps')
    .values({
      run_id: runId,
      device_id: deviceId,
      lost_at: gap.lostAt.toISOString(),
      reason: gap.reason,
      back_at: gap.backAt === null ? null : gap.backAt.toISOString(),
      flaps: gap.flaps,
      fingerprint_before: gap.fingerprintBefore,
      fingerprint_after: gap.fingerprintAfter,
    })
    .execute();
}

export async function deviceGaps(db: StoreDb, runId: string): Promise<DeviceGapRow[]> {
  return db
    .selectFrom('device_gaps')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('device_id')
    .orderBy('lost_at')
    .execute();
}
