/**
 * `prunelab sweep`: plan the sweep (embedded default, a --config file, flags on top), run it on the devices
 * into the SQLite store, or continue an interrupted run with --resume. The handler checks the flags, calls
 * `startSweep` (orchestrator/sweep/start-sweep.ts) and prints what it returns.
 */
import { resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { type ConfigOverrides, OVERRIDE_FLAGS } from '../../../config/load.ts';
import { isOnnxPath } from '../../../config/models/index.ts';
import { UsageError } from '../../errors.ts';
import type { EnqueueSummary } from '../../sweep/enqueue-sweep.ts';
import type { OnnxModelSummary, SweepSummary } from '../../sweep/run-sweep.ts';
import {
  incompleteError,
  type StartSweepDeps,
  type StartSweepRequest,
  type SweepOutcome,
  startSweep,
} from '../../sweep/start-sweep.ts';
import { parseTarget, type Target } from '../../worker/target.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';
import { barProgress, formatDurationMs, plainProgress } from '../progress.ts';

interface SweepArgs extends GlobalArgs {
  readonly config?: string;
  readonly dryRun: boolean;
  /** '' = the latest run. */
  readonly resume?: string;
  readonly device?: readonly string[];
  /** --model FILE.onnx, repeatable. */
  readonly model?: readonly string[];
  /** false with --no-report. */
  readonly report: boolean;
  readonly enqueue: boolean;
  readonly target?: string;
  readonly [flag: string]: unknown;
}

/**
 * The flags over the config. `--model FILE.onnx` (repeatable) joins `--models` in one list that replaces
 * `sweep.models`; ONNX paths given on the command line are relative to the working directory, so they are
 * made absolute here (the config file's own paths are relative to the file: config/read.ts).
 */
function overridesFrom(args: SweepArgs): ConfigOverrides {
  const overrides: Record<string, unknown> = {};
  for (const { key } of OVERRIDE_FLAGS) if (args[key] !== undefined) overrides[key] = args[key];
  const listed = args.models === undefined ? [] : toList(args.models);
  const models = [...listed, ...(args.model ?? [])];
  if (models.length > 0)
    overrides.models = models.map((entry) => (isOnnxPath(entry) ? resolve(entry) : entry));
  return overrides as ConfigOverrides;
}

/** `--models a,b --models c` as yargs hands it: text or a list of texts, comma-separated. */
function toList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) =>
    String(item)
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  );
}

function exportHint(summary: Pick<SweepSummary, 'dbPath' | 'runId'>): string {
  return `npx prunelab export --db ${summary.dbPath} --run ${summary.runId} --format csv --out results.csv`;
}

/** Each ONNX model: how many nodes are timed with its own weights, and every node left out with why. */
function onnxModelLines(models: readonly OnnxModelSummary[]): string[] {
  return models.flatMap((model) => [
    `Model ${model.model}: ${model.timedNodes} nodes timed with the model's own weights (file ${model.weightsSha256.slice(0, 12)}), ${model.skipped.length} not timed${model.skipped.length > 0 ? ':' : ''}`,
    ...model.skipped.map((node) => `    ${node.opType} '${node.node}': ${node.reason}`),
  ]);
}

function printSummary(context: CliContext, summary: SweepSummary): void {
  const { counts } = summary;
  const lines = [
    `Run ${summary.runId}${summary.resumed ? ' (resumed)' : ''}: ${summary.status}, ${counts.done} done, ${counts.failed} failed, ${counts.pending + counts.running} pending, ${counts.skipped} skipped, in ${formatDurationMs(summary.wallMs)}`,
    ...summary.devices.map(
      (device) =>
        `  ${device.deviceId}: ${device.counts.done} done, ${device.counts.failed} failed, ${device.counts.pending + device.counts.running} pending, ${device.counts.skipped} skipped${device.stoppedReason === undefined ? '' : `; ${device.stoppedReason}`}`,
    ),
    ...onnxModelLines(summary.onnxModels),
    `Results: ${summary.dbPath} (tables runs, tasks, measurements, failures)`,
    `Export:  ${exportHint(summary)}`,
  ];
  if (counts.pending + counts.running + counts.skipped > 0)
    lines.push(`Resume:  npx prunelab sweep --db ${summary.dbPath} --resume ${summary.runId}`);
  context.output.out(`${lines.join('\n')}\n`);
}

/** --enqueue's target, checked: it goes with a new run and names the devices instead of --device. */
function enqueueTarget(args: SweepArgs): Target | undefined {
  if (!args.enqueue) {
    if (args.target !== undefined)
      throw new UsageError('--target: expected it with --enqueue (it names the devices of a queued run)', {
        option: '--target',
      });
    return undefined;
  }
  const clash = [
    ...(args.resume === undefined ? [] : ['--resume']),
    ...(args.device === undefined ? [] : ['--device']),
  ];
  if (clash.length > 0) {
    throw new UsageError(
      `--enqueue: expected no ${clash.join(', ')} alongside it: it plans a new run into the queue for \`prunelab worker\`; name the devices with --target (e.g. --target device=SERIAL)`,
      { option: '--enqueue' },
    );
  }
  if (args.target === undefined) {
    throw new UsageError(
      '--enqueue: expected --target device=ID, model=M, abi=A or fingerprint=F: the devices whose workers should run the cases (`prunelab devices` shows them)',
      { option: '--target' },
    );
  }
  return parseTarget(args.target);
}

/** The flags, checked: --resume takes the stored configuration, so nothing that shapes a sweep goes with it. */
function sweepRequestOf(args: SweepArgs): StartSweepRequest {
  if (args.resume !== undefined) {
    const shaping = OVERRIDE_FLAGS.filter((flag) => flag.key !== 'db' && args[flag.key] !== undefined).map(
      (flag) => flag.flag,
    );
    if (args.model !== undefined) shaping.unshift('--model');
    if (args.config !== undefined) shaping.unshift('--config');
    if (shaping.length > 0 || args.dryRun) {
      throw new UsageError(
        `--resume continues a run with the configuration stored with it; expected no ${[...shaping, ...(args.dryRun ? ['--dry-run'] : [])].join(', ')} alongside it. Start a new run to change the sweep.`,
        { option: '--resume' },
      );
    }
  }
  const enqueue = enqueueTarget(args);
  return {
    ...(enqueue === undefined ? {} : { enqueue }),
    overrides: overridesFrom(args),
    dryRun: args.dryRun,
    report: args.report,
    ...(args.config === undefined ? {} : { configPath: args.config }),
    ...(args.resume === undefined ? {} : { resume: args.resume }),
    ...(args.device === undefined ? {} : { deviceFilter: args.device }),
  };
}

/** The real adapters, and the session a run reports to: progress on stderr, Ctrl-C to stop. */
function sweepDeps(context: CliContext): StartSweepDeps {
  return {
    openStore: (path) => context.openStore(path),
    listDevices: context.listDevices,
    buildAgent: (abi) => context.buildAgent(abi),
    gitRevision: context.gitRevision,
    hostName: context.hostName,
    note: (text) => context.output.err(text),
    openSession: () => {
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
      return {
        emit: progress.onEvent,
        stop: stop.signal,
        hardStop: hardStop.signal,
        close: () => {
          progress.stop();
          release();
        },
      };
    },
  };
}

function printEnqueued(context: CliContext, summary: EnqueueSummary, json: boolean): void {
  if (json) {
    printJson(context.output, { enqueued: true, ...summary });
    return;
  }
  context.output.out(
    `${summary.runId}\n` +
      `Run ${summary.runId} enqueued: ${summary.cases} cases in ${summary.batches} batches for ${summary.target} (${summary.droppedCases} dropped), in ${summary.dbPath}\n` +
      `Workers: npx prunelab worker --db ${summary.dbPath} --config lab.yaml   (on each lab host)\n` +
      `Status:  npx prunelab status --db ${summary.dbPath}\n`,
  );
}

function printDryRun(
  context: CliContext,
  { plan, deviceIds, dbPath }: Extract<SweepOutcome, { kind: 'dry-run' }>,
  json: boolean,
): void {
  if (json) {
    printJson(context.output, { dryRun: true, ...plan, devices: deviceIds, db: dbPath });
    return;
  }
  const dropped = Object.entries(plan.droppedReasons).map(([reason, count]) => `    ${count} x ${reason}`);
  const lines = [
    `Plan: ${plan.cases} cases in ${plan.batches} agent calls per device, on ${deviceIds.join(', ')}`,
    `Estimate: ${formatDurationMs(plan.estimatedMs)} per device (${plan.estimateBasis})`,
    `Dropped: ${plan.dropped} cases that cannot exist${dropped.length > 0 ? ':' : ''}`,
    ...dropped,
    ...onnxModelLines(plan.onnxModels),
    `Would store into ${dbPath}`,
  ];
  context.output.out(`${lines.join('\n')}\n`);
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
        .option('enqueue', {
          type: 'boolean',
          default: false,
          describe: 'plan the run into the shared store for `prunelab worker` processes, and return',
        })
        .option('target', {
          type: 'string',
          describe:
            'with --enqueue: device=ID, model=M, abi=A or fingerprint=F (the devices that may run it)',
        })
        .option('report', {
          type: 'boolean',
          default: true,
          describe: 'write an HTML report beside the database at the end (--no-report: do not)',
        });
      built = built.option('model', {
        type: 'string',
        array: true,
        describe:
          'an ONNX model to sweep with its own weights (repeatable; with --models, replaces sweep.models)',
      });
      for (const flag of OVERRIDE_FLAGS) {
        built = built.option(flag.flag.slice(2), {
          type: flag.kind === 'boolean' ? 'boolean' : 'string',
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
          '$0 sweep --model nets/mine.onnx --schemes dense,bcr --blocks 4x1',
          "every Conv, Gemm and MatMul of an ONNX model, timed with the model's own weights",
        )
        .example(
          '$0 sweep --config lab.yaml --db postgres://prunelab@db-host/prunelab --enqueue --target "model=Pixel 7"',
          "queue a run for the lab's workers and return",
        )
        .example(
          '$0 sweep --db lab.db --resume',
          'continue the latest interrupted run',
        ) as unknown as Argv<SweepArgs>;
    },
    handler: async (args: ArgumentsCamelCase<SweepArgs>) => {
      const outcome = await startSweep(sweepDeps(context), sweepRequestOf(args));
      if (outcome.kind === 'enqueued') {
        printEnqueued(context, outcome.summary, args.json);
        return;
      }
      if (outcome.kind === 'dry-run') {
        printDryRun(context, outcome, args.json);
        return;
      }
      const { summary, reportPath } = outcome;
      if (args.json)
        printJson(context.output, { ...summary, export: exportHint(summary), report: reportPath ?? null });
      else {
        printSummary(context, summary);
        if (reportPath !== undefined) context.output.out(`Report:  ${reportPath}\n`);
      }
      if (summary.status !== 'done') throw incompleteError(summary);
    },
  };
}
