/**
 * The `prunelab.yaml` schema: raw YAML (or flags merged into it) in, a validated PrunelabConfig out.
 * TODO(body): zod 4 schema + issue translation.
 */
import type { SweepSpec } from './types.ts';

/** How the planner cuts a sweep into agent calls. */
export interface BatchPolicy {
  /** At most this many cases per agent call. */
  readonly maxCases: number;
  /** Stop adding cases to a batch once its estimated duration reaches this. */
  readonly targetMs: number;
}

export interface SweepConfig extends SweepSpec {
  readonly batch: BatchPolicy;
}

export interface HostDeviceConfig {
  readonly enabled: boolean;
}

/** Placeholder (issue "ADB transport"): adb servers to ask for devices, as `host:port`. */
export interface AdbDevicesConfig {
  readonly servers: readonly string[];
}

/** Placeholder (issue "Appium transport"): one Appium server and the capabilities of its session. */
export interface AppiumDeviceConfig {
  readonly name: string;
  readonly url: string;
  readonly capabilities: Readonly<Record<string, unknown>>;
}

export interface DevicesConfig {
  readonly host: HostDeviceConfig;
  readonly adb: AdbDevicesConfig;
  readonly appium: readonly AppiumDeviceConfig[];
}

export interface SchedulerConfig {
  /** Retries of a case after a transient error (FAI-PEP anchor: 3). */
  readonly retries: number;
  /** A run stops after this many failed cases in a row on one device. */
  readonly maxConsecutiveFailures: number;
  /** A case that takes longer than this is killed and recorded as failed (FAI-PEP anchor: 300 s). */
  readonly caseTimeoutMs: number;
}

export interface StoreConfig {
  /** SQLite file, relative to the working directory. */
  readonly path: string;
}

export interface PrunelabConfig {
  readonly sweep: SweepConfig;
  readonly devices: DevicesConfig;
  readonly scheduler: SchedulerConfig;
  readonly store: StoreConfig;
}

/**
 * Validates a raw object (parsed YAML with flags merged in) and returns the config, not yet frozen.
 * `flagPaths` maps config paths that came from CLI flags to the flag's name, so issues say `--schemes[1]`.
 * Throws ConfigError listing every issue.
 */
export function validateConfig(
  _raw: unknown,
  _sourceName: string,
  _flagPaths?: ReadonlyMap<string, string>,
): PrunelabConfig {
  throw new Error('TODO: validateConfig');
}
