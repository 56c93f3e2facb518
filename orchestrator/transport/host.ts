/**
 * The `host` transport: the agent runs on this machine's CPU. Used when no phone is attached, and as the
 * reference implementation of the Device port.
 *
 * Each command gets its own process group (`detached`), for two reasons: a terminal Ctrl-C reaches only the
 * orchestrator, which then decides when the agent stops (after its current case), and a timeout can kill
 * the command together with anything it started.
 */
import { chmod, copyFile, mkdir, rename } from 'node:fs/promises';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { CommandStartError, FileTransferError } from './errors.ts';
import type {
  Command,
  Device,
  DeviceIdentity,
  DeviceInfo,
  PushOptions,
  ShellOptions,
  ShellResult,
} from './port.ts';
import { STDERR_KEEP_BYTES } from './port.ts';

export interface HostDeviceOptions {
  /** Where pushed files go (the agent binary is copied there, so a rebuild never changes a running agent). */
  readonly workDir: string;
  readonly id?: string;
}

export function hostDeviceId(): string {
  return `host:${os.hostname()}`;
}

export function createHostDevice(options: HostDeviceOptions): Device {
  const identity: DeviceIdentity = { id: options.id ?? hostDeviceId(), kind: 'host', abi: 'host' };
  const workDir = resolve(options.workDir);
  return {
    identity,
    info: async () => hostInfo(identity, workDir),
    push: async (localPath, remotePath, pushOptions) =>
      hostPush(identity, localPath, remotePath, pushOptions),
    pull: async (remotePath, localPath) => hostCopy(identity, 'pull', remotePath, localPath),
    shell: async (command, shellOptions) => hostShell(identity, command, shellOptions),
  };
}

function hostInfo(identity: DeviceIdentity, workDir: string): DeviceInfo {
  const cpus = os.cpus();
  return {
    identity,
    model: cpus[0]?.model.trim() ?? 'unknown CPU',
    buildFingerprint: `${os.type()} ${os.release()} ${os.version()} ${os.arch()}`,
    cpuCount: os.availableParallelism(),
    workDir,
    details: {
      hostname: os.hostname(),
      platform: os.platform(),
      arch: os.arch(),
      totalMemBytes: os.totalmem(),
      cpuSpeedsMhz: cpus.map((cpu) => cpu.speed),
    },
  };
}

async function hostPush(
  identity: DeviceIdentity,
  localPath: string,
  remotePath: string,
  options: PushOptions,
): Promise<void> {
  const from = resolve(localPath);
  const to = resolve(remotePath);
  try {
    if (from === to) {
      await chmod(to, options.mode);
      return;
    }
    await mkdir(dirname(to), { recursive: true });
    // Copy then rename: replacing a binary that another sweep is running fails with ETXTBSY, a rename does not.
    const temporary = `${to}.${process.pid}.tmp`;
    await copyFile(from, temporary);
    await chmod(temporary, options.mode);
    await rename(temporary, to);
  } catch (error) {
    throw new FileTransferError(
      `could not copy ${from} to ${to} on ${identity.id}: ${(error as Error).message}`,
      { deviceId: identity.id, operation: 'push', detail: to },
      { transient: false, cause: error },
    );
  }
}

async function hostCopy(
  identity: DeviceIdentity,
  operation: 'pull',
  from: string,
  to: string,
): Promise<void> {
  try {
    await mkdir(dirname(resolve(to)), { recursive: true });
    await copyFile(from, to);
  } catch (error) {
    throw new FileTransferError(
      `could not ${operation} ${from} to ${to} on ${identity.id}: ${(error as Error).message}`,
      { deviceId: identity.id, operation, detail: from },
      { transient: false, cause: error },
    );
  }
}

/** Keeps the tail of a stream: a crash message is at the end, and a chatty command must not fill memory. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private sizeBytes = 0;

  constructor(private readonly limitBytes: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.sizeBytes += chunk.length;
    while (this.sizeBytes > this.limitBytes && this.chunks.length > 1) {
      const dropped = this.chunks.shift();
      this.sizeBytes -= dropped?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limitBytes)).toString('utf8');
  }
}

async function hostShell(
  identity: DeviceIdentity,
  command: Command,
  options: ShellOptions,
): Promise<ShellResult> {
  const [file, ...args] = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
  const startedMs = performance.now();
  const streamLines = options.onStdoutLine !== undefined;
  const child = execa(file, args, {
    input: options.stdin ?? '',
    reject: false,
    detached: true,
    buffer: { stdout: !streamLines, stderr: false },
    stripFinalNewline: false,
    encoding: 'utf8',
    ...(options.env === undefined ? {} : { env: options.env }),
  });

  let timedOut = false;
  let aborted = false;
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is already gone: nothing left to stop.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, options.timeoutMs);
  const onAbort = (): void => {
    aborted = true;
    killGroup();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const stderr = new TailBuffer(STDERR_KEEP_BYTES);
  child.stderr?.on('data', (chunk: Buffer | string) => {
    stderr.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  });
  let linesDone: Promise<void> = Promise.resolve();
  const onLine = options.onStdoutLine;
  if (onLine !== undefined && child.stdout !== null) {
    const reader = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    reader.on('line', onLine);
    linesDone = new Promise((resolveDone) => reader.once('close', () => resolveDone()));
  }

  try {
    const result = await child;
    await linesDone;
    if (result.failed && result.exitCode === undefined && result.signal === undefined) {
      throw new CommandStartError(
        `could not start ${file} on ${identity.id}: ${result.shortMessage}`,
        { deviceId: identity.id, operation: 'shell', detail: file },
        { cause: result.cause },
      );
    }
    return {
      stdout: streamLines ? '' : String(result.stdout ?? ''),
      stderr: stderr.text(),
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut,
      aborted,
      durationMs: performance.now() - startedMs,
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
