/**
 * Host tools the phone depends on, found and tried once at start so that a missing or broken tool is a
 * clear error then, not a silent hang at the first command.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PhoneToolError } from './errors.ts';

export function findOnPath(name: string, pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVariable.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function requireTool(name: string, debianPackage: string, why: string): string {
  const path = findOnPath(name);
  if (path === undefined) {
    throw new PhoneToolError(
      `the virtual phone needs ${name} (${why}); none on PATH. Install it: apt-get install ${debianPackage}`,
      {
        tool: name,
        debianPackage,
      },
    );
  }
  return path;
}

export interface ProbeResult {
  readonly exitCode: number | null;
  readonly output: string;
}

/** Runs a short command to completion (at most timeoutMs), returning its exit code and merged output. */
export function probe(
  argv: readonly [string, ...string[]],
  options: { readonly timeoutMs?: number; readonly input?: readonly Uint8Array[] } = {},
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const extra = options.input ?? [];
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe', ...extra.map(() => 'pipe' as const)],
    });
    extra.forEach((bytes, index) => {
      const stream = child.stdio[3 + index];
      if (stream !== null && stream !== undefined && 'end' in stream) stream.end(bytes);
    });
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ exitCode: null, output: error.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, output: Buffer.concat(chunks).toString('utf8').trim() });
    });
  });
}
