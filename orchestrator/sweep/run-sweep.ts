/**
 * The sweep use case: prepare each device (record it, build and push the agent), store the run and its
 * tasks, run the per-device queues, and settle the run's status. Everything it touches comes in through
 * `SweepDeps`; the CLI's composition root supplies the real store, devices and builder.
 *
 * Resuming re-plans from the configuration stored with the run (planning is deterministic, so the case keys
 * are the same), inserts only the tasks that are missing, and runs what is still pending.
 *
 * Phones that connect during the run join it (`deps.discover`, polled every `discoverEveryMs`): each is
 * prepared like the devices present at the start and runs its own queue. The rule that keeps a sweep from
 * waiting forever: polling runs only while the devices present at the start are still working (and no stop
 * was requested); once their queues have all ended, no new device joins, and the sweep ends when the queues
 * of the devices that did join end. A device seen once is never taken in again (one that left and came
 * back is the scheduler's grace period's business); a resumed run admits only the devices it started on.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LabConfig, PrunelabConfig } from '../../config/schema.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import { type DeviceLab, prepareDeviceLab } from '../lab/device-lab.ts';
import { defaultWeightsDir, loadSweepModels, type SweepOnnxModel } from '../models/sweep-models.ts';
import { pushWeightsBlob, type WeightsBlob } from '../models/weights-blob.ts';
import { canonicalJson } from '../plan/key.ts';
import type { Plan } from '../plan/types.ts';
import { defaultLeasePolicy, heldMessage, type LeasePolicy, liveHolder } from '../scheduler/device-lease.ts';
import type { EventSink } from '../scheduler/events.ts';
import {
  type DeviceOutcome,
  type DeviceQueue,
  runQueues,
  type SchedulerOptions,
} from '../scheduler/scheduler.ts';
import { recordAgentBuild, upsertDevice } from '../store/devices.ts';
import { RunNotFoundError } from '../store/errors.ts';
import { recordRunDevice, reviveSkippedTasks } from '../store/lab.ts';
import type { StoreDb } from '../store/open.ts';
import { createRun, findRun, latestRun, listRunIds, newRunId, setRunStatus } from '../store/runs.ts';
import type { RunStatus } from '../store/schema.ts';
import {
  insertTasks,
  runDeviceIds,
  runWeightsFiles,
  type StatusCounts,
  type TaskInput,
  taskCounts,
} from '../store/tasks.ts';
import { isQueuedRun } from '../store/work-queue.ts';
import { TransportError } from '../transport/errors.ts';
import type { Device, DeviceInfo } from '../transport/port.ts';
import { EmptyPlanError, ModelChangedError, QueuedRunError } from './errors.ts';
import { planFromConfig, tasksFromPlan } from './plan-tasks.ts';
import { prepareAllowingReturns } from './prepare-on-return.ts';

export interface SweepDeps {
  readonly db: StoreDb;
  readonly dbPath: string;
  readonly devices: readonly Device[];
  readonly buildAgent: (abi: string) => Promise<AgentBuild>;
  readonly gitRevision: () => Promise<string | null>;
  readonly hostName: string;
  readonly emit: EventSink;
  readonly stop: AbortSignal;
  readonly hardStop: AbortSignal;
  readonly now?: () => Date;
  /**
   * The devices reachable now, already narrowed to the sweep's selection (--device); polled during the run
   * so that phones that connect join it. Without it, the run keeps the devices it started with.
   */
  readonly discover?: () => Promise<readonly Device[]>;
  /** How often `discover` is polled (config devices.adb.pollMs). */
  readonly discoverEveryMs?: number;
  /** Device leases (default: 30 s, this host and process). */
  readonly lease?: LeasePolicy;
  /** Where ONNX models' weights files are written before they are pushed (default: defaultWeightsDir()). */
  readonly weightsDir?: string;
}

export type SweepRequest =
  | {
      readonly kind: 'new';
      readonly config: PrunelabConfig;
      /** The config's ONNX models, when the caller read them already (else runSweep reads them first). */
      readonly onnx?: ReadonlyMap<string, SweepOnnxModel>;
    }
  /** Continue a run: the given id, or the latest run in the store. */
  | { readonly kind: 'resume'; readonly runId?: string };

export interface SweepSummary {
  readonly runId: string;
  readonly resumed: boolean;
  readonly dbPath: string;
  readonly status: RunStatus;
  readonly plannedCases: number;
  readonly droppedCases: number;
  readonly devices: readonly DeviceOutcome[];
  readonly counts: StatusCounts;
  readonly wallMs: number;
  /** The ONNX models swept (none for built-in tables only). */
  readonly onnxModels: readonly OnnxModelSummary[];
}

export function configHash(config: PrunelabConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

/** Records the device and makes sure its tasks exist; returns how many of them are still to run. */
async function registerDevice(deps: SweepDeps, device: Device, runId: string, tasks: readonly TaskInput[]) {
  const now = deps.now ?? (() => new Date());
  const info = await device.info();
  await upsertDevice(deps.db, info, now());
  await insertTasks(deps.db, runId, device.identity.id, tasks, now());
  const counts = await taskCounts(deps.db, runId, device.identity.id);
  return { info, toRun: counts.pending + counts.running };
}

/**
 * Builds the agent for the device's ABI (cached) and pushes it; on a phone, sets up lab hygiene (big
 * cluster, screen and charging state, root and governor) and records what it found with the run. The queue
 * can prepare the device again after a disconnect (`prepareAgain`): a phone that rebooted has an empty work
 * directory, maybe a new build, and its pinning and governor reset. `onLab` hears of every lab set up, so
 * the caller can restore the last one's governor at the end.
 */
export async function prepareDevice(
  deps: Pick<SweepDeps, 'db' | 'buildAgent' | 'now'> & {
    /** The run's ONNX weights files: pushed beside the agent, skipped where the device has the same bytes. */
    readonly weightsBlobs?: readonly WeightsBlob[];
  },
  device: Device,
  info: DeviceInfo,
  runId: string,
  labConfig: LabConfig,
  onLab: (lab: DeviceLab) => void = () => {},
): Promise<{ queue: DeviceQueue; lab?: DeviceLab }> {
  const now = deps.now ?? (() => new Date());
  const build = await deps.buildAgent(info.identity.abi);
  await recordAgentBuild(deps.db, build);
  // One file per build hash: a resumed sweep with a rebuilt agent never overwrites a binary still running.
  const agentPath = posix.join(info.workDir, `prunelab-agent-${build.hash}`);
  await device.push(build.binaryPath, agentPath, { mode: 0o755 });
  // Named by their sha256 like the agent by its hash: the transport's push skips a file the device already has.
  for (const blob of deps.weightsBlobs ?? []) await pushWeightsBlob(device, info.workDir, blob);
  const prepareAgain = async (): Promise<DeviceQueue> => {
    const again = await device.info();
    await upsertDevice(deps.db, again, now());
    return (await prepareDevice(deps, device, again, runId, labConfig, onLab)).queue;
  };
  const queue = {
    device,
    agentPath,
    provenance: { agentHash: build.hash, buildFingerprint: info.buildFingerprint },
    prepareAgain,
  };
  // Lab hygiene is for phones, whichever way they are reached (adb or Appium); the host has no thermal gate.
  if (device.identity.kind === 'host') return { queue };
  const lab = await prepareDeviceLab(device, agentPath, labConfig);
  onLab(lab);
  await recordRunDevice(
    deps.db,
    runId,
    device.identity.id,
    {
      screenOn: lab.state.power.screenOn,
      charging: lab.state.power.charging,
      batteryLevel: lab.state.power.batteryLevel,
      root: lab.state.root,
      bigCpus: lab.state.bigCpus,
      lab: lab.state,
    },
    now(),
  );
  return { queue: { ...queue, hygiene: lab }, lab };
}

/** The outcome of a device another process holds (nothing runs on it here), or undefined when it is free. */
async function heldElsewhere(
  deps: SweepDeps,
  deviceId: string,
  runId: string,
  policy: LeasePolicy,
): Promise<DeviceOutcome | undefined> {
  const holder = await liveHolder(deps.db, deviceId, policy, (deps.now ?? (() => new Date()))());
  if (holder === undefined) return undefined;
  const reason = heldMessage(deviceId, holder);
  deps.emit({ type: 'device-stopped', deviceId, reason });
  const counts = await taskCounts(deps.db, runId, deviceId);
  return { deviceId, counts, interrupted: false, stoppedReason: reason, stoppedKind: 'held' };
}

/** A device that could not be prepared (push refused, device gone): reported, the others go on. */
function unpreparedOutcome(deviceId: string, counts: StatusCounts, error: TransportError): DeviceOutcome {
  return {
    deviceId,
    counts,
    interrupted: false,
    stoppedReason: `quarantined: could not prepare ${deviceId}: ${error.message}`,
    stoppedKind: 'quarantined',
  };
}

/**
 * Polls `discover` every `everyMs` until `until` aborts and hands each device found to `found` (which
 * skips the ones it knows). A failed poll (the adb server restarting) is tried again at the next tick.
 */
async function watchForDevices(
  discover: () => Promise<readonly Device[]>,
  everyMs: number,
  until: AbortSignal,
  found: (device: Device) => void,
): Promise<void> {
  while (!until.aborted) {
    await sleep(everyMs, undefined, { signal: until }).catch(() => undefined);
    if (until.aborted) return;
    const devices = await discover().catch(() => []);
    if (until.aborted) return;
    for (const device of devices) found(device);
  }
}

async function resolveRun(deps: SweepDeps, request: SweepRequest) {
  const now = deps.now ?? (() => new Date());
  if (request.kind === 'new') {
    const runId = newRunId(now());
    await createRun(
      deps.db,
      {
        id: runId,
        configJson: JSON.stringify(request.config),
        configHash: configHash(request.config),
        gitRevision: await deps.gitRevision(),
        host: deps.hostName,
      },
      now(),
    );
    return { runId, config: request.config, resumed: false };
  }
  const run = request.runId === undefined ? await latestRun(deps.db) : await findRun(deps.db, request.runId);
  if (run === undefined) {
    const recent = await listRunIds(deps.db, 5);
    throw new RunNotFoundError(
      request.runId === undefined
        ? `nothing to resume: ${deps.dbPath} has no runs. Start one with \`prunelab sweep --db ${deps.dbPath}\`.`
        : `--resume: no run '${request.runId}' in ${deps.dbPath}; expected one of ${recent.join(', ') || '(no runs yet)'}, or --resume without an id for the latest run.`,
      request.runId === undefined ? { path: deps.dbPath } : { path: deps.dbPath, runId: request.runId },
      { kind: 'input' },
    );
  }
  // A queued run's cases belong to its batches: a sweep running them here would measure them outside the queue.
  if (await isQueuedRun(deps.db, run.id)) {
    throw new QueuedRunError(
      `--resume: run ${run.id} in ${deps.dbPath} was enqueued for workers (\`sweep --enqueue\`): \`prunelab worker --db ${deps.dbPath}\` runs it, and \`prunelab status --db ${deps.dbPath}\` shows its queue. Resume a run of \`prunelab sweep\` by its id instead.`,
      { dbPath: deps.dbPath, runId: run.id },
      { kind: 'input' },
    );
  }
  await setRunStatus(deps.db, run.id, 'running', now());
  return { runId: run.id, config: JSON.parse(run.config_json) as PrunelabConfig, resumed: true };
}

/** Per ONNX model of a sweep: what was timed with which weights file, and the nodes left out with why. */
export interface OnnxModelSummary {
  readonly model: string;
  readonly path: string;
  readonly timedNodes: number;
  readonly weightsSha256: string;
  readonly skipped: readonly { readonly node: string; readonly opType: string; readonly reason: string }[];
}

export function onnxModelSummaries(onnx: ReadonlyMap<string, SweepOnnxModel>): OnnxModelSummary[] {
  return [...onnx.values()].map((model) => ({
    model: model.label,
    path: model.path,
    timedNodes: model.layers.length,
    weightsSha256: model.blob.sha256,
    skipped: model.skipped.map(({ node, opType, reason }) => ({ node, opType, reason })),
  }));
}

/**
 * A resumed run whose ONNX file was changed since it started: its pending cases ask for a weights file the file
 * no longer gives, so the run is left as it was (interrupted) rather than half measured with other weights.
 */
async function refuseChangedModels(
  deps: SweepDeps,
  runId: string,
  onnx: ReadonlyMap<string, SweepOnnxModel>,
): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const loaded = new Set([...onnx.values()].map((model) => model.blob.sha256));
  const missing = (await runWeightsFiles(deps.db, runId)).filter((sha256) => !loaded.has(sha256));
  if (missing.length === 0) return;
  await setRunStatus(deps.db, runId, 'interrupted', now());
  throw new ModelChangedError(
    `--resume: run ${runId} was planned with the weights file(s) ${missing.join(', ')}, which the ONNX file(s) ` +
      `${[...onnx.keys()].join(', ') || '(none now)'} no longer give: a model changed since the run started. ` +
      'Start a new run for the changed model (its measurements are another population).',
    { runId, missing },
    { kind: 'input' },
  );
}

export function refuseEmptyPlan(plan: Plan): void {
  if (plan.cases.length > 0) return;
  const reasons = [...new Set(plan.dropped.map((dropped) => dropped.reason))];
  throw new EmptyPlanError(
    `the sweep has no case to run: all ${plan.dropped.length} cases were dropped because they cannot exist:\n` +
      `${reasons.map((reason) => `  ${reason}`).join('\n')}\n` +
      'Choose block sizes that divide the layers (see `prunelab sweep --dry-run`), or other schemes or models.',
    { dropped: plan.dropped.length, reasons },
    { kind: 'input' },
  );
}

/** The scheduler's options for a run of this config: the retry, failure and timeout rules of `scheduler:`. */
export function schedulerOptionsOf(
  deps: Pick<SweepDeps, 'db' | 'stop' | 'hardStop' | 'emit' | 'now' | 'lease'>,
  config: PrunelabConfig,
  runId: string,
): SchedulerOptions {
  return {
    ...(deps.lease === undefined ? {} : { lease: deps.lease }),
    db: deps.db,
    runId,
    retries: config.scheduler.retries,
    maxConsecutiveFailures: config.scheduler.maxConsecutiveFailures,
    caseTimeoutMs: config.scheduler.caseTimeoutMs,
    disconnectGraceMs: config.scheduler.disconnectGraceMs,
    requeueFlagged: config.lab.requeueFlagged,
    disturbance: config.lab.disturbance,
    stop: deps.stop,
    hardStop: deps.hardStop,
    emit: deps.emit,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  };
}

/**
 * The run (new or resumed), its ONNX models and its plan. A new run's ONNX files are read and checked before
 * the run exists (a bad file leaves no run row); a resumed run's must still give the weights it was planned with.
 */
async function startRun(deps: SweepDeps, request: SweepRequest) {
  const blobDir = deps.weightsDir ?? defaultWeightsDir();
  const early =
    request.kind === 'new'
      ? (request.onnx ?? (await loadSweepModels(request.config.sweep.models, blobDir)))
      : undefined;
  if (request.kind === 'new') refuseEmptyPlan(planFromConfig(request.config, early));
  const { runId, config, resumed } = await resolveRun(deps, request);
  const onnx = early ?? (await loadSweepModels(config.sweep.models, blobDir));
  if (resumed) await refuseChangedModels(deps, runId, onnx);
  return { runId, config, resumed, onnx, plan: planFromConfig(config, onnx) };
}

export async function runSweep(deps: SweepDeps, request: SweepRequest): Promise<SweepSummary> {
  const startedMs = performance.now();
  const now = deps.now ?? (() => new Date());
  const { runId, config, resumed, onnx, plan } = await startRun(deps, request);
  const tasks = tasksFromPlan(plan);
  const prepareDeps = { ...deps, weightsBlobs: [...onnx.values()].map((model) => model.blob) };

  // A resumed run continues on the devices it started on, when they are here.
  const known = resumed ? new Set(await runDeviceIds(deps.db, runId)) : undefined;
  const devices =
    known === undefined || known.size === 0
      ? deps.devices
      : deps.devices.filter((d) => known.has(d.identity.id));
  let outcomes: DeviceOutcome[];
  const leasePolicy = deps.lease ?? defaultLeasePolicy();
  // The last lab set up on each device (a device prepared again after a disconnect gets a new one).
  const labs = new Map<string, DeviceLab>();
  const unprepared: DeviceOutcome[] = [];
  /** Registers the device and its tasks, then builds, pushes and sets up its lab; no queue when nothing is left. */
  const bringIn = async (device: Device): Promise<DeviceQueue | undefined> => {
    const { info } = await registerDevice(deps, device, runId, tasks);
    // Another process runs cases on it (a second resume, a nightly): leave it alone, not even a push.
    const held = await heldElsewhere(deps, device.identity.id, runId, leasePolicy);
    if (held !== undefined) {
      unprepared.push(held);
      return undefined;
    }
    // A resumed run gives cases skipped on a phone that went away another chance now that it is here.
    if (resumed) await reviveSkippedTasks(deps.db, runId, device.identity.id, now());
    // Nothing left here (a finished run resumed): no build, no push.
    const counts = await taskCounts(deps.db, runId, device.identity.id);
    if (counts.pending + counts.running === 0) return undefined;
    try {
      const prepared = await prepareAllowingReturns(
        device,
        info,
        async (current) => {
          if (current !== info) await upsertDevice(deps.db, current, now());
          return prepareDevice(prepareDeps, device, current, runId, config.lab, (lab) =>
            labs.set(device.identity.id, lab),
          );
        },
        {
          graceMs: config.scheduler.disconnectGraceMs,
          signal: AbortSignal.any([deps.stop, deps.hardStop]),
          note: (message) => deps.emit({ type: 'device-note', deviceId: device.identity.id, message }),
        },
      );
      return prepared.queue;
    } catch (error) {
      // A device that cannot take the agent (full disk, permission, gone) stops alone.
      if (!(error instanceof TransportError)) throw error;
      const outcome = unpreparedOutcome(device.identity.id, counts, error);
      deps.emit({
        type: 'device-stopped',
        deviceId: device.identity.id,
        reason: outcome.stoppedReason ?? '',
      });
      unprepared.push(outcome);
      return undefined;
    }
  };
  const schedulerOptions = schedulerOptionsOf(deps, config, runId);
  /** A device that connected mid-run: brought in like the others, then its own queue. */
  const join = async (device: Device): Promise<DeviceOutcome[]> => {
    deps.emit({ type: 'device-note', deviceId: device.identity.id, message: 'joined the run' });
    let queue: DeviceQueue | undefined;
    try {
      queue = await bringIn(device);
    } catch (error) {
      // Gone again before it could be registered: the run goes on without it.
      if (!(error instanceof TransportError)) throw error;
      deps.emit({
        type: 'device-note',
        deviceId: device.identity.id,
        message: `could not join: ${error.message}`,
      });
      return [];
    }
    return queue === undefined ? [] : runQueues([queue], schedulerOptions);
  };
  try {
    // Devices are prepared at once (a push and the agent's `info` per phone), each on its own.
    const queues = (await Promise.all(devices.map(bringIn))).filter((queue) => queue !== undefined);
    const watch = new AbortController();
    const joined: Promise<DeviceOutcome[]>[] = [];
    const seen = new Set(deps.devices.map((device) => device.identity.id));
    const polling =
      deps.discover === undefined
        ? Promise.resolve()
        : watchForDevices(
            deps.discover,
            deps.discoverEveryMs ?? 1_000,
            AbortSignal.any([watch.signal, deps.stop, deps.hardStop]),
            (device) => {
              const id = device.identity.id;
              if (seen.has(id) || (known !== undefined && known.size > 0 && !known.has(id))) return;
              seen.add(id);
              const outcome = join(device);
              // Awaited below; this keeps a failure from being reported as unhandled in the meantime.
              outcome.catch(() => undefined);
              joined.push(outcome);
            },
          );
    let ran: DeviceOutcome[];
    try {
      ran = await runQueues(queues, schedulerOptions);
    } finally {
      watch.abort();
      await polling;
    }
    const late = (await Promise.all(joined)).flat();
    outcomes = [...ran, ...late, ...unprepared];
  } catch (error) {
    // A build or a device that could not be prepared: the run stays resumable, but is not `running`.
    await setRunStatus(deps.db, runId, 'failed', now()).catch(() => {});
    throw error;
  } finally {
    // Restore what the lab changed (a locked governor) even when the sweep failed; a phone gone stays as is.
    await Promise.all([...labs.values()].map((lab) => lab.finish().catch(() => undefined)));
  }

  const counts = await taskCounts(deps.db, runId);
  // A device held by another process is not a failure of this run: its cases are that process's business.
  const status: RunStatus = outcomes.some(
    (outcome) => outcome.stoppedReason !== undefined && outcome.stoppedKind !== 'held',
  )
    ? 'failed'
    : counts.pending > 0 || counts.running > 0 || counts.skipped > 0
      ? 'interrupted'
      : 'done';
  await setRunStatus(deps.db, runId, status, now());
  return {
    runId,
    resumed,
    dbPath: deps.dbPath,
    status,
    plannedCases: plan.cases.length,
    droppedCases: plan.dropped.length,
    devices: outcomes,
    counts,
    wallMs: performance.now() - startedMs,
    onnxModels: onnxModelSummaries(onnx),
  };
}
