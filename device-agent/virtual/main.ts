/**
 * `prunelab virtual-phone` (and this file run directly): start one virtual phone and keep it up until
 * SIGINT/SIGTERM.
 *
 *   node --import tsx device-agent/virtual/main.ts --port 5555 --abi arm64-v8a --model "Pixel 7"
 *   adb connect 127.0.0.1:5555
 *
 * The CLI registers it with one line: `.options(VIRTUAL_PHONE_FLAGS)` and a handler that calls
 * `runVirtualPhone(args)`. It prints one JSON line on stdout once listening (port, serial, folders).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { VirtualPhoneOptions } from './options.ts';
import { startVirtualPhone } from './phone.ts';
import { PHONE_ABIS } from './properties.ts';

export const VIRTUAL_PHONE_FLAGS = {
  port: { type: 'number', default: 5555, describe: 'TCP port to listen on (0 = any free port)' },
  host: { type: 'string', default: '127.0.0.1', describe: 'address to listen on' },
  abi: {
    choices: PHONE_ABIS,
    demandOption: true,
    describe: 'ABI the phone reports; arm64-v8a runs aarch64 binaries under qemu',
  },
  model: { type: 'string', demandOption: true, describe: 'ro.product.model, shown by adb devices -l' },
  sandbox: { type: 'string', describe: 'host folder behind /data/local/tmp (default: a temporary folder)' },
  'drop-after-bytes': { type: 'number', describe: 'fault: reset the connection once, after N bytes' },
  'drop-after-ms': { type: 'number', describe: 'fault: reset the connection once, N ms after it is up' },
  'hang-commands': {
    type: 'string',
    describe: 'fault: commands matching this regular expression never exit until killed',
  },
  'temperature-c': {
    type: 'number',
    describe: 'CPU temperature at start (°C); it decays towards --resting-c',
  },
  'resting-c': { type: 'number', describe: 'temperature of an idle phone (°C, default 25)' },
  'heating-c-per-s': { type: 'number', describe: 'warming per running command (°C/s, default 0.3)' },
  'cooling-tau-s': { type: 'number', describe: 'cooling time constant (s, default 10)' },
  'disk-full': {
    type: 'boolean',
    default: false,
    describe: 'fault: pushes and new files in /data/local/tmp fail with ENOSPC',
  },
} as const;

export interface VirtualPhoneFlags {
  readonly port: number;
  readonly host: string;
  readonly abi: string;
  readonly model: string;
  readonly sandbox?: string | undefined;
  readonly dropAfterBytes?: number | undefined;
  readonly dropAfterMs?: number | undefined;
  readonly hangCommands?: string | undefined;
  readonly temperatureC?: number | undefined;
  readonly restingC?: number | undefined;
  readonly heatingCPerS?: number | undefined;
  readonly coolingTauS?: number | undefined;
  readonly diskFull?: boolean | undefined;
}

function defined<T extends object>(record: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as never;
}

/** Flags (as yargs parsed them) -> phone options. Validation happens in startVirtualPhone. */
export function phoneOptionsFromFlags(
  flags: VirtualPhoneFlags,
  log?: (line: string) => void,
): VirtualPhoneOptions {
  return {
    abi: flags.abi,
    model: flags.model,
    port: flags.port,
    host: flags.host,
    ...defined({ sandboxDir: flags.sandbox, temperatureC: flags.temperatureC, log }),
    thermal: defined({
      restingC: flags.restingC,
      heatingCPerS: flags.heatingCPerS,
      coolingTauS: flags.coolingTauS,
    }),
    faults: defined({
      dropAfterBytes: flags.dropAfterBytes,
      dropAfterMs: flags.dropAfterMs,
      hangCommands: flags.hangCommands,
      diskFull: flags.diskFull,
    }),
  };
}

export interface RunVirtualPhoneIo {
  readonly out?: (text: string) => void;
  readonly err?: (text: string) => void;
  /** Stops the phone when aborted; by default SIGINT and SIGTERM do. */
  readonly signal?: AbortSignal;
}

export async function runVirtualPhone(flags: VirtualPhoneFlags, io: RunVirtualPhoneIo = {}): Promise<void> {
  const out = io.out ?? ((text: string) => process.stdout.write(text));
  const err = io.err ?? ((text: string) => process.stderr.write(text));
  const phone = await startVirtualPhone(
    phoneOptionsFromFlags(flags, (line) => err(`virtual-phone: ${line}\n`)),
  );
  out(
    `${JSON.stringify({
      event: 'listening',
      port: phone.port,
      serial: phone.serial,
      abi: phone.abi,
      model: phone.model,
      sandboxDir: phone.sandboxDir,
      sysfsDir: phone.sysfsDir,
      arm64Launch: phone.arm64Launch,
      connect: `adb connect ${phone.serial}`,
      control: 'adb -s SERIAL shell prunelab-fault status',
    })}\n`,
  );
  await new Promise<void>((resolve) => {
    if (io.signal !== undefined) {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await phone.stop();
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(fileURLToPath(import.meta.url)) === realpathSync(script);
  } catch {
    return false; // `node -e`, a REPL: no script path to compare
  }
}

const invokedDirectly = isEntryPoint();
if (invokedDirectly) {
  const flags = await yargs(hideBin(process.argv))
    .scriptName('virtual-phone')
    .usage(
      '$0 --abi x86_64|arm64-v8a --model NAME [--port P] [faults]\n\nThe device side of ADB over TCP, for `adb connect 127.0.0.1:P`.',
    )
    .options(VIRTUAL_PHONE_FLAGS)
    .strict()
    .help()
    .version(false)
    .parseAsync();
  try {
    await runVirtualPhone(flags);
  } catch (error) {
    process.stderr.write(`virtual-phone: ${(error as Error).message}\n`);
    process.exitCode = (error as Error).name === 'PhoneOptionError' ? 2 : 1;
  }
}
