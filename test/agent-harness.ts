/**
 * Runs the real agent binaries for the tests: builds them with make when missing or stale (make is
 * incremental, so this is cheap after `npm test`'s own build step) and runs them with a plan on stdin.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export type AgentTarget = 'host' | 'arm64';

const BINARIES: Record<AgentTarget, string> = {
  host: 'device-agent/build/host/prunelab-agent',
  arm64: 'device-agent/build/arm64-v8a/prunelab-agent',
};

const built = new Set<AgentTarget>();

export function buildAgent(target: AgentTarget): string {
  if (!built.has(target)) {
    // Test files run in parallel processes: flock (util-linux) keeps two of them from writing one binary at once.
    const make = spawnSync(
      'flock',
      [join(tmpdir(), 'prunelab-agent-make.lock'), 'make', '-s', '-C', 'device-agent', target],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    if (make.error)
      throw new Error(`could not run flock + make (Debian packages util-linux, make)`, { cause: make.error });
    if (make.status !== 0) {
      throw new Error(
        `make -C device-agent ${target} failed (exit ${make.status}):\n${make.stderr}${make.stdout}`,
      );
    }
    built.add(target);
  }
  return `${repoRoot}${BINARIES[target]}`;
}

export interface AgentRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout cut into lines, without the final empty one. */
  readonly lines: readonly string[];
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/** Runs the agent; arm64 goes through qemu-aarch64-static explicitly (binfmt_misc may not be mounted). */
export function runAgent(target: AgentTarget, args: readonly string[], options: RunOptions = {}): AgentRun {
  const binary = buildAgent(target);
  const [command, commandArgs] =
    target === 'arm64' ? ['qemu-aarch64-static', [binary, ...args]] : [binary, [...args]];
  const result = spawnSync(command, commandArgs, {
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  const lines = result.stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, lines };
}

/** A plan as the agent reads it: one JSON object per line. */
export function planText(lines: readonly (object | string)[]): string {
  return `${lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n')}\n`;
}

/** Fast sampling for tests: a few reps, a few milliseconds. */
export const QUICK = { warmup: 1, minReps: 3, minTimeMs: 1 } as const;
