/**
 * Loading a configuration: text (or nothing) + CLI overrides -> validated, deep-frozen PrunelabConfig.
 * `loadConfig` is pure; `readConfigFile` is the only function here that touches the file system.
 * TODO(body)
 */
import type { PrunelabConfig } from './schema.ts';

/**
 * CLI flags that override the file. Values are applied before validation, so they are checked by the same
 * schema; issues on them are reported under the flag's name (`--schemes[1]`), not the YAML path.
 * Lists may be given as arrays or as one comma-separated string (`"dense,bcr"`); numbers as numbers or text.
 */
export interface ConfigOverrides {
  readonly models?: string | readonly string[];
  readonly schemes?: string | readonly string[];
  readonly blocks?: string | readonly string[];
  readonly sparsities?: string | readonly (number | string)[];
  readonly threads?: string | readonly (number | string)[];
  readonly seed?: number | string;
  readonly warmup?: number | string;
  readonly minReps?: number | string;
  readonly minTimeMs?: number | string;
  readonly maxReps?: number | string;
  readonly maxTimeMs?: number | string;
  readonly batchMaxCases?: number | string;
  readonly batchTargetMs?: number | string;
  readonly retries?: number | string;
  readonly maxConsecutiveFailures?: number | string;
  readonly caseTimeoutMs?: number | string;
  /** `--db FILE`: the store path. */
  readonly db?: string;
}

/**
 * `text` undefined means "no config file": the embedded defaults (config/defaults.ts) are used, then the
 * overrides. `sourceName` names the origin in messages (a path, or `defaults`).
 */
export function loadConfig(
  _text: string | undefined,
  _sourceName: string,
  _overrides: ConfigOverrides = {},
): PrunelabConfig {
  throw new Error('TODO: loadConfig');
}

/** Reads `path` (I/O) and loads it; a missing or unreadable file is a ConfigError with the OS error as cause. */
export async function loadConfigFile(_path: string, _overrides: ConfigOverrides = {}): Promise<PrunelabConfig> {
  throw new Error('TODO: loadConfigFile');
}
