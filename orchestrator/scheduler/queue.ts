/**
 * What the scheduler is given: a device's queue and the run's options. In a file of their own so that the
 * scheduler and its return path (returns.ts) both use them without importing each other.
 */
import type { StoreDb } from '../store/open.ts';
import type { BatchFence } from '../store/queue-fence.ts';
import type { Device } from '../transport/port.ts';
import type { LeasePolicy } from './device-lease.ts';
import type { DisturbancePolicy } from './disturbance.ts';
import type { EventSink } from './events.ts';
import type { BatchHygiene } from './hygiene.ts';
import type { Provenance } from './measurement.ts';

export interface DeviceQueue {
  readonly device: Device;
  /** The agent binary's path on the device (already pushed). */
  readonly agentPath: string;
  readonly provenance: Provenance;
  /** Lab hygiene around each batch (thermal gate, pinning, telemetry); absent on the host. */
  readonly hygiene?: BatchHygiene;
  /**
   * Prepares the device again after it came back from a disconnect (identity re-read, agent checked and
   * pushed again, hygiene redone): the queue to go on with. Rejects with a TransportError when it cannot.
   * Without it, a device that is back goes on as it was.
   */
  readonly prepareAgain?: () => Promise<DeviceQueue>;
}

export interface SchedulerOptions {
  readonly db: StoreDb;
  readonly runId: string;
  readonly retries: number;
  readonly maxConsecutiveFailures: number;
  readonly caseTimeoutMs: number;
  /** How long a disconnected device may take to come back before its remaining cases are skipped. */
  readonly disconnectGraceMs?: number;
  /** Measure a flagged batch once more (lab.requeueFlagged). */
  readonly requeueFlagged?: boolean;
  /** Measure again the cases whose probe says they ran disturbed (lab.disturbance); absent = never. */
  readonly disturbance?: DisturbancePolicy;
  readonly stop: AbortSignal;
  readonly hardStop: AbortSignal;
  readonly emit: EventSink;
  readonly now?: () => Date;
  /** Device leases (default: 30 s, this host and process). */
  readonly lease?: LeasePolicy;
  /**
   * A worker's claimed batch of an enqueued run (orchestrator/worker/): every commit is checked against its
   * token as well as the device lease's, and settles its case once per run (store/queue-fence.ts).
   */
  readonly batchFence?: BatchFence;
}
