/**
 * The one file read of config/: `--config PATH` -> loadConfig. Kept apart so that everything else in
 * config/ stays pure and testable with literal text.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { type ConfigOverrides, deepFreeze, loadConfig } from './load.ts';
import { isOnnxPath } from './models/index.ts';
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
  return withModelPathsFrom(dirname(resolve(path)), loadConfig(text, path, overrides));
}

/**
 * `sweep.models: [./nets/mine.onnx]` in a file means relative to that file (not to wherever prunelab runs);
 * the CLI makes its own `--model` paths absolute first, so only the file's relative ONNX paths change here.
 */
function withModelPathsFrom(folder: string, config: PrunelabConfig): PrunelabConfig {
  const models = config.sweep.models.map((entry) =>
    isOnnxPath(entry) && !isAbsolute(entry) ? resolve(folder, entry) : entry,
  );
  if (models.every((entry, index) => entry === config.sweep.models[index])) return config;
  return deepFreeze({ ...structuredClone(config), sweep: { ...structuredClone(config.sweep), models } });
}
