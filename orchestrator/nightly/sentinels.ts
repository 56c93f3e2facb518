/**
 * Sentinel cases and where they go in the night's task list (pure). Sentinels are small fixed cases run as
 * a batch of their own before the sweep, after every `everyBatches` sweep batches and at the end, so that
 * drift through the night (heat, a background update) shows in their repeats.
 */

import type { PrunelabConfig, SentinelConfig } from '../../config/schema.ts';
import { convShape, fcShape } from '../../config/shape.ts';
import type { Scheme } from '../../config/vocabulary.ts';
import { caseKey } from '../plan/key.ts';
import { toPlanLine } from '../plan/plan-line.ts';
import type { PlannedCase } from '../plan/types.ts';
import type { PlanLineBody, TaskInput } from '../store/tasks.ts';

/** Task keys of sentinel repeats: `sentinel/<name>/<repeat>`; the history is kept per name. */
const SENTINEL_PREFIX = 'sentinel/';

export function sentinelTaskKey(name: string, repeat: number): string {
  return `${SENTINEL_PREFIX}${name}/${repeat}`;
}

/** The key of a sentinel's per-night row in nightly_cases (its repeats' median): `sentinel/<name>`. */
export function sentinelHistoryKey(name: string): string {
  return `${SENTINEL_PREFIX}${name}`;
}

/**
 * The sentinel's name of a task key (`sentinel/<name>/<repeat>`) or of a nightly_cases key
 * (`sentinel/<name>`); undefined for a sweep case. Names never hold `/` (config schema).
 */
export function sentinelNameOf(key: string): string | undefined {
  if (!key.startsWith(SENTINEL_PREFIX)) return undefined;
  const rest = key.slice(SENTINEL_PREFIX.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash);
}

export function sentinelCase(sentinel: SentinelConfig, config: PrunelabConfig): PlannedCase {
  const shape =
    sentinel.op === 'fc'
      ? fcShape(sentinel.cin, sentinel.cout)
      : convShape(sentinel.cin, sentinel.cout, sentinel.side, sentinel.k, 1, Math.floor(sentinel.k / 2));
  const parameters = {
    shape,
    scheme: sentinel.scheme as Scheme,
    block: sentinel.block,
    sparsity: sentinel.sparsity,
    threads: 1,
    backend: 'cpu' as const,
    seed: config.sweep.seed,
    measurement: config.sweep.measurement,
  };
  return { ...parameters, key: caseKey(parameters), layers: [`sentinel/${sentinel.name}`] };
}

function lineOf(plannedCase: PlannedCase): PlanLineBody {
  const { id: _id, ...body } = toPlanLine(plannedCase, '');
  return body;
}

/**
 * The sweep's tasks with sentinel batches between them: sentinels, `everyBatches` sweep batches,
 * sentinels, ..., sentinels. Batch indices are renumbered; case keys stay the plan's.
 */
export function withSentinels(
  sweepTasks: readonly TaskInput[],
  sentinels: readonly PlannedCase[],
  names: readonly string[],
  everyBatches: number,
): TaskInput[] {
  const sweepBatches = [...new Set(sweepTasks.map((task) => task.batchIndex))].sort((a, b) => a - b);
  const out: TaskInput[] = [];
  let batchIndex = 0;
  let repeat = 0;
  const addSentinels = (): void => {
    sentinels.forEach((sentinel, seq) => {
      out.push({
        caseKey: sentinelTaskKey(names[seq] ?? String(seq), repeat),
        batchIndex,
        seq,
        caseJson: sentinel,
        planLine: lineOf(sentinel),
      });
    });
    repeat += 1;
    batchIndex += 1;
  };
  if (sentinels.length > 0) addSentinels();
  sweepBatches.forEach((original, position) => {
    for (const task of sweepTasks.filter((t) => t.batchIndex === original)) out.push({ ...task, batchIndex });
    batchIndex += 1;
    const last = position === sweepBatches.length - 1;
    if (sentinels.length > 0 && ((position + 1) % everyBatches === 0 || last)) addSentinels();
  });
  return out;
}

/** The planned cases of the night's sentinels, in config order. */
export function sentinelCases(config: PrunelabConfig): PlannedCase[] {
  return config.nightly.sentinels.map((sentinel) => sentinelCase(sentinel, config));
}
