/**
 * `prunelab sweep`: plan the sweep (embedded default, a --config file, flags on top), run it on the devices
 * into the store (an SQLite file or a PostgreSQL database), or continue an interrupted run with --resume.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_CONFIG, DEFAULT_STORE_PATH } from '../../../config/defaults.ts';
import { type ConfigOverrides, OVERRIDE_FLAGS } from '../../../config/load.ts';
import { loadConfigFile } from '../../../config/read.ts';
import { type DevicesConfig, type PrunelabConfig, storeTarget } from '../../../config/schema.ts';
import { messageOf, UsageError } from '../../errors.ts';
import type { Plan } from '../../plan/types.ts';
import { loadReportAssets } from '../../report/assets.ts';
import { defaultReportPath, generateReport } from '../../report/generate-report.ts';
import { canonicalStoreText, parseStoreLocation, storeFolder } from '../../store/location.ts';
import type { OpenedStore } from '../../store/open.ts';
import { findRun, latestRun } from '../../store/runs.ts';
import { SweepIncompleteError } from '../../sweep/errors.ts';
import { planFromConfig } from '../../sweep/plan-tasks.ts';
import { runSweep, type SweepSummary } from '../../sweep/run-sweep.ts';
import type { Device } from '../../transport/port.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';
import { barProgress, formatDurationMs, plainProgress } from '../progress.ts';

interface SweepArgs extends GlobalArgs {
  readonly config?: string;
  readonly dryRun: boolean;
  /** '' = the latest run. */
  readonly resume?: string;
  readonly device?: readonly string[];
  /** false with --no-report. */
  readonly report: boolean;
  readonly [flag: string]: unknown;
}

function overridesFrom(args: SweepArgs): ConfigOverrides {
  const overrides: Record<string, unknown> = {};
  for (const { key } of OVERRIDE_FLAGS) if (args[key] !== undefined) overrides[key] = args[key];
  return overrides as ConfigOverrides;
}

/** Whether the --device filter (none: every device) takes this device. */
export function admits(wanted: readonly string[] | undefined, device: Device): boolean {
  return (
    wanted === undefined ||
    wanted.length === 0 ||
    wanted.includes(device.identity.id) ||
    wanted.includes(device.identity.kind)
  );
}

/** `--device host|adb|appium`, `--device host:myhost` or `--device SERIAL` (an adb phone's id): by kind or by id. */
export function selectDevices(all: readonly Device[], wanted: readonly string[] | undefined): Device[] {
  if (wanted === undefined || wanted.length === 0) return [...all];
  const chosen = all.filter((device) => admits(wanted, device));
  const unknown = wanted.filter(
    (name) => !all.some((d) => d.identity.id === name || d.identity.kind === name),
  );
  if (unknown.length > 0) {
    const choices = all.map((device) => device.identity.id).join(', ');
    throw new UsageError(
      `--device: expected a device id (an adb serial for a phone) or kind from \`prunelab devices\` (${choices || 'no device found'}, or a kind: host, adb, appium); got ${unknown.map((name) => `'${name}'`).join(', ')}`,
      { option: '--device' },
    );
  }
  return chosen;
}

/** The devices section a resumed run was started with (its adb servers), or the defaults. */
async function resumedDevicesConfig(
  context: CliContext,
  dbPath: string,
  resume: string | undefined,
): Promise<DevicesConfig | undefined> {
  if (resume === undefined) return undefined;
  const location = parseStoreLocation(dbPath);
  if (location.kind === 'sqlite' && !existsSync(location.path)) return undefined;
  const store = await context.openStore(dbPath);
  try {
    const run = resume === '' ? await latestRun(store.db) : await findRun(store.db, resume);
    if (run === undefined) return undefined;
    return (JSON.parse(run.config_json) as Partial<PrunelabConfig>).devices;
  } finally {
    await store.close();
  }
}

function planSummary(plan: Plan) {
  const reasons = new Map<string, number>();
  for (const dropped of plan.dropped) reasons.set(dropped.reason, (reasons.get(dropped.reason) ?? 0) + 1);
  return {
    cases: plan.cases.length,
    batches: plan.batches.length,
    dropped: plan.dropped.length,
    droppedReasons: Object.fromEntries(reasons),
    estimatedMs: plan.estimatedMs,
    estimateBasis: plan.estimateBasis,
  };
}

function exportHint(summary: Pick<SweepSummary, 'dbPath' | 'runId'>): string {
  return `npx prunelab export --db ${summary.dbPath} --run ${summary.runId} --format csv --out results.csv`;
}

function printSummary(context: CliContext, summary: SweepSummary): void {
  const { counts } = summary;
  const lines = [
    `Run ${summary.runId}${summary.resumed ? ' (resumed)' : ''}: ${summary.status}, ${counts.done} done, ${counts.failed} failed, ${counts.pending + counts.running} pending, ${counts.skipped} skipped, in ${formatDurationMs(summary.wallMs)}`,
    ...summary.devices.map(
      (device) =>
        `  ${device.deviceId}: ${device.counts.done} done, ${device.counts.failed} failed, ${device.counts.pending + device.counts.running} pending, ${device.counts.skipped} skipped${device.stoppedReason === undefined ? '' : `; ${device.stoppedReason}`}`,
    ),
    `Results: ${summary.dbPath} (tables runs, tasks, measurements, failures)`,
    `Export:  ${exportHint(summary)}`,
  ];
  if (counts.pending + counts.running + counts.skipped > 0)
    lines.push(`Resume:  npx prunelab sweep --db ${summary.dbPath} --resume ${summary.runId}`);
  context.output.out(`${lines.join('\n')}\n`);
}

/**
 * The report of the run, beside an SQLite database (in the working directory for PostgreSQL). A report that
 * cannot be written costs the sweep nothing: the measurements are stored, so it is a note, and
 * `prunelab report` can try again.
 */
async function endOfSweepReport(
  context: CliContext,
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
    context.output.err(
      `note: no HTML report for run ${runId}: ${messageOf(error)}. Try \`prunelab report --db ${store.path} --run ${runId}\`.\n`,
    );
    return undefined;
  }
}

export function sweepCommand(context: CliContext): CommandModule<GlobalArgs, SweepArgs> {
  return {
    command: 'sweep',
    describe:
      'Time every planned case on the devices and store the samples (embedded default sweep without --config)',
    builder: (yargs: Argv<GlobalArgs>) => {
      let built = yargs
        .option('config', {
          type: 'string',
          describe: 'prunelab.yaml to read (default: the embedded default sweep)',
        })
        .option('dry-run', {
          type: 'boolean',
          default: false,
          describe: 'print the plan size and time estimate, run nothing',
        })
        .option('resume', {
          type: 'string',
          describe:
            'continue run RUN (or the latest run when no id is given) with the configuration it was started with',
        })
        .option('device', {
          type: 'string',
          array: true,
          describe: 'device id or kind to use (repeatable; default: all)',
        })
        .option('report', {
          type: 'boolean',
          default: true,
          describe: 'write an HTML report beside the database at the end (--no-report: do not)',
        });
      for (const flag of OVERRIDE_FLAGS) {
        built = built.option(flag.flag.slice(2), {
          type: 'string',
          describe: `${flag.description} (${flag.kind === 'list' || flag.kind === 'number-list' ? 'comma-separated; ' : ''}overrides ${flag.configPath.join('.')})`,
        });
      }
      return built
        .example('$0 sweep', 'the embedded default sweep on the host CPU into ./prunelab.db')
        .example(
          '$0 sweep --dry-run --models vgg16-cifar10 --schemes dense,bcr --blocks 8x4,4x1',
          'plan size and estimate only',
        )
        .example('$0 sweep --config lab.yaml --db lab.db --json', 'a configured sweep, summary as JSON')
        .example(
          '$0 sweep --db lab.db --resume',
          'continue the latest interrupted run',
        ) as unknown as Argv<SweepArgs>;
    },
    handler: async (args: ArgumentsCamelCase<SweepArgs>) => {
      const overrides = overridesFrom(args);
      if (args.resume !== undefined) {
        const shaping = OVERRIDE_FLAGS.filter(
          (flag) => flag.key !== 'db' && args[flag.key] !== undefined,
        ).map((flag) => flag.flag);
        if (args.config !== undefined) shaping.unshift('--config');
        if (shaping.length > 0 || args.dryRun) {
          throw new UsageError(
            `--resume continues a run with the configuration stored with it; expected no ${[...shaping, ...(args.dryRun ? ['--dry-run'] : [])].join(', ')} alongside it. Start a new run to change the sweep.`,
            { option: '--resume' },
          );
        }
      }
      const config: PrunelabConfig | undefined =
        args.resume === undefined ? await loadConfigFile(args.config, overrides) : undefined;
      // --db, else the config's store (store.url before store.path), else the default file.
      const dbPath = canonicalStoreText(
        (overrides.db as string | undefined) ??
          (config === undefined ? DEFAULT_STORE_PATH : storeTarget(config.store)),
      );
      const devicesConfig = config?.devices ?? (await resumedDevicesConfig(context, dbPath, args.resume));
      const devices = selectDevices(await context.listDevices(devicesConfig), args.device);

      if (config !== undefined && args.dryRun) {
        const plan = planSummary(planFromConfig(config));
        const deviceIds = devices.map((device) => device.identity.id);
        if (args.json) printJson(context.output, { dryRun: true, ...plan, devices: deviceIds, db: dbPath });
        else {
          const dropped = Object.entries(plan.droppedReasons).map(
            ([reason, count]) => `    ${count} x ${reason}`,
          );
          const lines = [
            `Plan: ${plan.cases} cases in ${plan.batches} agent calls per device, on ${deviceIds.join(', ')}`,
            `Estimate: ${formatDurationMs(plan.estimatedMs)} per device (${plan.estimateBasis})`,
            `Dropped: ${plan.dropped} cases that cannot exist${dropped.length > 0 ? ':' : ''}`,
            ...dropped,
            `Would store into ${dbPath}`,
          ];
          context.output.out(`${lines.join('\n')}\n`);
        }
        return;
      }

      const stop = new AbortController();
      const hardStop = new AbortController();
      const progress = context.output.stderrIsTty
        ? barProgress(context.output.stderr)
        : plainProgress((text) => context.output.err(text));
      const release = context.onInterrupt(() => {
        if (!stop.signal.aborted) {
          context.output.err('\nStopping after the current case (Ctrl-C again to stop now)...\n');
          stop.abort();
        } else hardStop.abort();
      });
      const store = await context.openStore(dbPath);
      let summary: SweepSummary;
      let reportPath: string | undefined;
      try {
        summary = await runSweep(
          {
            db: store.db,
            dbPath: store.path,
            devices,
            buildAgent: (abi) => context.buildAgent(abi),
            gitRevision: context.gitRevision,
            hostName: context.hostName,
            emit: progress.onEvent,
            stop: stop.signal,
            hardStop: hardStop.signal,
            // Phones that connect during the run join it when --device admits them (notes were printed above).
            discover: async () =>
              (await context.listDevices(devicesConfig, { quiet: true })).filter((device) =>
                admits(args.device, device),
              ),
            discoverEveryMs: devicesConfig?.adb.pollMs ?? DEFAULT_CONFIG.devices.adb.pollMs,
          },
          config === undefined
            ? {
                kind: 'resume',
                ...(args.resume === '' || args.resume === undefined ? {} : { runId: args.resume }),
              }
            : { kind: 'new', config },
        );
        if (args.report) reportPath = await endOfSweepReport(context, store, summary.runId);
      } finally {
        progress.stop();
        release();
        await store.close();
      }
      if (args.json)
        printJson(context.output, { ...summary, export: exportHint(summary), report: reportPath ?? null });
      else {
        printSummary(context, summary);
        if (reportPath !== undefined) context.output.out(`Report:  ${reportPath}\n`);
      }
      if (summary.status !== 'done') {
        const pending = summary.counts.pending + summary.counts.running + summary.counts.skipped;
        throw new SweepIncompleteError(
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
    },
  };
}
