/**
 * The store's tables as Kysely types: the one place that names columns. Times are ISO-8601 text and JSON
 * is text, so the same rows fit SQLite and PostgreSQL.
 */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export const TASK_STATUSES = ['pending', 'running', 'done', 'failed', 'skipped'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const RUN_STATUSES = ['running', 'done', 'interrupted', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface DevicesTable {
  id: string;
  kind: string;
  model: string;
  abi: string;
  build_fingerprint: string;
  /** DeviceInfo as JSON, as last seen. */
  identity_json: string;
  first_seen_at: string;
  last_seen_at: string;
}

export interface AgentBuildsTable {
  hash: string;
  abi: string;
  compiler: string;
  flags: string;
  created_at: string;
}

export interface RunsTable {
  id: string;
  created_at: string;
  /** The resolved configuration the run was planned from; `--resume` re-plans from it. */
  config_json: string;
  config_hash: string;
  git_revision: string | null;
  host: string;
  status: RunStatus;
  finished_at: string | null;
}

/**
 * A case's parameters as columns of the tasks table, for SQL over results; null where the op has none (idle).
 * The one definition of the case columns: export, fit and report select them by the names listed in
 * orchestrator/store/shape-columns.ts (the compiler checks that list against this interface), so a new case
 * dimension is a field here, its migration, and its value from the plan line in tasks.ts (Kysely inserts a
 * nullable column left out as NULL, so the compiler requires that value only of a NOT NULL column).
 */
export interface CaseColumns {
  op: string;
  scheme: string | null;
  block: string | null;
  sparsity: number | null;
  threads: number | null;
  /** `cpu` or `gpu` (migration 0005; tasks from before are cpu). */
  backend: string;
  cin: number | null;
  cout: number | null;
  h: number | null;
  w: number | null;
  k: number | null;
  stride: number | null;
  pad: number | null;
  /** The ONNX model's label, or the first built-in model with this shape (migration 0007). */
  model: string | null;
  /** The ONNX node whose weights the case uses; null for built-in tables (migration 0007). */
  onnx_node: string | null;
  /** The weights asked for: `seeded`, or the sha256 of the model's weights file (migration 0007). */
  weights: string;
}

export interface TasksTable extends CaseColumns {
  id: Generated<number>;
  run_id: string;
  device_id: string;
  case_key: string;
  /** Position in the plan: batches run in this order. */
  batch_index: number;
  seq: number;
  /** The planned case as JSON (parameters and the model layers that share it). */
  case_json: string;
  /** What the agent receives for this case, without its `id` (config/agent-protocol.ts). */
  plan_line_json: string;
  status: TaskStatus;
  /** Transient failures charged to this case so far (retries used + 1 once it fails for good). */
  attempts: number;
  last_error: string | null;
  updated_at: string;
}

/** Every failure of a task: stable ones (the agent's error result) and each transient attempt. */
export interface FailuresTable {
  id: Generated<number>;
  task_id: number;
  attempt: number;
  transient: number;
  reason: string;
  message: string;
  stderr: string | null;
  exit_code: number | null;
  signal: string | null;
  created_at: string;
}

export interface MeasurementsTable {
  /** The host whose process measured the case (migration 0005; null before, or without a lease). */
  host: ColumnType<string | null, string | null | undefined, string | null>;
  id: Generated<number>;
  task_id: number;
  agent_hash: string;
  build_fingerprint: string;
  samples_ns_json: string;
  /** GPU cases: per sample, the kernels' own time from OpenCL profiling events (JSON array); null for CPU. */
  kernel_ns_json: string | null;
  telemetry_json: string;
  cpus_json: string;
  density: number;
  kept_blocks: number;
  kept_energy: number;
  kernel: string;
  flops: number;
  /** The weights the agent reports it used: `seeded` or the weights file's sha256 (null: before migration 0007). */
  weights: string | null;
  /** The agent's FNV-1a 64 of the keep-mask it timed (16 hex; null: not reported, or before migration 0007). */
  mask_fnv1a: string | null;
  /** Agent time spent preparing weights and masks, and sampling (null when the agent did not say). */
  prepare_ns: number | null;
  sampling_ns: number | null;
  n: number;
  min_ns: number;
  max_ns: number;
  median_ns: number;
  mad_ns: number;
  p10_ns: number;
  p90_ns: number;
  ci_low_ns: number;
  ci_high_ns: number;
  /** The agent's probe just before and just after sampling (null when the agent did not report it). */
  probe_before_ns: number | null;
  probe_after_ns: number | null;
  /** Times the case was measured again because its probe said it was disturbed (the calmest is kept). */
  remeasures: Generated<number>;
  created_at: string;
}

/** What lab hygiene found on a device of a run: screen, charging, root, the CPUs pinned to. */
export interface RunDevicesTable {
  run_id: string;
  device_id: string;
  screen_on: number | null;
  charging: number | null;
  battery_level: number | null;
  /** `adb-root`, `su` or `none`. */
  root: string;
  big_cpus_json: string | null;
  /** Everything the lab recorded (clusters, governors locked), as JSON. */
  lab_json: string;
  recorded_at: string;
}

/** One agent call under lab hygiene: the thermal wait before it, telemetry around it, and its flag. */
export interface BatchRunsTable {
  id: Generated<number>;
  run_id: string;
  device_id: string;
  batch_index: number;
  cases: number;
  thermal_wait_ms: number;
  /** Why the batch could start: `cool`, `max-wait`, `no-sensor`, `stopped`. */
  gate: string;
  temp_before_c: number | null;
  temp_after_c: number | null;
  telemetry_before_json: string;
  telemetry_after_json: string | null;
  /** Why the timings are suspect (a frequency drop, too hot); null when they are not. */
  flag: string | null;
  /** 1 when the flagged batch's results were discarded and its cases run again. */
  requeued: number;
  started_at: string;
  finished_at: string | null;
}

/** A gap in a device's work during a run: lost, then back (or not, within the grace). */
export interface DeviceGapsTable {
  run_id: string;
  device_id: string;
  lost_at: string;
  /** The transport failure that ended the device's last call. */
  reason: string;
  /** null: it did not come back within scheduler.disconnectGraceMs. */
  back_at: string | null;
  /** Times it was lost again while being prepared again (a phone that flaps). */
  flaps: number;
  fingerprint_before: string;
  /** Its build fingerprint when it was back; different from before: a new population. */
  fingerprint_after: string | null;
}

export const NIGHTLY_STATUSES = ['running', 'clean', 'regression', 'lab-trouble', 'failed'] as const;
export type NightlyStatus = (typeof NIGHTLY_STATUSES)[number];

export const FINDING_KINDS = [
  'regression',
  'improvement',
  'device-slower',
  'updated',
  'unfit',
  'lab-trouble',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** One `prunelab nightly` run: the sweep run it made, the run of its re-measures, and its outcome. */
export interface NightlyRunsTable {
  id: string;
  /** The night, YYYY-MM-DD (UTC) of the start. */
  night: string;
  sweep_run_id: string | null;
  confirm_run_id: string | null;
  status: NightlyStatus;
  exit_code: number | null;
  /** The whole summary `prunelab nightly --json` printed. */
  summary_json: string | null;
  started_at: string;
  finished_at: string | null;
}

/** A device in a nightly run: what its history is keyed by, and whether tonight may join that history. */
export interface NightlyDevicesTable {
  nightly_run_id: string;
  device_id: string;
  build_fingerprint: string;
  agent_hash: string;
  /** Tonight's sentinels over their history (null: no sentinel history yet). */
  sentinel_factor: number | null;
  /** The largest relative range of one sentinel's repeats tonight. */
  sentinel_spread: number | null;
  /** 1 when tonight's values may serve as history (no lab trouble, sentinels steady). */
  usable: number;
  note: string | null;
}

/** One case of a device in a nightly run: its median latency, normalised by the sentinel factor. */
export interface NightlyCasesTable {
  nightly_run_id: string;
  device_id: string;
  case_key: string;
  sentinel: number;
  latency_ns: number;
  normalised_ns: number;
  /** normalised_ns over the history baseline (null: no baseline yet). */
  ratio: number | null;
  /** Relative change beyond which the case was suspect (null: no baseline yet). */
  threshold: number | null;
}

export interface NightlyFindingsTable {
  id: Generated<number>;
  nightly_run_id: string;
  device_id: string | null;
  case_key: string | null;
  kind: FindingKind;
  ratio: number | null;
  threshold: number | null;
  confirmed: number;
  agent_hash: string | null;
  previous_agent_hash: string | null;
  message: string;
  created_at: string;
}

/** Who runs cases on a device now (store/leases.ts); timestamps are ISO-8601 UTC text, so they sort. */
export interface DeviceLeasesTable {
  device_id: string;
  /** Grows by one with every new holder: results carry it, and a stale one is refused. */
  token: number;
  /** Unique per claim (a process may hold several devices, and pids are reused). */
  holder_id: string;
  host: string;
  pid: number;
  run_id: string | null;
  acquired_at: string;
  heartbeat_at: string;
  expires_at: string;
}

export const QUEUE_BATCH_STATUSES = ['queued', 'claimed', 'done'] as const;
export type QueueBatchStatus = (typeof QUEUE_BATCH_STATUSES)[number];

/** A batch of an enqueued run (store/work-queue.ts): one agent call's cases for a target device or selector. */
export interface QueueBatchesTable {
  id: Generated<number>;
  run_id: string;
  batch_index: number;
  /** `device=ID`, `model=M`, `abi=A` or `fingerprint=F` (config/targets in orchestrator/worker/target.ts). */
  target: string;
  /** The batch's tasks (store/tasks.ts TaskInput[]) as JSON: what a worker inserts for its device. */
  tasks_json: string;
  cases: number;
  status: QueueBatchStatus;
  /** Grows by one with every claim: the claimer's commits carry it, and a stale one is refused. */
  token: number;
  worker_id: string | null;
  device_id: string | null;
  host: string | null;
  claimed_at: string | null;
  lease_expires_at: string | null;
  /** How many times it was claimed (more than once: a worker died, hung or let it go). */
  claims: number;
  created_at: string;
  finished_at: string | null;
}

/** A settled case of an enqueued run; PRIMARY KEY (run, case): never two results for one case. */
export interface QueueResultsTable {
  run_id: string;
  case_key: string;
  task_id: number;
  batch_id: number;
  token: number;
  device_id: string;
  /** `done` (measured) or `failed` (for good). */
  status: string;
  created_at: string;
}

/** A `prunelab worker` process (orchestrator/worker/). */
export interface WorkersTable {
  id: string;
  host: string;
  pid: number;
  /** The devices it has now, as JSON: [{ id, model, abi, fingerprint }]. */
  devices_json: string;
  started_at: string;
  heartbeat_at: string;
  /** Its batch lease: a worker whose heartbeat is older than this is gone. */
  lease_ms: number;
  stopped_at: string | null;
}

export interface Database {
  devices: DevicesTable;
  agent_builds: AgentBuildsTable;
  runs: RunsTable;
  tasks: TasksTable;
  failures: FailuresTable;
  measurements: MeasurementsTable;
  run_devices: RunDevicesTable;
  batch_runs: BatchRunsTable;
  device_gaps: DeviceGapsTable;
  nightly_runs: NightlyRunsTable;
  nightly_devices: NightlyDevicesTable;
  nightly_cases: NightlyCasesTable;
  nightly_findings: NightlyFindingsTable;
  device_leases: DeviceLeasesTable;
  queue_batches: QueueBatchesTable;
  queue_results: QueueResultsTable;
  workers: WorkersTable;
}

export type RunRow = Selectable<RunsTable>;
export type TaskRow = Selectable<TasksTable>;
export type NewTask = Insertable<TasksTable>;
export type MeasurementRow = Selectable<MeasurementsTable>;
export type NewMeasurement = Insertable<MeasurementsTable>;
export type DeviceGapRow = Selectable<DeviceGapsTable>;
