/**
 * `--evaluate "CMD"`: real accuracy instead of the proxy. The command is run through the shell with the
 * mapping file's path appended as its last argument, and must print a JSON object with a numeric `accuracy`
 * on its last stdout line. Results are cached by (command, mapping choices) in a JSON file beside the mapping,
 * so re-running a map that chose the same layers does not retrain or re-evaluate.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
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

export async function evaluateMapping(
  command: string,
  mappingPath: string,
  choiceHash: string,
  cachePath: string,
  now: () => Date = () => new Date(),
): Promise<Evaluation> {
  const key = `${command}\u0000${choiceHash}`;
  const cache = await readCache(cachePath);
  const hit = cache[key];
  if (hit !== undefined) return { accuracy: hit.accuracy, command, cached: true };
  const result = await execa(`${command} ${shellQuote(mappingPath)}`, { shell: true, reject: false });
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
