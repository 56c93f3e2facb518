/**
 * The virtual phone's options: normalised once, one validator per option, messages of the form
 * "expected X, got Y" naming the option (and its CLI flag). Pure.
 */
import { PhoneOptionError } from './errors.ts';
import { compileHangPattern, type InitialFaults } from './faults.ts';
import { isPropertyName, PHONE_ABIS, type PhoneAbi } from './properties.ts';
import { DEFAULT_POWER_STATE, type PowerState } from './sysfs.ts';
import { DEFAULT_THERMAL_PARAMS, type ThermalParams } from './thermal.ts';

/** How an arm64 phone runs aarch64 binaries: a private binfmt_misc (any invocation), or rewriting the
 * command line (only words in command position); `auto` tries binfmt first. */
export type Arm64Launch = 'auto' | 'binfmt' | 'prefix';

export interface VirtualPhoneOptions {
  readonly abi: string;
  /** ro.product.model, shown by `adb devices -l`. */
  readonly model: string;
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Address to listen on; 127.0.0.1 by default. */
  readonly host?: string;
  /** Host folder behind /data/local/tmp; a fresh temporary folder (removed by stop()) when absent. */
  readonly sandboxDir?: string;
  /** Extra or replacement system properties. */
  readonly properties?: Readonly<Record<string, string>>;
  readonly thermal?: Partial<ThermalParams>;
  /** CPU temperature at start (°C); the resting temperature when absent. */
  readonly temperatureC?: number;
  readonly power?: Partial<PowerState>;
  readonly faults?: InitialFaults;
  /** The CNXN maxdata advertised (largest packet the host may send us). */
  readonly maxPayloadBytes?: number;
  /** How often the fake sysfs is refreshed from the thermal model. */
  readonly thermalTickMs?: number;
  readonly arm64Launch?: Arm64Launch;
  /**
   * Let jobs a command detaches (`setsid CMD &`) outlive it, as on a real phone, instead of dying with the
   * command's PID namespace. Off by default; `stop()` still kills them. The Appium transport needs it.
   */
  readonly detachedJobs?: boolean;
  /**
   * Expose the host's OpenCL (PoCL here) to the phone's commands the way a phone ships it: the ICD loader at
   * /vendor/lib64/libOpenCL.so, and the host's own libOpenCL names hidden, so the agent finds it only by the
   * vendor path. Default: on for x86_64 phones when the host has OpenCL, off for arm64 (an aarch64 agent
   * cannot load the host's x86_64 library). `false` is a phone without a GPU driver.
   */
  readonly opencl?: boolean;
  /** Diagnostics (protocol errors, chosen arm64 launch mode). */
  readonly log?: (line: string) => void;
}

export interface ResolvedPhoneOptions {
  readonly abi: PhoneAbi;
  readonly model: string;
  readonly port: number;
  readonly host: string;
  readonly sandboxDir: string | undefined;
  readonly properties: Readonly<Record<string, string>>;
  readonly thermal: ThermalParams;
  readonly temperatureC: number | undefined;
  readonly power: PowerState;
  readonly faults: InitialFaults;
  readonly maxPayloadBytes: number;
  readonly thermalTickMs: number;
  readonly arm64Launch: Arm64Launch;
  readonly detachedJobs: boolean;
  /** undefined = the default for the ABI (see VirtualPhoneOptions.opencl). */
  readonly opencl: boolean | undefined;
  readonly log: (line: string) => void;
}

/** adbd's MAX_PAYLOAD is 1 MiB; a quarter keeps each WRTE's buffer small while loopback stays fast. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;
/** adb's own floor (MAX_PAYLOAD_V1). */
const MIN_MAX_PAYLOAD_BYTES = 4096;

/** Option names as the CLI spells them, for messages. */
const FLAGS: Readonly<Record<string, string>> = {
  abi: '--abi',
  model: '--model',
  port: '--port',
  sandboxDir: '--sandbox',
  temperatureC: '--temperature-c',
  'faults.dropAfterBytes': '--drop-after-bytes',
  'faults.dropAfterMs': '--drop-after-ms',
  'faults.hangCommands': '--hang-commands',
  'thermal.restingC': '--resting-c',
  'thermal.heatingCPerS': '--heating-c-per-s',
  'thermal.coolingTauS': '--cooling-tau-s',
};

function fail(option: string, expected: string, found: unknown): never {
  const flag = FLAGS[option];
  const where = flag === undefined ? option : `${option} (${flag})`;
  const shown = typeof found === 'string' ? JSON.stringify(found) : String(found);
  throw new PhoneOptionError(`virtual phone option ${where}: expected ${expected}, got ${shown}`, {
    option,
    found: shown,
  });
}

function integerIn(
  option: string,
  value: number | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max)
    fail(option, `an integer from ${min} to ${max}`, value);
  return value;
}

function finite(
  option: string,
  value: number | undefined,
  fallback: number,
  min = Number.NEGATIVE_INFINITY,
): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min)
    fail(option, min === Number.NEGATIVE_INFINITY ? 'a number' : `a number >= ${min}`, value);
  return value;
}

export function resolvePhoneOptions(options: VirtualPhoneOptions): ResolvedPhoneOptions {
  if (!(PHONE_ABIS as readonly string[]).includes(options.abi))
    fail('abi', `one of ${PHONE_ABIS.join(', ')}`, options.abi);
  if (typeof options.model !== 'string' || options.model.trim() === '' || /[;\n]/.test(options.model)) {
    fail(
      'model',
      'a non-empty model name without ";" or newlines (it goes into the CNXN banner)',
      options.model,
    );
  }
  for (const key of Object.keys(options.properties ?? {})) {
    if (!isPropertyName(key)) fail(`properties.${key}`, 'a property name of letters, digits and ._-:@', key);
  }
  const thermalIn = options.thermal ?? {};
  const thermal: ThermalParams = {
    restingC: finite('thermal.restingC', thermalIn.restingC, DEFAULT_THERMAL_PARAMS.restingC),
    heatingCPerS: finite(
      'thermal.heatingCPerS',
      thermalIn.heatingCPerS,
      DEFAULT_THERMAL_PARAMS.heatingCPerS,
      0,
    ),
    coolingTauS: finite(
      'thermal.coolingTauS',
      thermalIn.coolingTauS,
      DEFAULT_THERMAL_PARAMS.coolingTauS,
      0.001,
    ),
    maxC: finite('thermal.maxC', thermalIn.maxC, DEFAULT_THERMAL_PARAMS.maxC),
    throttleC: finite('thermal.throttleC', thermalIn.throttleC, DEFAULT_THERMAL_PARAMS.throttleC),
    throttledFreqShare: finite(
      'thermal.throttledFreqShare',
      thermalIn.throttledFreqShare,
      DEFAULT_THERMAL_PARAMS.throttledFreqShare,
      0.01,
    ),
  };
  const powerIn = options.power ?? {};
  const power: PowerState = {
    screenOn: powerIn.screenOn ?? DEFAULT_POWER_STATE.screenOn,
    charging: powerIn.charging ?? DEFAULT_POWER_STATE.charging,
    batteryLevel: integerIn(
      'power.batteryLevel',
      powerIn.batteryLevel,
      0,
      100,
      DEFAULT_POWER_STATE.batteryLevel,
    ),
  };
  const faultsIn = options.faults ?? {};
  const faults: InitialFaults = {
    ...(faultsIn.dropAfterBytes === undefined
      ? {}
      : {
          dropAfterBytes: integerIn(
            'faults.dropAfterBytes',
            faultsIn.dropAfterBytes,
            1,
            Number.MAX_SAFE_INTEGER,
            0,
          ),
        }),
    ...(faultsIn.dropAfterMs === undefined
      ? {}
      : { dropAfterMs: integerIn('faults.dropAfterMs', faultsIn.dropAfterMs, 0, 2 ** 31 - 1, 0) }),
    ...(faultsIn.hangCommands === undefined
      ? {}
      : { hangCommands: compileHangPattern(faultsIn.hangCommands, 'faults.hangCommands (--hang-commands)') }),
    ...(faultsIn.diskFull === undefined ? {} : { diskFull: faultsIn.diskFull }),
  };
  const arm64Launch = options.arm64Launch ?? 'auto';
  if (!['auto', 'binfmt', 'prefix'].includes(arm64Launch))
    fail('arm64Launch', 'auto, binfmt or prefix', arm64Launch);
  return Object.freeze({
    abi: options.abi as PhoneAbi,
    model: options.model.trim(),
    port: integerIn('port', options.port, 0, 65535, 0),
    host: options.host ?? '127.0.0.1',
    sandboxDir: options.sandboxDir,
    properties: { ...options.properties },
    thermal,
    temperatureC:
      options.temperatureC === undefined ? undefined : finite('temperatureC', options.temperatureC, 0),
    power,
    faults,
    maxPayloadBytes: integerIn(
      'maxPayloadBytes',
      options.maxPayloadBytes,
      MIN_MAX_PAYLOAD_BYTES,
      1024 * 1024,
      DEFAULT_MAX_PAYLOAD_BYTES,
    ),
    thermalTickMs: integerIn('thermalTickMs', options.thermalTickMs, 10, 60_000, 250),
    arm64Launch,
    detachedJobs: options.detachedJobs === true,
    opencl: options.opencl,
    log: options.log ?? (() => undefined),
  });
}
