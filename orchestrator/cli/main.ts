#!/usr/bin/env node
/**
 * The prunelab CLI and its composition root: the only place that constructs real adapters (the SQLite
 * store, the host device, the make-based builder) and hands them to the commands, which are registered
 * from the explicit list below. Commands throw typed errors; `main` prints them once and sets the exit
 * code (0 ok, 1 failure, 2 bad input).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DEFAULT_CONFIG } from '../../config/defaults.ts';
import type { DevicesConfig } from '../../config/schema.ts';
import { buildAgent } from '../build/agent-build.ts';
import { detectToolchains } from '../build/toolchains.ts';
import { UsageError } from '../errors.ts';
import { openStore } from '../store/open.ts';
import { discoverAdbDevices } from '../transport/adb/discovery.ts';
import { createAppiumPool } from '../transport/appium/pool.ts';
import { createHostDevice } from '../transport/host.ts';
import type { Device } from '../transport/port.ts';
import { buildCommand } from './commands/build.ts';
import { devicesCommand } from './commands/devices.ts';
import { doctorCommand } from './commands/doctor.ts';
import { evaluateCommand } from './commands/evaluate.ts';
import { exportCommand } from './commands/export.ts';
import { fitCommand } from './commands/fit.ts';
import { mapCommand } from './commands/map.ts';
import { nightlyCommand } from './commands/nightly.ts';
import { pruneCommand } from './commands/prune.ts';
import { reportCommand } from './commands/report.ts';
import { sensitivityCommand } from './commands/sensitivity.ts';
import { statusCommand } from './commands/status.ts';
import { sweepCommand } from './commands/sweep.ts';
import { virtualPhoneCommand } from './commands/virtual-phone.ts';
import { workerCommand } from './commands/worker.ts';
import type { CliContext, GlobalArgs } from './context.ts';
import { describeError, EXIT_OK } from './handle-error.ts';

/** The command registry: one file per command, in the order `--help` lists them. */
const COMMANDS = [
  sweepCommand,
  nightlyCommand,
  reportCommand,
  exportCommand,
  fitCommand,
  statusCommand,
  workerCommand,
  mapCommand,
  pruneCommand,
  evaluateCommand,
  sensitivityCommand,
  devicesCommand,
  buildCommand,
  doctorCommand,
  virtualPhoneCommand,
] as const;

/** The device-agent folder: next to the sources (tsx) or two levels above dist/orchestrator/cli (npm build). */
function findAgentDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(dir, 'device-agent');
    if (existsSync(join(candidate, 'Makefile'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find the device-agent folder (with its Makefile) above the prunelab CLI');
}

/** The real adapters. Exported so that in-process CLI tests run the same wiring with captured output. */
export function realContext(env: NodeJS.ProcessEnv): CliContext {
  const hostWorkDir = join(os.tmpdir(), `prunelab-${os.userInfo().uid}`, 'host');
  const err = (text: string): void => {
    process.stderr.write(text);
  };
  // One session per Appium phone for the whole command (a sweep lists devices again while it runs).
  const appium = createAppiumPool();
  const listDevices = async (
    config: DevicesConfig = DEFAULT_CONFIG.devices,
    options: { readonly quiet?: boolean } = {},
  ): Promise<Device[]> => {
    const note = options.quiet === true ? () => {} : err;
    const devices: Device[] = [];
    if (env.PRUNELAB_NO_HOST !== '1' && config.host.enabled)
      devices.push(createHostDevice({ workDir: hostWorkDir }));
    // PRUNELAB_NO_ADB=1 keeps a run off the phones (the test suite sets it: a developer's phones stay out).
    if (config.adb.enabled && env.PRUNELAB_NO_ADB !== '1') {
      try {
        const found = await discoverAdbDevices({ ...config.adb, env });
        devices.push(...found.devices);
        for (const entry of found.unusable)
          note(`note: adb device ${entry.serial} on ${entry.server} is ${entry.state}: not used\n`);
      } catch (error) {
        // No adb here (or no server): the host still works; say why phones are missing.
        note(`note: no adb phones: ${(error as Error).message}\n`);
      }
    }
    // PRUNELAB_NO_APPIUM=1 keeps a run off the Appium phones of a config file.
    if ((config.appium ?? []).length > 0 && env.PRUNELAB_NO_APPIUM !== '1') {
      const found = await appium.devices(config.appium);
      devices.push(...found.devices);
      for (const entry of found.unusable)
        note(`note: appium phone ${entry.name} is not used: ${entry.message}\n`);
    }
    return devices;
  };
  return {
    output: {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
      stderrIsTty: process.stderr.isTTY === true,
      stdout: process.stdout,
      stderr: process.stderr,
    },
    env,
    openStore,
    listDevices,
    closeDevices: () => appium.close(),
    buildAgent: (abi, options) => buildAgent(abi, { agentDir: findAgentDir(), env, ...(options ?? {}) }),
    detectToolchains: () => detectToolchains(env),
    gitRevision: async () => {
      const result = await execa('git', ['rev-parse', 'HEAD'], {
        reject: false,
        cwd: dirname(findAgentDir()),
      });
      return result.exitCode === 0 ? String(result.stdout).trim() : null;
    },
    hostName: os.hostname(),
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
    onTerminate: (handler) => {
      process.on('SIGTERM', handler);
      return () => process.off('SIGTERM', handler);
    },
  };
}

/** The version in prunelab's own package.json (the folder above device-agent). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(dirname(findAgentDir()), 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

export async function main(argv: readonly string[], context: CliContext): Promise<number> {
  const json = argv.includes('--json');
  const modules = COMMANDS.map((command) => command(context));
  const commandNames = modules.map((module) => String(module.command).split(' ')[0]);
  let parser: Argv<GlobalArgs> = yargs([...argv])
    .scriptName('prunelab')
    .usage(
      '$0 <command> [options]\n\nTime pruned DNN kernels on phones or the host CPU and keep every sample.',
    )
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output on stdout' })
    .demandCommand(1, `expected a command: ${commandNames.join(', ')}`)
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .fail((message, error) => {
      throw (
        error ??
        new UsageError(`${message}\nRun \`prunelab --help\` (or \`prunelab <command> --help\`) for usage.`)
      );
    });
  for (const module of modules) parser = parser.command(module as never);
  try {
    // With a callback yargs hands over what it would print (help) instead of writing it itself.
    await parser.parseAsync([...argv], {}, (_error, _args, output) => {
      if (output !== '') context.output.out(`${output}\n`);
    });
    return EXIT_OK;
  } catch (error) {
    const reported = describeError(error, { debug: context.env.PRUNELAB_DEBUG === '1' });
    if (json) context.output.out(`${JSON.stringify(reported.json, null, 2)}\n`);
    context.output.err(`${reported.text}\n`);
    return reported.exitCode;
  } finally {
    await context.closeDevices?.();
  }
}

// Through npm's bin symlink argv[1] is the link, so compare real paths.
const invokedDirectly =
  process.argv[1] !== undefined &&
  realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1]);
if (invokedDirectly) {
  process.exitCode = await main(hideBin(process.argv), realContext(process.env));
}
