/**
 * `prunelab nightly`: one nightly lab run (sweep with sentinels, comparison with history, re-measure of
 * suspects, LUTs, report), or with --every a run at each tick of a cron schedule until Ctrl-C. Exit codes:
 * 0 clean, 1 confirmed regression, 3 lab trouble, 2 bad input.
 */
import { join, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_STORE_PATH } from '../../../config/defaults.ts';
import { loadConfigFile } from '../../../config/read.ts';
import { type PrunelabConfig, storeTarget } from '../../../config/schema.ts';
import { messageOf, UsageError } from '../../errors.ts';
import { LabTroubleError, NightlyRegressionError } from '../../nightly/errors.ts';
import { checkCron, runEvery } from '../../nightly/every.ts';
import { acquireNightlyLock, lockPathFor } from '../../nightly/lock.ts';
import { NIGHTLY_EXIT, type NightlySummary, runNightly } from '../../nightly/run-nightly.ts';
import { loadReportAssets } from '../../report/assets.ts';
import {
  canonicalStoreText,
  parseStoreLocation,
  type StoreLocation,
  storeFolder,
} from '../../store/location.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';
import { formatDurationMs, plainProgress } from '../progress.ts';

interface NightlyArgs extends GlobalArgs {
  readonly config?: string;
  readonly db?: string;
  readonly out?: string;
  readonly every?: string;
}

const KIND_TITLES: Readonly<Record<string, string>> = {
  regression: 'REGRESSION',
  improvement: 'improvement',
  'device-slower': 'device slower',
  updated: 'updated',
  unfit: 'UNFIT',
  'lab-trouble': 'LAB TROUBLE',
};

export function describeNight(summary: NightlySummary): string {
  const verdict =
    summary.status === 'regression'
      ? 'CONFIRMED REGRESSION'
      : summary.status === 'lab-trouble'
        ? 'LAB TROUBLE'
        : summary.status;
  const lines = [
    `Night ${summary.night} (nightly run ${summary.nightlyRunId}, sweep run ${summary.sweepRunId ?? 'none'}): ` +
      `${verdict}, exit ${summary.exitCode}, in ${formatDurationMs(summary.wallMs)}`,
  ];
  for (const device of summary.devices) {
    const factor =
      device.sentinelFactor === null ? 'no sentinel history yet' : device.sentinelFactor.toFixed(3);
    lines.push(
      `  ${device.deviceId} (${device.model}, build ${device.agentHash}): ${device.cases} cases, ` +
        `${device.judged} with a baseline, ${device.suspects} suspect; sentinel factor ${factor}, ` +
        `sentinel spread ${(device.sentinelSpread * 100).toFixed(1)}% [${device.state}]`,
    );
    for (const note of device.notes) lines.push(`    ${note}`);
  }
  const shown = summary.findings.filter(
    (f) => f.confirmed || f.kind === 'regression' || f.kind === 'improvement',
  );
  if (shown.length > 0) lines.push('Findings:');
  for (const f of shown)
    lines.push(`  ${KIND_TITLES[f.kind] ?? f.kind}${f.confirmed ? '' : ' (not confirmed)'}: ${f.message}`);
  if (summary.findings.length === 0) lines.push('Nothing got slower or faster beyond its noise threshold.');
  for (const lut of summary.luts) lines.push(`LUT:     ${lut}`);
  if (summary.report !== null) lines.push(`Report:  ${summary.report}`);
  for (const note of summary.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The lock file that keeps one nightly per store on this host: beside an SQLite file; for a PostgreSQL store,
 * in the working directory, named after the database (other hosts are kept off the devices by their leases).
 */
function nightlyLockPath(location: StoreLocation): string {
  if (location.kind === 'sqlite') return lockPathFor(location.path);
  const database = new URL(location.shown).pathname.slice(1);
  return join(storeFolder(location), `prunelab-${database.replace(/[^\w.-]/g, '_')}.nightly.lock`);
}

async function nightOnce(
  context: CliContext,
  config: PrunelabConfig,
  paths: { readonly db: string; readonly out: string },
  stop: AbortSignal,
  hardStop: AbortSignal,
): Promise<NightlySummary> {
  const release = await acquireNightlyLock(nightlyLockPath(parseStoreLocation(paths.db)));
  const store = await context.openStore(paths.db);
  const progress = plainProgress((text) => context.output.err(text));
  // A testing aid (orchestrator/nightly/README.md): extra C flags for tonight's agent build.
  const extraCflags = context.env.PRUNELAB_AGENT_CFLAGS;
  try {
    return await runNightly(
      {
        db: store.db,
        dbPath: store.path,
        devices: await context.listDevices(config.devices),
        buildAgent: (abi) =>
          context.buildAgent(abi, extraCflags === undefined || extraCflags === '' ? {} : { extraCflags }),
        gitRevision: context.gitRevision,
        hostName: context.hostName,
        emit: progress.onEvent,
        stop,
        hardStop,
        // Internal state beside the database (.prunelab/ is ignored by git).
        buildCacheDir: join(storeFolder(parseStoreLocation(store.path)), '.prunelab', 'builds'),
        outDir: paths.out,
        assets: loadReportAssets,
      },
      config,
    );
  } finally {
    progress.stop();
    await store.close();
    await release();
  }
}

function print(context: CliContext, json: boolean, summary: NightlySummary): void {
  if (json) printJson(context.output, summary);
  else context.output.out(describeNight(summary));
}

export function nightlyCommand(context: CliContext): CommandModule<GlobalArgs, NightlyArgs> {
  return {
    command: 'nightly',
    describe:
      'Nightly lab run: sweep with sentinels, compare with history, confirm regressions, LUTs, report',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('config', {
          type: 'string',
          describe: 'prunelab.yaml (sections sweep, devices, lab, nightly)',
        })
        .option('db', {
          type: 'string',
          describe: `SQLite file or postgres:// URL (default: store.url, else store.path, ${DEFAULT_STORE_PATH})`,
        })
        .option('out', {
          type: 'string',
          describe: 'folder for each night’s LUTs and report (default: nightly/ beside the database)',
        })
        .option('every', {
          type: 'string',
          describe:
            'keep running: a run at each tick of this cron expression (alone: nightly.schedule), never two at once',
        })
        .example(
          '$0 nightly --config lab.yaml --db lab.db',
          'one night; exit 0 clean, 1 regression, 3 lab trouble',
        )
        .example('$0 nightly --config lab.yaml --every "0 2 * * *"', 'every night at 02:00 until Ctrl-C')
        .example('$0 nightly --json', 'the whole summary as JSON') as unknown as Argv<NightlyArgs>,
    handler: async (args: ArgumentsCamelCase<NightlyArgs>) => {
      const config = await loadConfigFile(args.config);
      const db = canonicalStoreText(args.db ?? storeTarget(config.store));
      const paths = { db, out: resolve(args.out ?? join(storeFolder(parseStoreLocation(db)), 'nightly')) };
      const stop = new AbortController();
      const hardStop = new AbortController();
      if (args.every !== undefined) {
        // `--every` alone takes the config's nightly.schedule.
        const cron = args.every === '' ? config.nightly.schedule : args.every;
        if (cron === undefined) {
          throw new UsageError(
            '--every: expected a cron expression, e.g. --every "0 2 * * *", or nightly.schedule in the config; got neither',
            { option: '--every' },
          );
        }
        checkCron(cron, args.every === '' ? 'nightly.schedule' : '--every').stop();
        const release = context.onInterrupt(() => {
          if (!stop.signal.aborted) {
            context.output.err(
              '\nStopping: no new run; the one in progress ends after its current case...\n',
            );
            stop.abort();
          } else hardStop.abort();
        });
        try {
          context.output.err(`prunelab nightly: a run at each tick of "${cron}"; Ctrl-C stops.\n`);
          const result = await runEvery({
            cron,
            stop: stop.signal,
            runOnce: async () =>
              print(
                context,
                args.json,
                await nightOnce(context, config, paths, stop.signal, hardStop.signal),
              ),
            onSkip: (at) =>
              context.output.err(
                `note: ${at.toISOString()}: the previous nightly run is still going; tick skipped\n`,
              ),
            onError: (error) => context.output.err(`prunelab nightly: the run failed: ${messageOf(error)}\n`),
          });
          context.output.err(`Stopped after ${result.runs} run(s), ${result.skipped} tick(s) skipped.\n`);
        } finally {
          release();
        }
        return;
      }
      const release = context.onInterrupt(() => {
        if (!stop.signal.aborted) stop.abort();
        else hardStop.abort();
      });
      let summary: NightlySummary;
      try {
        summary = await nightOnce(context, config, paths, stop.signal, hardStop.signal);
      } finally {
        release();
      }
      print(context, args.json, summary);
      const ids = { nightlyRunId: summary.nightlyRunId, dbPath: summary.dbPath };
      if (summary.exitCode === NIGHTLY_EXIT.regression) {
        const regressions = summary.findings.filter((f) => f.kind === 'regression' && f.confirmed);
        throw new NightlyRegressionError(
          `${regressions.length} confirmed regression(s) tonight: ${regressions.map((f) => f.message).join('; ')}`,
          { ...ids, regressions: regressions.length },
        );
      }
      if (summary.exitCode === NIGHTLY_EXIT.labTrouble) {
        throw new LabTroubleError(`lab trouble tonight: ${summary.troubles.join('; ')}`, {
          ...ids,
          troubles: summary.troubles,
        });
      }
    },
  };
}
