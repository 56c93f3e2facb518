/**
 * Reading one run from the store for a report (the only database I/O of orchestrator/report/). Raw samples
 * are never selected: a report embeds each case's statistics, and `prunelab export` is there for samples.
 */
import type { TelemetrySnapshot } from '../../config/agent-protocol.ts';
import { DEFAULT_LAB } from '../../config/defaults.ts';
import { shapeKey } from '../../config/shape.ts';
import type {
  ReportAgentBuild,
  ReportBatch,
  ReportCase,
  ReportDevice,
  ReportFailure,
  ReportModelNode,
  ReportRun,
  ReportTelemetryPoint,
} from '../../reports/types.ts';
import { deviceGaps } from '../store/lab.ts';
import type { StoreDb } from '../store/open.ts';
import { fastestProbeNs, probeMaxNs } from '../store/probes.ts';
import type { RunRow } from '../store/schema.ts';
import { CASE_COLUMNS, type ShapeColumns, shapeOfColumns } from '../store/shape-columns.ts';
import { taskCounts } from '../store/tasks.ts';

/** Failure rows embedded at most: a run where everything failed explains itself in its first thousands. */
export const MAX_FAILURE_ROWS = 2000;

export interface StoreReport {
  readonly run: ReportRun;
  readonly devices: ReportDevice[];
  readonly agentBuilds: ReportAgentBuild[];
  readonly cases: ReportCase[];
  readonly failures: ReportFailure[];
  /** How many failure rows there were before the cap. */
  readonly failureRowsTotal: number;
  readonly telemetry: ReportTelemetryPoint[];
  readonly batches: ReportBatch[];
  readonly modelNodes: ReportModelNode[];
}

/** `model/layer` names a planned case belongs to (its case_json); [] when the JSON has none. */
export function layersOfCaseJson(caseJson: string): string[] {
  try {
    const parsed = JSON.parse(caseJson) as { layers?: unknown };
    return Array.isArray(parsed.layers)
      ? parsed.layers.filter((l): l is string => typeof l === 'string')
      : [];
  } catch {
    return [];
  }
}

/** The hottest zone (°C) and the mean frequency (MHz) of the CPUs a case ran on, after the case. */
export function telemetryReading(
  telemetryJson: string,
  cpusJson: string,
): { temperatureC: number | null; frequencyMhz: number | null } {
  let snapshot: TelemetrySnapshot | undefined;
  let cpus: number[] = [];
  try {
    snapshot = (JSON.parse(telemetryJson) as { after?: TelemetrySnapshot }).after;
    cpus = JSON.parse(cpusJson) as number[];
  } catch {
    return { temperatureC: null, frequencyMhz: null };
  }
  const zones = Object.values(snapshot?.thermalMilliC ?? {}).filter(
    (v): v is number => typeof v === 'number',
  );
  const freqs = Object.entries(snapshot?.cpuFreqKhz ?? {})
    .filter(([cpu]) => cpus.length === 0 || cpus.includes(Number(cpu.replace(/^cpu/, ''))))
    .map(([, khz]) => khz)
    .filter((v): v is number => typeof v === 'number');
  return {
    temperatureC: zones.length > 0 ? Math.max(...zones) / 1000 : null,
    frequencyMhz: freqs.length > 0 ? freqs.reduce((sum, f) => sum + f, 0) / freqs.length / 1000 : null,
  };
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `conv 64->64 k3 s1 p1 @32x32 | bcr 4x1 sparsity 0.75`: a case as people read it. */
export function caseLabel(
  row: ShapeColumns & { scheme: string | null; block: string | null; sparsity: number | null },
) {
  const shape = shapeOfColumns(row);
  const params = [row.scheme, row.block, row.sparsity === null ? null : `sparsity ${row.sparsity}`]
    .filter((p) => p !== null)
    .join(' ');
  return `${shape === undefined ? row.op : shapeKey(shape)}${params === '' ? '' : ` | ${params}`}`;
}

async function readCases(db: StoreDb, runId: string): Promise<ReportCase[]> {
  const rows = await db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .select(['t.device_id', 't.case_key', 't.case_json'])
    .select(CASE_COLUMNS)
    .select([
      'm.density',
      'm.median_ns',
      'm.p10_ns',
      'm.p90_ns',
      'm.ci_low_ns',
      'm.ci_high_ns',
      'm.n',
      'm.kernel',
    ])
    .select(['m.agent_hash', 'm.created_at'])
    .where('t.run_id', '=', runId)
    .where('t.op', '!=', 'idle')
    .orderBy('t.device_id')
    .orderBy('t.batch_index')
    .orderBy('t.seq')
    .execute();
  const cases: ReportCase[] = [];
  for (const row of rows) {
    const shape = shapeOfColumns(row);
    if (shape === undefined || row.scheme === null) continue;
    cases.push({
      deviceId: row.device_id,
      caseKey: row.case_key,
      op: row.op,
      shapeKey: shapeKey(shape),
      scheme: row.scheme,
      block: row.block,
      sparsity: row.sparsity ?? 0,
      density: row.density,
      threads: row.threads ?? 1,
      backend: row.backend,
      layers: layersOfCaseJson(row.case_json),
      medianNs: row.median_ns,
      p10Ns: row.p10_ns,
      p90Ns: row.p90_ns,
      ciLowNs: row.ci_low_ns,
      ciHighNs: row.ci_high_ns,
      n: row.n,
      kernel: row.kernel,
      agentHash: row.agent_hash,
      measuredAt: row.created_at,
    });
  }
  return cases;
}

async function readTelemetry(db: StoreDb, runId: string): Promise<ReportTelemetryPoint[]> {
  const rows = await db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .select(['t.device_id', 'm.telemetry_json', 'm.cpus_json', 'm.created_at'])
    .where('t.run_id', '=', runId)
    .orderBy('m.created_at')
    .execute();
  return rows.map((row) => ({
    deviceId: row.device_id,
    atMs: Date.parse(row.created_at),
    ...telemetryReading(row.telemetry_json, row.cpus_json),
  }));
}

async function readFailures(db: StoreDb, runId: string): Promise<{ rows: ReportFailure[]; total: number }> {
  const tasks = await db
    .selectFrom('tasks')
    .select(['id', 'device_id', 'case_key', 'status', 'attempts', 'last_error', 'updated_at'])
    .select(['op', 'scheme', 'block', 'sparsity', 'cin', 'cout', 'h', 'w', 'k', 'stride', 'pad'])
    .where('run_id', '=', runId)
    .where((eb) =>
      eb.or([
        eb('status', 'in', ['failed', 'skipped']),
        eb.exists(eb.selectFrom('failures as f').select('f.id').whereRef('f.task_id', '=', 'tasks.id')),
      ]),
    )
    .orderBy('updated_at')
    .execute();
  const total = tasks.length;
  const shown = tasks.slice(0, MAX_FAILURE_ROWS);
  const ids = shown.map((t) => t.id);
  const lastFailure = new Map<
    number,
    { reason: string; message: string; created_at: string; count: number }
  >();
  for (let start = 0; start < ids.length; start += 500) {
    const failures = await db
      .selectFrom('failures')
      .select(['task_id', 'reason', 'message', 'created_at'])
      .where('task_id', 'in', ids.slice(start, start + 500))
      .orderBy('id')
      .execute();
    for (const f of failures) {
      const count = (lastFailure.get(f.task_id)?.count ?? 0) + 1;
      lastFailure.set(f.task_id, { ...f, count });
    }
  }
  const rows = shown.map((task): ReportFailure => {
    const last = lastFailure.get(task.id);
    const status = task.status === 'failed' || task.status === 'skipped' ? task.status : 'retried';
    return {
      deviceId: task.device_id,
      caseKey: task.case_key,
      caseLabel: caseLabel(task),
      status,
      reason: status === 'skipped' ? 'skipped' : (last?.reason ?? 'unknown'),
      message:
        status === 'skipped'
          ? (task.last_error ?? 'no reason recorded')
          : (last?.message ?? task.last_error ?? ''),
      attempts: Math.max(task.attempts, last?.count ?? 0),
      at: last?.created_at ?? task.updated_at,
    };
  });
  return { rows, total };
}

/** lab.disturbance.tolerance of the run's resolved config, or the default for runs from before it existed. */
function disturbanceToleranceOf(config: unknown): number {
  const tolerance = (config as { lab?: { disturbance?: { tolerance?: unknown } } } | null)?.lab?.disturbance
    ?.tolerance;
  return typeof tolerance === 'number' ? tolerance : DEFAULT_LAB.disturbance.tolerance;
}

async function readDevices(db: StoreDb, runId: string, tolerance: number): Promise<ReportDevice[]> {
  const ids = await db
    .selectFrom('tasks')
    .select('device_id')
    .distinct()
    .where('run_id', '=', runId)
    .execute();
  if (ids.length === 0) return [];
  const deviceIds = ids.map((row) => row.device_id);
  const devices = await db
    .selectFrom('devices')
    .selectAll()
    .where('id', 'in', deviceIds)
    .orderBy('id')
    .execute();
  const measured = await db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .select(['t.device_id', 'm.agent_hash'])
    .select((eb) => [
      eb.fn.min('m.created_at').as('first_at'),
      eb.fn.max('m.created_at').as('last_at'),
      eb.fn.sum<number | null>('m.sampling_ns').as('sampling_ns'),
    ])
    .where('t.run_id', '=', runId)
    .groupBy(['t.device_id', 'm.agent_hash'])
    .execute();
  const waits = await db
    .selectFrom('batch_runs')
    .select(['device_id', (eb) => eb.fn.sum<number>('thermal_wait_ms').as('wait_ms')])
    .where('run_id', '=', runId)
    .groupBy('device_id')
    .execute();
  const hosts = await db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .select(['t.device_id', 'm.host'])
    .distinct()
    .where('t.run_id', '=', runId)
    .execute();
  const labs = await db.selectFrom('run_devices').selectAll().where('run_id', '=', runId).execute();
  const gaps = await deviceGaps(db, runId);
  const probes = await db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .select(['t.device_id', 'm.probe_before_ns', 'm.probe_after_ns', 'm.remeasures'])
    .where('t.run_id', '=', runId)
    .execute();
  return devices.map((device): ReportDevice => {
    const mine = measured.filter((m) => m.device_id === device.id);
    const identity = parseJson(device.identity_json) as { cpuCount?: unknown } | null;
    const lab = labs.find((l) => l.device_id === device.id);
    const flag = (value: number | null) => (value === null ? null : value !== 0);
    const firsts = mine.map((m) => String(m.first_at)).sort();
    const lasts = mine.map((m) => String(m.last_at)).sort();
    const samplingNs = mine.map((m) => m.sampling_ns).filter((v): v is number => v !== null);
    const myProbes = probes.filter((p) => p.device_id === device.id);
    const fastest = fastestProbeNs(myProbes);
    return {
      id: device.id,
      kind: device.kind,
      model: device.model,
      abi: device.abi,
      buildFingerprint: device.build_fingerprint,
      cpuCount: typeof identity?.cpuCount === 'number' ? identity.cpuCount : null,
      agentHashes: mine.map((m) => m.agent_hash).sort(),
      hosts: hosts
        .filter((h) => h.device_id === device.id)
        .map((h) => h.host ?? 'not recorded')
        .sort(),
      firstMeasuredAt: firsts[0] ?? null,
      lastMeasuredAt: lasts.at(-1) ?? null,
      samplingMs: samplingNs.length > 0 ? samplingNs.reduce((sum, v) => sum + Number(v), 0) / 1e6 : null,
      thermalWaitMs: Number(waits.find((w) => w.device_id === device.id)?.wait_ms ?? 0),
      remeasuredCases: myProbes.filter((p) => p.remeasures > 0).length,
      gaps: gaps
        .filter((gap) => gap.device_id === device.id)
        .map((gap) => ({
          lostAt: gap.lost_at,
          backAt: gap.back_at,
          reason: gap.reason,
          flaps: gap.flaps,
          fingerprintBefore: gap.fingerprint_before,
          fingerprintAfter: gap.fingerprint_after,
        })),
      disturbedCases:
        fastest === undefined
          ? 0
          : myProbes.filter((p) => (probeMaxNs(p) ?? 0) > fastest * (1 + tolerance)).length,
      lab:
        lab === undefined
          ? null
          : {
              screenOn: flag(lab.screen_on),
              charging: flag(lab.charging),
              batteryLevel: lab.battery_level,
              root: lab.root,
              bigCpus: lab.big_cpus_json === null ? null : (parseJson(lab.big_cpus_json) as number[]),
            },
    };
  });
}

async function readBatches(db: StoreDb, runId: string): Promise<ReportBatch[]> {
  const rows = await db
    .selectFrom('batch_runs')
    .select([
      'device_id',
      'batch_index',
      'thermal_wait_ms',
      'gate',
      'temp_before_c',
      'flag',
      'requeued',
      'started_at',
    ])
    .where('run_id', '=', runId)
    .orderBy('started_at')
    .execute();
  return rows.map((row) => ({
    deviceId: row.device_id,
    atMs: Date.parse(row.started_at),
    batchIndex: row.batch_index,
    thermalWaitMs: row.thermal_wait_ms,
    gate: row.gate,
    temperatureBeforeC: row.temp_before_c,
    flag: row.flag,
    requeued: row.requeued !== 0,
  }));
}

async function readAgentBuilds(db: StoreDb, runId: string): Promise<ReportAgentBuild[]> {
  const hashes = await db
    .selectFrom('measurements as m')
    .innerJoin('tasks as t', 't.id', 'm.task_id')
    .select('m.agent_hash')
    .distinct()
    .where('t.run_id', '=', runId)
    .execute();
  if (hashes.length === 0) return [];
  const rows = await db
    .selectFrom('agent_builds')
    .selectAll()
    .where(
      'hash',
      'in',
      hashes.map((h) => h.agent_hash),
    )
    .orderBy('created_at')
    .execute();
  const known = new Set(rows.map((row) => row.hash));
  return [
    ...rows.map((row) => ({ hash: row.hash, abi: row.abi, compiler: row.compiler, flags: row.flags })),
    ...hashes
      .filter((h) => !known.has(h.agent_hash))
      .map((h) => ({ hash: h.agent_hash, abi: '?', compiler: 'not recorded', flags: 'not recorded' })),
  ];
}

export async function readRunForReport(db: StoreDb, run: RunRow): Promise<StoreReport> {
  const counts = await taskCounts(db, run.id);
  const failures = await readFailures(db, run.id);
  return {
    run: {
      id: run.id,
      status: run.status,
      createdAt: run.created_at,
      finishedAt: run.finished_at,
      host: run.host,
      gitRevision: run.git_revision,
      configHash: run.config_hash,
      config: parseJson(run.config_json),
      counts,
    },
    devices: await readDevices(db, run.id, disturbanceToleranceOf(parseJson(run.config_json))),
    agentBuilds: await readAgentBuilds(db, run.id),
    cases: await readCases(db, run.id),
    failures: failures.rows,
    failureRowsTotal: failures.total,
    telemetry: await readTelemetry(db, run.id),
    batches: await readBatches(db, run.id),
    modelNodes: await readModelNodes(db, run.id),
  };
}

/** The run's cases grouped by the model layer whose weights they were timed with (one row per device's copy). */
async function readModelNodes(db: StoreDb, runId: string): Promise<ReportModelNode[]> {
  const rows = await db
    .selectFrom('tasks')
    .select(['model', 'onnx_node', 'weights', 'case_json', 'device_id'])
    .where('run_id', '=', runId)
    .where('op', '!=', 'idle')
    .orderBy('id')
    .execute();
  const groups = new Map<string, ReportModelNode & { cases: number }>();
  for (const row of rows) {
    if (row.model === null) continue;
    const key = JSON.stringify([row.model, row.onnx_node, row.weights, row.device_id]);
    const known = groups.get(key);
    if (known !== undefined) {
      groups.set(key, { ...known, cases: known.cases + 1 });
      continue;
    }
    const own = row.onnx_node === null ? undefined : `${row.model}/${row.onnx_node}`;
    const standsFor = layersOfCaseJson(row.case_json).filter((layer) => layer !== own);
    groups.set(key, { model: row.model, node: row.onnx_node, weights: row.weights, standsFor, cases: 1 });
  }
  // Shapes of a built-in table list every model that has them: one row per case set, not per device.
  const merged = new Map<string, ReportModelNode>();
  for (const group of groups.values()) {
    const key = JSON.stringify([group.model, group.node, group.weights, group.standsFor]);
    const known = merged.get(key);
    merged.set(key, known === undefined ? group : { ...known, cases: known.cases + group.cases });
  }
  return [...merged.values()];
}
