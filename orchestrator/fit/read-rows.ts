/** Reading the measurements the fit needs from the store (the only I/O of orchestrator/fit/). */
import type { StoreDb } from '../store/open.ts';
import { CASE_COLUMNS } from '../store/shape-columns.ts';
import type { FitRow } from './points.ts';

/** Every layer measurement, optionally of some devices only, oldest first. */
export async function readFitRows(db: StoreDb, deviceIds?: readonly string[]): Promise<FitRow[]> {
  let query = db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .innerJoin('devices as d', 'd.id', 't.device_id')
    .select([
      'd.id as device_id',
      'd.model as device_model',
      'd.abi',
      'm.build_fingerprint',
      'm.agent_hash',
      'm.density',
      'm.kept_blocks',
      'm.flops',
      'm.n',
      'm.median_ns',
      'm.ci_low_ns',
      'm.ci_high_ns',
      'm.created_at as measured_at',
      't.run_id',
      't.case_key',
      'm.probe_before_ns',
      'm.probe_after_ns',
      'm.weights as measured_weights',
    ])
    .select(CASE_COLUMNS)
    .where('t.op', '!=', 'idle')
    .orderBy('m.created_at')
    .orderBy('m.id');
  if (deviceIds !== undefined && deviceIds.length > 0) query = query.where('d.id', 'in', [...deviceIds]);
  return query.execute();
}
