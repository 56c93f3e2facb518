/**
 * Device leases: at most one process runs cases on a device at a time, on one host or across a lab's hosts.
 * A claim takes a device whose lease is free, expired or abandoned; the holder renews it while it works and
 * deletes it when done. Every claim raises the device's fencing token; the holder's commits carry the token,
 * and a commit whose token is no longer the device's is refused (commitMeasurement, recordFailure), so a
 * holder that was stopped past its lease and taken over cannot store late results.
 *
 * Portable on both dialects without locks: the primary key on device_id decides between two first claims
 * (insert ... on conflict do nothing), and a compare-and-set on the token decides between two takeovers.
 * Lease times are the hosts' clocks (ISO text, so they sort): keep lab hosts on NTP.
 */
import type { StoreDb } from './open.ts';
import type { BatchFence } from './queue-fence.ts';
import type { DeviceLeasesTable } from './schema.ts';

export type LeaseRow = Readonly<DeviceLeasesTable>;

export interface LeaseHolder {
  /** Unique per claim. */
  readonly holderId: string;
  readonly host: string;
  readonly pid: number;
  readonly runId: string | null;
}

/** What the holder's commits carry (and the host they record as the measuring host). */
export interface LeaseFence {
  readonly deviceId: string;
  readonly token: number;
  readonly host: string;
  /** A worker's batch of an enqueued run (store/queue-fence.ts): its commits are checked against it too. */
  readonly batch?: BatchFence;
}

export type ClaimResult =
  | { readonly claimed: true; readonly fence: LeaseFence }
  | { readonly claimed: false; readonly holder: LeaseRow };

export interface ClaimOptions {
  readonly leaseMs: number;
  readonly now: Date;
  /** A lease that has not expired but whose holder is known dead (a killed process on this host). */
  readonly isAbandoned?: (row: LeaseRow) => boolean;
}

function later(now: Date, ms: number): string {
  return new Date(now.getTime() + ms).toISOString();
}

export async function readLease(db: StoreDb, deviceId: string): Promise<LeaseRow | undefined> {
  return db.selectFrom('device_leases').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
}

/** Whether `row` still keeps others off its device at `now`. */
export function leaseIsLive(row: LeaseRow, now: Date, isAbandoned?: (row: LeaseRow) => boolean): boolean {
  return row.expires_at > now.toISOString() && isAbandoned?.(row) !== true;
}

/** Takes the device for `holder`, or says who holds it. */
export async function claimDevice(
  db: StoreDb,
  deviceId: string,
  holder: LeaseHolder,
  options: ClaimOptions,
): Promise<ClaimResult> {
  const at = options.now.toISOString();
  const current = await readLease(db, deviceId);
  if (current !== undefined && leaseIsLive(current, options.now, options.isAbandoned)) {
    return { claimed: false, holder: current };
  }
  const token = (current?.token ?? 0) + 1;
  const row = {
    token,
    holder_id: holder.holderId,
    host: holder.host,
    pid: holder.pid,
    run_id: holder.runId,
    acquired_at: at,
    heartbeat_at: at,
    expires_at: later(options.now, options.leaseMs),
  };
  const taken =
    current === undefined
      ? (
          await db
            .insertInto('device_leases')
            .values({ device_id: deviceId, ...row })
            .onConflict((conflict) => conflict.column('device_id').doNothing())
            .executeTakeFirst()
        ).numInsertedOrUpdatedRows
      : (
          await db
            .updateTable('device_leases')
            .set(row)
            .where('device_id', '=', deviceId)
            .where('token', '=', current.token)
            .executeTakeFirst()
        ).numUpdatedRows;
  if (Number(taken ?? 0n) === 1) return { claimed: true, fence: { deviceId, token, host: holder.host } };
  // Another process claimed it between our read and our write: it holds the device now.
  const winner = await readLease(db, deviceId);
  if (winner === undefined) return claimDevice(db, deviceId, holder, options);
  return { claimed: false, holder: winner };
}

/** Extends the lease; false when it is no longer ours (taken over after it expired). */
export async function renewLease(
  db: StoreDb,
  fence: LeaseFence,
  leaseMs: number,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('device_leases')
    .set({ heartbeat_at: now.toISOString(), expires_at: later(now, leaseMs) })
    .where('device_id', '=', fence.deviceId)
    .where('token', '=', fence.token)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Gives the device back (only when it is still ours). */
export async function releaseLease(db: StoreDb, fence: LeaseFence): Promise<void> {
  await db
    .deleteFrom('device_leases')
    .where('device_id', '=', fence.deviceId)
    .where('token', '=', fence.token)
    .execute();
}

/** Inside a commit's transaction: whether the fence's token is still the device's. */
export async function fenceHolds(db: StoreDb, fence: LeaseFence): Promise<boolean> {
  const row = await db
    .selectFrom('device_leases')
    .select('token')
    .where('device_id', '=', fence.deviceId)
    .executeTakeFirst();
  return row?.token === fence.token;
}

/** "sweep pid 4242 on lab-host-2 (run 20250101-120000-3fa9), renewed 2025-01-01T12:00:05Z, lease until ..." */
export function describeHolder(row: LeaseRow): string {
  return (
    `pid ${row.pid} on ${row.host}${row.run_id === null ? '' : ` (run ${row.run_id})`}, holding it since ` +
    `${row.acquired_at}, lease renewed ${row.heartbeat_at}, until ${row.expires_at}`
  );
}
