/**
 * The one file read of config/: `--config PATH` -> loadConfig. Kept apart so that everything else in
 * config/ stays pure and testable with literal text.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.ts';
import { type ConfigOverrides, loadConfig } from './load.ts';
import type { PrunelabConfig } from './schema.ts';

/**
 * Reads and loads `path`; with `path` undefined, loads the embedded defaults (source `defaults`).
 * A missing or unreadable file is a ConfigError whose cause is the OS error.
 */
export async function loadConfigFile(
  path: string | undefined,
  overrides: ConfigOverrides = {},
): Promise<PrunelabConfig> {
  if (path === undefined) return loadConfig(undefined, 'defaults', overrides);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      path,
      [
        {
          path: '--config',
          expected:
            'a readable YAML file (see config/README.md), or no --config to use the embedded defaults',
          found: `${code === 'ENOENT' ? 'no such file' : 'an unreadable file'} (${code})`,
        },
      ],
      { cause: error },
    );
  }
  return loadConfig(text, path, overrides);
}
