/**
 * `prunelab worker` processes as the store sees them (migration 0009): one row per process with its host,
 * pid, devices and a heartbeat. `prunelab status` calls a worker whose heartbeat is older than its lease gone
 * (killed, hung, or cut off from the database); its batches are free again by then.
 */
import type { StoreDb } from './open.ts';

/** A device as a worker advertises it: what the queue's selectors match on. */
export interface WorkerDevice {
  readonly id: string;
  readonly model: string;
  readonly abi: string;
  readonly fingerprint: string;
}

export interface WorkerRegistration {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly leaseMs: number;
}

export async function registerWorker(db: StoreDb, worker: WorkerRegistration, now: Date): Promise<void> {
  const at = now.toISOString();
  await db
    .insertInto('workers')
    .values({
      id: worker.id,
      host: worker.host,
      pid: worker.pid,
      devices_json: '[]',
      started_at: at,
      heartbeat_at: at,
      lease_ms: worker.leaseMs,
      stopped_at: null,
    })
    .execute();
}

/** The worker is alive and has these devices now. */
export async function beatWorker(
  db: StoreDb,
  workerId: string,
  devices: readonly WorkerDevice[],
  now: Date,
): Promise<void> {
  await db
    .updateTable('workers')
    .set({ heartbeat_at: now.toISOString(), devices_json: JSON.stringify(devices) })
    .where('id', '=', workerId)
    .execute();
}

/** The worker ended cleanly (SIGTERM, SIGINT). */
export async function stopWorker(db: StoreDb, workerId: string, now: Date): Promise<void> {
  await db
    .updateTable('workers')
    .set({ stopped_at: now.toISOString(), heartbeat_at: now.toISOString() })
    .where('id', '=', workerId)
    .execute();
}
