/**
 * Shared by the work-queue tests and bench:lab: a run of idle cases put in the queue, a measurement to commit,
 * and "is this worker mid-batch?".
 */
import { DEFAULT_CONFIG } from '../../config/defaults.ts';
import type { LabConfig, PrunelabConfig } from '../../config/schema.ts';
import type { StoreDb } from '../../orchestrator/store/open.ts';
import { createRun } from '../../orchestrator/store/runs.ts';
import type { MeasurementInput } from '../../orchestrator/store/tasks.ts';
import { enqueueBatches } from '../../orchestrator/store/work-queue.ts';
import { idleTasks } from '../adb-lab.ts';

/** The config an idle queued run is stored with (workers read its lab and scheduler rules): no re-measures. */
export function idleRunConfig(
  lab: LabConfig = DEFAULT_CONFIG.lab,
  disconnectGraceMs?: number,
): PrunelabConfig {
  return {
    ...DEFAULT_CONFIG,
    lab: { ...lab, disturbance: { ...lab.disturbance, remeasures: 0 } },
    scheduler: {
      ...DEFAULT_CONFIG.scheduler,
      ...(disconnectGraceMs === undefined ? {} : { disconnectGraceMs }),
    },
  };
}

export interface IdleQueuedRun {
  readonly runId: string;
  readonly target: string;
  readonly cases: number;
  readonly durationUs: number;
  readonly batchCases: number;
  readonly config: PrunelabConfig;
}

/** Stores the run and puts its idle cases in the queue for `target`, as `sweep --enqueue` does. */
export async function enqueueIdleRun(db: StoreDb, run: IdleQueuedRun): Promise<void> {
  const { runId } = run;
  await createRun(db, {
    id: runId,
    configJson: JSON.stringify(run.config),
    configHash: runId,
    gitRevision: null,
    host: 'test',
  });
  await enqueueBatches(db, runId, run.target, idleTasks(run));
}

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
