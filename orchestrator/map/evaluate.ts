/**
 * `--evaluate "CMD"`: real accuracy instead of the proxy. The command is run through the shell with the
 * mapping file's path appended as its last argument, and must print a JSON object with a numeric `accuracy`
 * on its last stdout line. When the model is an ONNX file, the mapping is first applied to it (as `prunelab
 * prune` does) and the command finds the files in its environment (`hookFiles` below), to fine-tune in its own
 * framework. Results are cached by (command, mapping choices) in a JSON file beside the mapping,
 * so re-running a map that chose the same layers does not retrain or re-evaluate.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { runPrune } from '../prune/run-prune.ts';
import { EvaluateError } from './errors.ts';

export interface Evaluation {
  readonly accuracy: number;
  readonly command: string;
  readonly cached: boolean;
}

type Cache = Record<string, { accuracy: number; at: string }>;

async function readCache(path: string): Promise<Cache> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Cache;
  } catch {
    return {}; // no cache yet (or an unreadable one, rebuilt on write)
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** Parses the command's output: the last non-empty line must be {"accuracy": number}. */
export function parseAccuracy(stdout: string, command: string): number {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let value: unknown;
  try {
    value = JSON.parse(last);
  } catch (error) {
    throw new EvaluateError(
      `--evaluate: expected the command to print {"accuracy": <number>} on its last line; got ${JSON.stringify(last.slice(0, 200))}`,
      { command },
      { kind: 'input', cause: error },
    );
  }
  const accuracy = (value as { accuracy?: unknown } | null)?.accuracy;
  if (typeof accuracy !== 'number' || !Number.isFinite(accuracy)) {
    throw new EvaluateError(
      `--evaluate: expected a finite number in "accuracy"; got ${JSON.stringify(last.slice(0, 200))}`,
      { command },
      { kind: 'input' },
    );
  }
  return accuracy;
}

/**
 * The environment of the `--evaluate` command. Always PRUNELAB_MAPPING (the mapping file, also the last
 * argument) and PRUNELAB_MODEL (the --model value). For an ONNX model also the mapping applied to it, written
 * beside the mapping (MAPPING.json -> MAPPING.pruned.onnx, MAPPING.masks.npz, MAPPING.masks.json):
 * PRUNELAB_PRUNED_ONNX, PRUNELAB_MASKS_NPZ (one boolean array per weight in its own shape) and
 * PRUNELAB_MASKS_JSON (scheme, block, sparsity and density per layer).
 */
export async function hookFiles(
  model: { readonly path: string; readonly source: 'built-in' | 'onnx' },
  mappingPath: string,
): Promise<Record<string, string>> {
  const env: Record<string, string> = { PRUNELAB_MAPPING: resolve(mappingPath), PRUNELAB_MODEL: model.path };
  if (model.source !== 'onnx') return env;
  const stem = resolve(mappingPath).replace(/\.json$/, '');
  const report = await runPrune({
    modelPath: model.path,
    mappingPath,
    outPath: `${stem}.pruned.onnx`,
    masksPath: `${stem}.masks.npz`,
  });
  return {
    ...env,
    PRUNELAB_MODEL: resolve(model.path),
    PRUNELAB_PRUNED_ONNX: resolve(report.out),
    PRUNELAB_MASKS_NPZ: resolve(report.masks ?? ''),
    PRUNELAB_MASKS_JSON: resolve(report.sidecar ?? ''),
  };
}

export async function evaluateMapping(
  command: string,
  mappingPath: string,
  choiceHash: string,
  cachePath: string,
  now: () => Date = () => new Date(),
  env: Readonly<Record<string, string>> = {},
): Promise<Evaluation> {
  const key = `${command}\u0000${choiceHash}`;
  const cache = await readCache(cachePath);
  const hit = cache[key];
  if (hit !== undefined) return { accuracy: hit.accuracy, command, cached: true };
  const result = await execa(`${command} ${shellQuote(mappingPath)}`, {
    shell: true,
    reject: false,
    env: { ...env },
  });
  if (result.exitCode !== 0) {
    throw new EvaluateError(
      `--evaluate: \`${command}\` exited with ${result.exitCode ?? result.signal}; stderr: ${String(result.stderr).trim().slice(-300) || '(empty)'}`,
      { command, exitCode: result.exitCode ?? null },
    );
  }
  const accuracy = parseAccuracy(String(result.stdout), command);
  cache[key] = { accuracy, at: now().toISOString() };
  await writeFile(cachePath, `${JSON.stringify(cache, null, 2)}\n`);
  return { accuracy, command, cached: false };
}
