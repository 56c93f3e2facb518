/**
 * What the scheduler asks of lab hygiene around each agent call (orchestrator/lab/ implements it for
 * phones). The scheduler records each report in the store (`batch_runs`) and re-queues a flagged batch once.
 */

export interface BatchStartReport {
  /** Time spent waiting for the device to cool before the batch. */
  readonly thermalWaitMs: number;
  /** Why the batch could start: `cool`, `max-wait` (the cap was reached), `no-sensor`. */
  readonly gate: string;
  readonly temperatureC: number | null;
  /** The reading, stored as JSON. */
  readonly telemetry: unknown;
}

export interface BatchEndReport {
  readonly temperatureC: number | null;
  readonly telemetry: unknown;
  /** Why the batch's timings are suspect (frequency drop, too hot), when they are. */
  readonly flag?: string;
}

export interface BatchHygiene {
  /** CPUs every plan line is pinned to (the big cluster); undefined = no pinning. */
  readonly cpus?: readonly number[];
  beforeBatch(signal: AbortSignal): Promise<BatchStartReport>;
  afterBatch(start: BatchStartReport): Promise<BatchEndReport>;
}
