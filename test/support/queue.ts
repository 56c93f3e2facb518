/** Shared by the work-queue tests and bench:lab: a measurement to commit, and "is this worker mid-batch?". */
import type { StoreDb } from '../../orchestrator/store/open.ts';
import type { MeasurementInput } from '../../orchestrator/store/tasks.ts';

/** One idle case of 20 ms as the store keeps it (the commit's cost does not depend on the figures). */
export const IDLE_MEASUREMENT: MeasurementInput = {
  agent_hash: 'idle',
  build_fingerprint: 'idle',
  samples_ns_json: JSON.stringify([20_000_000]),
  telemetry_json: '{}',
  cpus_json: '[0]',
  density: 1,
  kept_blocks: 0,
  kept_energy: 1,
  kernel: 'idle',
  flops: 0,
  n: 1,
  min_ns: 20_000_000,
  max_ns: 20_000_000,
  median_ns: 20_000_000,
  mad_ns: 0,
  p10_ns: 20_000_000,
  p90_ns: 20_000_000,
  ci_low_ns: 20_000_000,
  ci_high_ns: 20_000_000,
};

/** A batch the worker holds with at least one of its cases settled by it under this claim: it is mid-batch. */
export async function midBatch(
  db: StoreDb,
  workerId: string,
): Promise<{ readonly id: number; readonly token: number } | undefined> {
  const batches = await db
    .selectFrom('queue_batches')
    .select(['id', 'token'])
    .where('worker_id', '=', workerId)
    .where('status', '=', 'claimed')
    .execute();
  for (const batch of batches) {
    const settled = await db
      .selectFrom('queue_results')
      .select('case_key')
      .where('batch_id', '=', batch.id)
      .where('token', '=', batch.token)
      .execute();
    if (settled.length > 0) return batch;
  }
  return undefined;
}
