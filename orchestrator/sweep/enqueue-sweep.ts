/**
 * `prunelab sweep --enqueue --target T`: plans the sweep into the shared store and returns. The run is stored
 * with its configuration like any run; its batches go into the work queue (store/work-queue.ts) for the
 * devices the target names, where `prunelab worker` processes claim them. Two enqueues of one config are two
 * runs, each measured in full. A target of one run is one device or one selector (model, ABI, fingerprint):
 * each case is measured once, on whichever matching device claims its batch.
 */
import type { PrunelabConfig } from '../../config/schema.ts';
import type { StoreDb } from '../store/open.ts';
import { createRun, newRunId } from '../store/runs.ts';
import { enqueueBatches } from '../store/work-queue.ts';
import { formatTarget, type Target } from '../worker/target.ts';
import { planFromConfig, tasksFromPlan } from './plan-tasks.ts';
import { configHash, refuseEmptyPlan } from './run-sweep.ts';

export interface EnqueueDeps {
  readonly db: StoreDb;
  readonly dbPath: string;
  readonly gitRevision: () => Promise<string | null>;
  readonly hostName: string;
  readonly now?: () => Date;
}

export interface EnqueueSummary {
  readonly runId: string;
  readonly dbPath: string;
  readonly target: string;
  readonly cases: number;
  readonly batches: number;
  readonly droppedCases: number;
}

export async function enqueueSweep(
  deps: EnqueueDeps,
  config: PrunelabConfig,
  target: Target,
): Promise<EnqueueSummary> {
  const now = deps.now ?? (() => new Date());
  const plan = planFromConfig(config);
  refuseEmptyPlan(plan);
  const runId = newRunId(now());
  await createRun(
    deps.db,
    {
      id: runId,
      configJson: JSON.stringify(config),
      configHash: configHash(config),
      gitRevision: await deps.gitRevision(),
      host: deps.hostName,
    },
    now(),
  );
  const text = formatTarget(target);
  const batches = await enqueueBatches(deps.db, runId, text, tasksFromPlan(plan), now());
  return {
    runId,
    dbPath: deps.dbPath,
    target: text,
    cases: plan.cases.length,
    batches,
    droppedCases: plan.dropped.length,
  };
}
