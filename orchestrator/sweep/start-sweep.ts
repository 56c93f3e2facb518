/**
 * The sweep use case as the CLI starts it: the configuration (the embedded default, a file, flags on top; or,
 * with --resume, the one stored with the run), the store, the devices the --device filter takes; then either
 * the plan alone (dry run) or the run (`runSweep`) and its HTML report beside the database.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG, DEFAULT_STORE_PATH } from '../../config/defaults.ts';
import type { ConfigOverrides } from '../../config/load.ts';
import { loadConfigFile } from '../../config/read.ts';
import { type DevicesConfig, type PrunelabConfig, storeTarget } from '../../config/schema.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import { messageOf } from '../errors.ts';
import { defaultWeightsDir, loadSweepModels } from '../models/sweep-models.ts';
import type { Plan } from '../plan/types.ts';
import { loadReportAssets } from '../report/assets.ts';
import { defaultReportPath, generateReport } from '../report/generate-report.ts';
import { canonicalStoreText, parseStoreLocation, storeFolder } from '../store/location.ts';
import type { OpenedStore } from '../store/open.ts';
import { findRun, latestRun } from '../store/runs.ts';
import type { Device } from '../transport/port.ts';
import type { Target } from '../worker/target.ts';
import { type EnqueueSummary, enqueueSweep } from './enqueue-sweep.ts';
import { SweepIncompleteError } from './errors.ts';
import { planFromConfig } from './plan-tasks.ts';
import {
  type OnnxModelSummary,
  onnxModelSummaries,
  runSweep,
  type SweepDeps,
  type SweepSummary,
} from './run-sweep.ts';
import { admits, selectDevices } from './select-devices.ts';

/** What a running sweep reports to and is stopped by; `close` ends it (progress bars, Ctrl-C handler). */
export interface SweepSession extends Pick<SweepDeps, 'emit' | 'stop' | 'hardStop'> {
  close(): void;
}

export interface StartSweepDeps {
  readonly openStore: (path: string) => Promise<OpenedStore>;
  readonly listDevices: (
    devices?: DevicesConfig,
    options?: { readonly quiet?: boolean },
  ) => Promise<readonly Device[]>;
  readonly buildAgent: (abi: string) => Promise<AgentBuild>;
  readonly gitRevision: () => Promise<string | null>;
  readonly hostName: string;
  /** Opened only when cases are about to run (not for a dry run). */
  readonly openSession: () => SweepSession;
  /** Notes for people (stderr). */
  readonly note: (text: string) => void;
}

export interface StartSweepRequest {
  /** --config (undefined: the embedded default sweep). */
  readonly configPath?: string;
  readonly overrides: ConfigOverrides;
  /** --resume: '' = the latest run; undefined = a new run. */
  readonly resume?: string;
  readonly dryRun: boolean;
  /** --device ids or kinds (undefined or empty: every device). */
  readonly deviceFilter?: readonly string[];
  /** Write the HTML report at the end (false with --no-report). */
  readonly report: boolean;
  /** --enqueue --target: plan the run into the shared queue for `prunelab worker`, run nothing here. */
  readonly enqueue?: Target;
}

export interface PlanSummary {
  readonly cases: number;
  readonly batches: number;
  readonly dropped: number;
  readonly droppedReasons: Readonly<Record<string, number>>;
  readonly estimatedMs: number;
  readonly estimateBasis: Plan['estimateBasis'];
  /** The ONNX models of the sweep: nodes timed, weights file, nodes left out with the reason. */
  readonly onnxModels: readonly OnnxModelSummary[];
}

export type SweepOutcome =
  | {
      readonly kind: 'dry-run';
      readonly plan: PlanSummary;
      readonly deviceIds: string[];
      readonly dbPath: string;
    }
  | { readonly kind: 'ran'; readonly summary: SweepSummary; readonly reportPath: string | undefined }
  | { readonly kind: 'enqueued'; readonly summary: EnqueueSummary };

/** The devices section a resumed run was started with (its adb servers), or the defaults. */
async function resumedDevicesConfig(
  deps: StartSweepDeps,
  dbPath: string,
  resume: string | undefined,
): Promise<DevicesConfig | undefined> {
  if (resume === undefined) return undefined;
  const location = parseStoreLocation(dbPath);
  if (location.kind === 'sqlite' && !existsSync(location.path)) return undefined;
  const store = await deps.openStore(dbPath);
  try {
    const run = resume === '' ? await latestRun(store.db) : await findRun(store.db, resume);
    if (run === undefined) return undefined;
    return (JSON.parse(run.config_json) as Partial<PrunelabConfig>).devices;
  } finally {
    await store.close();
  }
}

export function planSummary(plan: Plan, onnxModels: readonly OnnxModelSummary[] = []): PlanSummary {
  const reasons = new Map<string, number>();
  for (const dropped of plan.dropped) reasons.set(dropped.reason, (reasons.get(dropped.reason) ?? 0) + 1);
  return {
    cases: plan.cases.length,
    batches: plan.batches.length,
    dropped: plan.dropped.length,
    droppedReasons: Object.fromEntries(reasons),
    estimatedMs: plan.estimatedMs,
    estimateBasis: plan.estimateBasis,
    onnxModels,
  };
}

/**
 * The report of the run, beside the database. A report that cannot be written costs the sweep nothing: the
 * measurements are stored, so it is a note, and `prunelab report` can try again.
 */
async function endOfSweepReport(
  deps: StartSweepDeps,
  store: OpenedStore,
  runId: string,
): Promise<string | undefined> {
  try {
    const summary = await generateReport(
      { db: store.db, dbPath: store.path, assets: loadReportAssets },
      {
        runId,
        lutPaths: [],
        mappingPaths: [],
        outPath: join(storeFolder(parseStoreLocation(store.path)), defaultReportPath(runId)),
      },
    );
    return summary.outPath;
  } catch (error) {
    deps.note(
      `note: no HTML report for run ${runId}: ${messageOf(error)}. Try \`prunelab report --db ${store.path} --run ${runId}\`.\n`,
    );
    return undefined;
  }
}

export async function startSweep(deps: StartSweepDeps, request: StartSweepRequest): Promise<SweepOutcome> {
  const { overrides, resume } = request;
  const config: PrunelabConfig | undefined =
    resume === undefined ? await loadConfigFile(request.configPath, overrides) : undefined;
  // --db, else the config's store (store.url before store.path), else the default file.
  const dbPath = canonicalStoreText(
    (overrides.db as string | undefined) ??
      (config === undefined ? DEFAULT_STORE_PATH : storeTarget(config.store)),
  );
  if (config !== undefined && request.enqueue !== undefined && !request.dryRun) {
    const store = await deps.openStore(dbPath);
    try {
      const enqueueDeps = {
        db: store.db,
        dbPath: store.path,
        gitRevision: deps.gitRevision,
        hostName: deps.hostName,
      };
      return { kind: 'enqueued', summary: await enqueueSweep(enqueueDeps, config, request.enqueue) };
    } finally {
      await store.close();
    }
  }
  const devicesConfig = config?.devices ?? (await resumedDevicesConfig(deps, dbPath, resume));
  const devices = selectDevices(await deps.listDevices(devicesConfig), request.deviceFilter);
  // A new run's ONNX files are read and checked before the store is opened: a bad file writes nothing there.
  // Their weights files are written (to the temporary folder) even for a dry run: case keys need their sha256.
  const onnx =
    config === undefined ? undefined : await loadSweepModels(config.sweep.models, defaultWeightsDir());
  if (config !== undefined && request.dryRun) {
    const deviceIds = devices.map((device) => device.identity.id);
    const plan = planSummary(planFromConfig(config, onnx), onnxModelSummaries(onnx ?? new Map()));
    return { kind: 'dry-run', plan, deviceIds, dbPath };
  }
  const session = deps.openSession();
  const store = await deps.openStore(dbPath);
  try {
    const summary = await runSweep(
      {
        db: store.db,
        dbPath: store.path,
        devices,
        buildAgent: deps.buildAgent,
        gitRevision: deps.gitRevision,
        hostName: deps.hostName,
        emit: session.emit,
        stop: session.stop,
        hardStop: session.hardStop,
        // Phones that connect during the run join it when --device admits them (notes were printed above).
        discover: async () =>
          (await deps.listDevices(devicesConfig, { quiet: true })).filter((device) =>
            admits(request.deviceFilter, device),
          ),
        discoverEveryMs: devicesConfig?.adb.pollMs ?? DEFAULT_CONFIG.devices.adb.pollMs,
      },
      config === undefined
        ? { kind: 'resume', ...(resume === '' || resume === undefined ? {} : { runId: resume }) }
        : { kind: 'new', config, ...(onnx === undefined ? {} : { onnx }) },
    );
    const reportPath = request.report ? await endOfSweepReport(deps, store, summary.runId) : undefined;
    return { kind: 'ran', summary, reportPath };
  } finally {
    session.close();
    await store.close();
  }
}

/** A run that did not finish, as the error the CLI exits with (after printing the summary). */
export function incompleteError(summary: SweepSummary): SweepIncompleteError {
  const pending = summary.counts.pending + summary.counts.running + summary.counts.skipped;
  return new SweepIncompleteError(
    summary.status === 'interrupted'
      ? `run ${summary.runId} interrupted with ${pending} cases pending or skipped; continue with \`prunelab sweep --db ${summary.dbPath} --resume ${summary.runId}\``
      : `run ${summary.runId} stopped: ${summary.devices
          .map((d) => d.stoppedReason)
          .filter(Boolean)
          .join(
            '; ',
          )}. Fix the device, then \`prunelab sweep --db ${summary.dbPath} --resume ${summary.runId}\``,
    { runId: summary.runId, dbPath: summary.dbPath, pending, failed: summary.counts.failed },
  );
}
