/**
 * `prunelab worker`: the long-running process on each lab host. It reads the devices section of --config
 * (adb servers, Appium phones), keeps the devices --device admits, and works the shared queue of
 * `sweep --enqueue` (orchestrator/worker/run-worker.ts) until SIGTERM or SIGINT.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_STORE_PATH } from '../../../config/defaults.ts';
import { loadConfigFile } from '../../../config/read.ts';
import { storeTarget } from '../../../config/schema.ts';
import { UsageError } from '../../errors.ts';
import { DEFAULT_LEASE_MS } from '../../scheduler/device-lease.ts';
import { admits } from '../../sweep/select-devices.ts';
import { runWorker } from '../../worker/run-worker.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';
import { plainProgress } from '../progress.ts';

interface WorkerArgs extends GlobalArgs {
  readonly db?: string;
  readonly config?: string;
  readonly device?: readonly string[];
  readonly leaseMs: number;
  readonly pollMs: number;
}

function wholeMs(value: number, flag: string, least: number): number {
  if (!Number.isInteger(value) || value < least) {
    throw new UsageError(`${flag}: expected a whole number of ms >= ${least}, got ${String(value)}`, {
      option: flag,
    });
  }
  return value;
}

/** SIGINT and SIGTERM: the first stops after the case in flight, a second kills the agents now. */
function stopSignals(context: CliContext) {
  const stop = new AbortController();
  const hardStop = new AbortController();
  const onSignal = (): void => {
    if (!stop.signal.aborted) {
      context.output.err(
        '\nStopping: finishing the case in flight, giving the batch back (signal again to stop now)...\n',
      );
      stop.abort();
    } else hardStop.abort();
  };
  const releaseInt = context.onInterrupt(onSignal);
  const releaseTerm = context.onTerminate?.(onSignal) ?? (() => {});
  return {
    stop: stop.signal,
    hardStop: hardStop.signal,
    release: () => {
      releaseInt();
      releaseTerm();
    },
  };
}

export function workerCommand(context: CliContext): CommandModule<GlobalArgs, WorkerArgs> {
  return {
    command: 'worker',
    describe: "Work the shared queue of `sweep --enqueue` on this host's devices until SIGTERM or Ctrl-C",
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('db', {
          type: 'string',
          describe: 'postgres:// URL of the lab database (an SQLite file works for workers on one host)',
        })
        .option('config', {
          type: 'string',
          describe: 'prunelab.yaml whose devices section lists the adb servers',
        })
        .option('device', {
          type: 'string',
          array: true,
          describe: 'device id or kind this worker may use (repeatable; default: all)',
        })
        .option('lease-ms', {
          type: 'number',
          default: DEFAULT_LEASE_MS,
          describe:
            'batch and device lease: another worker takes a batch over this long after a heartbeat stops',
        })
        .option('poll-ms', {
          type: 'number',
          default: 1_000,
          describe: 'how often an idle device asks the queue for work and the device list is read again',
        })
        .example(
          '$0 worker --db postgres://prunelab@db-host/prunelab --config lab.yaml',
          'this host works the queue',
        )
        .example(
          '$0 worker --db postgres://prunelab@db-host/prunelab --device R58M12345',
          'only this phone',
        ) as unknown as Argv<WorkerArgs>,
    handler: async (args: ArgumentsCamelCase<WorkerArgs>) => {
      const leaseMs = wholeMs(args.leaseMs, '--lease-ms', 1_000);
      const pollMs = wholeMs(args.pollMs, '--poll-ms', 10);
      const config = await loadConfigFile(args.config, {});
      const dbText = args.db ?? (args.config === undefined ? DEFAULT_STORE_PATH : storeTarget(config.store));
      // A worker stopped mid-commit must not keep its batch's row lock past its lease (open-postgres.ts).
      const store = await context.openStore(dbText, { idleInTransactionMs: leaseMs });
      const signals = stopSignals(context);
      const progress = plainProgress((text) => context.output.err(text));
      try {
        const summary = await runWorker({
          db: store.db,
          dialect: store.dialect,
          dbPath: store.path,
          listDevices: async () =>
            (await context.listDevices(config.devices, { quiet: true })).filter((device) =>
              admits(args.device, device),
            ),
          buildAgent: (abi) => context.buildAgent(abi),
          hostName: context.hostName,
          pid: process.pid,
          emit: progress.onEvent,
          note: (text) => context.output.err(text),
          stop: signals.stop,
          hardStop: signals.hardStop,
          leaseMs,
          pollMs,
        });
        if (args.json) printJson(context.output, { ...summary, db: store.path, stopped: true });
        else
          context.output.out(
            `worker ${summary.workerId} stopped cleanly (${summary.devicesSeen} devices seen)\n`,
          );
      } finally {
        progress.stop();
        signals.release();
        await store.close();
      }
    },
  };
}
