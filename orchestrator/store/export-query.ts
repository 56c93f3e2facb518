/** One row per measurement with its task, run and device: what `prunelab export` writes. */
import type { StoreDb } from './open.ts';
import { CASE_COLUMNS } from './shape-columns.ts';

function measurementQuery(db: StoreDb, runId: string | undefined) {
  let query = db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .innerJoin('runs as r', 'r.id', 't.run_id')
    .innerJoin('devices as d', 'd.id', 't.device_id')
    .select([
      'r.id as run_id',
      'r.created_at as run_created_at',
      'r.git_revision',
      'd.id as device_id',
      'd.kind as device_kind',
      'd.model as device_model',
      'd.abi',
      'm.build_fingerprint',
      'm.agent_hash',
      't.case_key',
      't.case_json',
      'm.density',
      'm.kept_blocks',
      'm.kept_energy',
      'm.kernel',
      'm.flops',
      'm.n',
      'm.min_ns',
      'm.max_ns',
      'm.median_ns',
      'm.mad_ns',
      'm.p10_ns',
      'm.p90_ns',
      'm.ci_low_ns',
      'm.ci_high_ns',
      'm.samples_ns_json',
      'm.kernel_ns_json',
      'm.telemetry_json',
      'm.created_at as measured_at',
      'm.weights as weights_used',
      'm.mask_fnv1a',
    ])
    .select(CASE_COLUMNS)
    .orderBy('r.created_at')
    .orderBy('t.device_id')
    .orderBy('t.batch_index')
    .orderBy('t.seq');
  if (runId !== undefined) query = query.where('r.id', '=', runId);
  return query;
}

export type MeasurementExportRow = Awaited<
  ReturnType<ReturnType<typeof measurementQuery>['executeTakeFirstOrThrow']>
>;

/** Streams the rows (a large sweep is not held in memory). */
export function streamMeasurements(
  db: StoreDb,
  runId: string | undefined,
): AsyncIterableIterator<MeasurementExportRow> {
  return measurementQuery(db, runId).stream(500);
}
