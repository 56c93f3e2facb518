/** Configuration -> plan -> the task rows a run stores (pure). */

import { getModel } from '../../config/models/index.ts';
import type { PrunelabConfig } from '../../config/schema.ts';
import type { ModelTable } from '../../config/types.ts';
import { toPlanLine } from '../plan/plan-line.ts';
import { planSweep } from '../plan/planner.ts';
import type { Plan } from '../plan/types.ts';
import type { PlanLineBody, TaskInput } from '../store/tasks.ts';

export function planFromConfig(config: PrunelabConfig): Plan {
  const models = config.sweep.models.map((name): ModelTable => {
    const table = getModel(name);
    // The schema already rejected unknown names; reaching this means config and model list disagree.
    if (table === undefined) throw new Error(`model '${name}' passed validation but has no table`);
    return table;
  });
  return planSweep(config.sweep, models, {
    maxCasesPerBatch: config.sweep.batch.maxCases,
    targetBatchMs: config.sweep.batch.targetMs,
  });
}

function withoutId(line: ReturnType<typeof toPlanLine>): PlanLineBody {
  const { id: _id, ...body } = line;
  return body;
}

export function tasksFromPlan(plan: Plan): TaskInput[] {
  return plan.batches.flatMap((batch) =>
    batch.cases.map((plannedCase, seq) => ({
      caseKey: plannedCase.key,
      batchIndex: batch.index,
      seq,
      caseJson: plannedCase,
      planLine: withoutId(toPlanLine(plannedCase, '')),
    })),
  );
}
