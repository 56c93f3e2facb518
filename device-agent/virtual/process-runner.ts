/**
 * Runs phone commands as host processes (the Node adapter behind the CommandRunner port). Each command is
 * its own process group (spawned detached) and, through bubblewrap, its own PID namespace, so killing the
 * group takes every child with it, even ones that called setsid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { CommandRunner, RunningCommand } from './ports.ts';

/** How long the leader gets to exit on its own once the rest of its group was killed. */
const LEADER_GRACE_MS = 200;

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // ESRCH: already gone.
  }
}

/** Process ids in a process group, from /proc (field 5 of /proc/PID/stat is the group). Linux only, as bwrap is. */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: fields resume after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) members.push(Number(name));
    } catch {
      // gone while we looked
    }
  }
  return members;
}

/** Kills every process whose environment holds `name=value` (jobs that left their command's group). */
export function killTaggedProcesses(name: string, value: string): void {
  const entry = `${name}=${value}`;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry))
        signal(Number(pid), 'SIGKILL');
    } catch {
      // gone while we looked, or not ours to read
    }
  }
}

export interface SpawnPlan {
  readonly argv: readonly [string, ...string[]];
  /** Bytes to write to extra file descriptors 3, 4, ... (then closed), e.g. bwrap's `--file FD`. */
  readonly extraInputs?: readonly Uint8Array[];
}

export interface ProcessRunnerOptions {
  /** Turns a command line (undefined = interactive shell) into what to spawn. */
  readonly plan: (commandLine: string | undefined) => SpawnPlan;
  readonly env: Readonly<Record<string, string>>;
  /** Told when a command starts and when it has exited (the thermal model counts running commands). */
  readonly onStart?: () => void;
  readonly onExit?: () => void;
}

export interface ProcessRunner extends CommandRunner {
  /** Process group ids of the commands still running. */
  liveProcessGroups(): readonly number[];
  killAll(): void;
}

export function createProcessRunner(options: ProcessRunnerOptions): ProcessRunner {
  const live = new Map<number, ChildProcess>();

  function killGroup(child: ChildProcess): void {
    const leader = child.pid;
    if (leader === undefined || child.exitCode !== null || child.signalCode !== null) return;
    // The members first, the leader (the outer bwrap) last: it then reaps the sandbox's init itself. Killed
    // together, that init is reparented to PID 1 and lingers as a zombie until PID 1 gets round to it.
    for (const pid of processGroupMembers(leader)) {
      if (pid !== leader) signal(pid, 'SIGKILL');
    }
    const leaderGrace = setTimeout(() => signal(-leader, 'SIGKILL'), LEADER_GRACE_MS);
    leaderGrace.unref();
    child.once('exit', () => clearTimeout(leaderGrace));
  }

  return {
    start(commandLine): RunningCommand {
      const plan = options.plan(commandLine);
      const extra = plan.extraInputs ?? [];
      const child = spawn(plan.argv[0], plan.argv.slice(1), {
        detached: true,
        env: { ...options.env },
        stdio: ['pipe', 'pipe', 'pipe', ...extra.map(() => 'pipe' as const)],
      });
      extra.forEach((bytes, index) => {
        const input = child.stdio[3 + index] as Writable | null;
        input?.on('error', () => undefined);
        input?.end(bytes);
      });
      child.stdin?.on('error', () => undefined);
      options.onStart?.();
      const exited = new Promise<void>((resolve) => {
        let settled = false;
        const settle = (): void => {
          if (settled) return;
          settled = true;
          if (child.pid !== undefined) live.delete(child.pid);
          options.onExit?.();
          resolve();
        };
        child.once('exit', settle);
        child.once('error', settle);
      });
      if (child.pid !== undefined) live.set(child.pid, child);
      const stderrChunks: Uint8Array[] = [];
      child.stderr?.on('data', (chunk: Buffer) => stderrChunks.push(chunk));
      const spawnError = new Promise<Error | undefined>((resolve) => {
        child.once('error', (error) => resolve(error));
        child.once('spawn', () => resolve(undefined));
      });

      async function* output(): AsyncGenerator<Uint8Array> {
        const failure = await spawnError;
        if (failure !== undefined) {
          yield new TextEncoder().encode(`/bin/sh: ${failure.message}\n`);
          return;
        }
        if (child.stdout !== null) yield* child.stdout as AsyncIterable<Uint8Array>;
        // The command's own stderr is merged into stdout; this pipe only carries bwrap's or unshare's errors.
        await exited;
        yield* stderrChunks;
      }

      return {
        output: output(),
        exited,
        writeInput(bytes) {
          const stdin = child.stdin;
          if (stdin === null || stdin.destroyed || !stdin.writable) return Promise.resolve();
          return new Promise((resolve) => {
            if (stdin.write(bytes)) resolve();
            else stdin.once('drain', resolve).once('close', resolve);
          });
        },
        kill() {
          killGroup(child);
          child.stdin?.destroy();
        },
      };
    },

    liveProcessGroups() {
      return [...live.keys()];
    },

    killAll() {
      for (const child of live.values()) {
        // At shutdown there is no time to be gentle: the whole group at once.
        if (child.pid !== undefined) signal(-child.pid, 'SIGKILL');
      }
    },
  };
}
