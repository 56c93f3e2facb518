/**
 * Holding a device while its queue runs (store/leases.ts): claim it, renew the lease on a heartbeat, give it
 * back at the end. A claim that finds a live holder says who it is; the caller runs nothing there. A lease
 * left by a process of this host that no longer runs (a SIGKILLed sweep) is taken over at once, so
 * `sweep --resume` right after a kill does not wait for the lease to expire.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import {
  claimDevice,
  describeHolder,
  type LeaseFence,
  type LeaseRow,
  leaseIsLive,
  readLease,
  releaseLease,
  renewLease,
} from '../store/leases.ts';
import type { StoreDb } from '../store/open.ts';

export interface LeasePolicy {
  /** How long a claim keeps others off the device without a heartbeat. */
  readonly leaseMs: number;
  /** This host's name, as leases record it. */
  readonly hostName: string;
  readonly pid: number;
}

/** 30 s: a heartbeat every 10 s, so a busy event loop or a slow commit does not lose the device. */
export const DEFAULT_LEASE_MS = 30_000;

export function defaultLeasePolicy(): LeasePolicy {
  return { leaseMs: DEFAULT_LEASE_MS, hostName: os.hostname(), pid: process.pid };
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lease of this host whose process is gone (other hosts' processes cannot be checked: their lease runs out). */
function abandonedHere(policy: LeasePolicy): (row: LeaseRow) => boolean {
  return (row) => row.host === policy.hostName && row.pid !== policy.pid && !pidRuns(row.pid);
}

export interface HeldDevice {
  readonly fence: LeaseFence;
  /** Aborts when a heartbeat finds the lease taken over: stop at once, the new holder runs the cases. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

export function heldMessage(deviceId: string, holder: LeaseRow): string {
  return (
    `held: ${deviceId} is running cases for another process (${describeHolder(holder)}); nothing ran on it ` +
    'here. Wait for that process to end (or stop it), then resume this run'
  );
}

/** Who keeps the device from this process now, if anyone (a check before pushing the agent). */
export async function liveHolder(
  db: StoreDb,
  deviceId: string,
  policy: LeasePolicy,
  now: Date,
): Promise<LeaseRow | undefined> {
  const row = await readLease(db, deviceId);
  return row !== undefined && leaseIsLive(row, now, abandonedHere(policy)) ? row : undefined;
}

export async function holdDevice(
  db: StoreDb,
  deviceId: string,
  runId: string,
  policy: LeasePolicy,
  now: () => Date,
  onLost: (message: string) => void,
): Promise<HeldDevice | { readonly heldBy: LeaseRow }> {
  const claim = await claimDevice(
    db,
    deviceId,
    { holderId: randomUUID(), host: policy.hostName, pid: policy.pid, runId },
    { leaseMs: policy.leaseMs, now: now(), isAbandoned: abandonedHere(policy) },
  );
  if (!claim.claimed) return { heldBy: claim.holder };
  const { fence } = claim;
  const lost = new AbortController();
  const heartbeat = setInterval(
    () => {
      renewLease(db, fence, policy.leaseMs, now())
        .then(async (renewed) => {
          if (renewed || lost.signal.aborted) return;
          const holder = await readLease(db, deviceId);
          onLost(
            `lost the lease on ${deviceId}${holder === undefined ? '' : ` to ${describeHolder(holder)}`}; stopping here, the new holder runs the cases`,
          );
          lost.abort();
        })
        // The store is unreachable for now: the next beat tries again; if the lease runs out meanwhile and
        // another process takes the device, this one's commits are refused by the fence.
        .catch(() => undefined);
    },
    Math.max(50, Math.floor(policy.leaseMs / 3)),
  );
  heartbeat.unref();
  return {
    fence,
    lost: lost.signal,
    release: async () => {
      clearInterval(heartbeat);
      await releaseLease(db, fence);
    },
  };
}
