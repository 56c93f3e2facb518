/**
 * The adb transport's Device: one phone behind one adb server, through the adbkit adapter
 * (adbkit-client.ts). Files go over the sync service; commands run wrapped (shell-script.ts) so that the
 * exit code, stderr and the remote PID come back over shell v1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { dirname, posix, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { sleepUnlessAborted } from '../../sleep.ts';
import { CommandStartError, DeviceUnavailableError, FileTransferError, TransportError } from '../errors.ts';
import type {
  Command,
  Device,
  DeviceIdentity,
  DeviceInfo,
  PushOptions,
  ShellOptions,
  ShellResult,
} from '../port.ts';
import type { AdbServerClient } from './adbkit-client.ts';
import { classifyAdbFailure, errorMessage } from './classify.ts';
import { CPU_FREQS_COMMAND, clustersFromFreqs, identityDetails, parseCpuFreqs } from './identity.ts';
import { canInlineStdin, killCommand, shellQuote, WrappedOutputParser, wrapCommand } from './shell-script.ts';

/** Where the orchestrator keeps its files on a phone: the one place a `shell` user may write and execute. */
export const DEFAULT_DEVICE_WORK_DIR = '/data/local/tmp/prunelab';

export interface AdbDeviceOptions {
  readonly client: AdbServerClient;
  readonly serial: string;
  /** ro.product.cpu.abi, read at discovery: the agent build to push. */
  readonly abi: string;
  readonly workDir?: string;
  /** How often `waitUntilReachable` asks the server about the device. */
  readonly pollMs?: number;
  /** Ask the server to `adb connect` again a TCP device (HOST:PORT serial) that went away. */
  readonly reconnectTcp?: boolean;
}

/** A Device that can also wait for its phone to come back after a disconnect. */
export interface AdbDevice extends Device {
  readonly serial: string;
  waitUntilReachable(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

/** Longest wait for the remote kill after a timeout: the result should not hang on a dead link. */
const KILL_WAIT_MS = 3_000;
const DEFAULT_POLL_MS = 500;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function signalName(exitCode: number): string | null {
  if (exitCode <= 128 || exitCode > 128 + 64) return null;
  const entry = Object.entries(osConstants.signals).find(([, number]) => number === exitCode - 128);
  return entry?.[0] ?? null;
}

/**
 * The agent build a phone ABI takes. There is no Android x86_64 make target yet, so an x86_64 device (an
 * emulator, the virtual phone) on an x86_64 host gets the host build: right for the virtual phone, which
 * runs host binaries; a real x86_64 emulator may lack the host's CPU features (-march=native).
 */
export function agentAbiFor(deviceAbi: string, hostArch: string = process.arch): string {
  if (deviceAbi === 'x86_64' && hostArch === 'x64') return 'host';
  return deviceAbi;
}

export function createAdbDevice(options: AdbDeviceOptions): AdbDevice {
  const { client, serial } = options;
  const workDir = options.workDir ?? DEFAULT_DEVICE_WORK_DIR;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const identity: DeviceIdentity = { id: serial, kind: 'adb', abi: agentAbiFor(options.abi) };

  const transportError = (
    operation: 'info' | 'push' | 'pull' | 'shell',
    what: string,
    error: unknown,
    detail?: string,
  ): TransportError => {
    const message = errorMessage(error);
    const data = { deviceId: serial, operation, ...(detail === undefined ? {} : { detail }) };
    const failure = classifyAdbFailure(message);
    switch (failure.kind) {
      case 'unavailable':
        return new DeviceUnavailableError(
          `${what} on ${serial}: the device is not reachable (${message}); check \`adb -P ${client.address.port} devices\` and the cable or network`,
          data,
          { cause: error },
        );
      case 'no-space':
        return new FileTransferError(
          `${what} on ${serial}: no space left on the device (${message}); free space under ${workDir} (e.g. \`adb -s ${serial} shell rm -rf ${workDir}\`), then resume the sweep`,
          data,
          { transient: false, cause: error },
        );
      case 'permission':
        return new FileTransferError(
          `${what} on ${serial}: permission denied (${message}); the shell user can write only under /data/local/tmp (devices.adb.workDir)`,
          data,
          { transient: false, cause: error },
        );
      default:
        return operation === 'push' || operation === 'pull'
          ? new FileTransferError(`${what} on ${serial}: ${message}`, data, {
              transient: false,
              cause: error,
            })
          : new TransportError(`${what} on ${serial}: ${message}`, data, { transient: false, cause: error });
    }
  };

  const openShell = async (command: string): Promise<Duplex> => {
    try {
      return await client.shell(serial, command);
    } catch (error) {
      throw transportError('shell', 'cannot start a shell', error);
    }
  };

  async function shell(command: Command, shellOptions: ShellOptions): Promise<ShellResult> {
    const startedMs = performance.now();
    const nonce = randomBytes(6).toString('hex');
    const marker = `__PL${nonce}`;
    const stderrPath = posix.join(workDir, `.pl-${nonce}.err`);
    const inline = shellOptions.stdin !== undefined && canInlineStdin(shellOptions.stdin);
    const stdinPath =
      shellOptions.stdin === undefined || inline ? undefined : posix.join(workDir, `.pl-${nonce}.in`);
    if (stdinPath !== undefined) {
      // shell v1 cannot close the command's stdin without closing the whole stream, so stdin goes as a file.
      try {
        await client.pushBytes(serial, Buffer.from(shellOptions.stdin ?? '', 'utf8'), stdinPath, 0o600);
      } catch (error) {
        throw transportError('shell', `cannot write the command's stdin to ${stdinPath}`, error, stdinPath);
      }
    }
    const wrapped = wrapCommand({
      command,
      marker,
      stderrPath,
      workDir,
      ...(stdinPath === undefined ? {} : { stdinPath }),
      ...(inline && shellOptions.stdin !== undefined ? { stdinText: shellOptions.stdin } : {}),
      ...(shellOptions.env === undefined ? {} : { env: shellOptions.env }),
    });
    const stream = await openShell(wrapped);
    const lines: string[] = [];
    let lastUnterminated = false;
    const parser = new WrappedOutputParser(marker, (line, terminated) => {
      if (shellOptions.onStdoutLine !== undefined) shellOptions.onStdoutLine(line);
      else {
        lines.push(line);
        lastUnterminated = !terminated;
      }
    });
    let timedOut = false;
    let aborted = false;
    let streamError: unknown;

    const ended = new Promise<void>((done) => {
      stream.on('data', (chunk: Buffer) => parser.push(chunk));
      stream.once('end', () => done());
      stream.once('close', () => done());
      stream.once('error', (error) => {
        streamError = error;
        done();
      });
    });
    const stopRemote = (): void => {
      stream.destroy();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stopRemote();
    }, shellOptions.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      stopRemote();
    };
    if (shellOptions.signal?.aborted) onAbort();
    shellOptions.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await ended;
    } finally {
      clearTimeout(timer);
      shellOptions.signal?.removeEventListener('abort', onAbort);
      // The server closed its side; close ours too (the socket allows half-open and would stay up).
      stream.destroy();
    }
    parser.end();

    if (timedOut || aborted) {
      // Closing the stream makes adbd end the command, but not always its children: kill the process group.
      if (parser.pid !== undefined && !parser.finished) {
        const files = [stderrPath, ...(stdinPath === undefined ? [] : [stdinPath])];
        await Promise.race([
          killRemote(killCommand(parser.pid, files)),
          new Promise((done) => setTimeout(done, KILL_WAIT_MS)),
        ]);
      }
      return {
        stdout: lines.join('\n'),
        stderr: parser.stderr,
        exitCode: null,
        signal: 'SIGKILL',
        timedOut,
        aborted,
        durationMs: performance.now() - startedMs,
      };
    }
    if (!parser.finished) {
      throw new DeviceUnavailableError(
        `the connection to ${serial} ended before the command finished (no exit marker${streamError === undefined ? '' : `; ${errorMessage(streamError)}`}): the device was disconnected or adbd restarted`,
        { deviceId: serial, operation: 'shell' },
        { cause: streamError },
      );
    }
    const exitCode = parser.exitCode ?? null;
    if (exitCode === 127 && /not found|No such file/i.test(parser.stderr) && typeof command !== 'string') {
      throw new CommandStartError(`could not start ${command[0]} on ${serial}: ${parser.stderr.trim()}`, {
        deviceId: serial,
        operation: 'shell',
        detail: command[0],
      });
    }
    const signal = exitCode === null ? null : signalName(exitCode);
    return {
      stdout: lines.length === 0 ? '' : `${lines.join('\n')}${lastUnterminated ? '' : '\n'}`,
      stderr: parser.stderr,
      exitCode: signal === null ? exitCode : null,
      signal,
      timedOut: false,
      aborted: false,
      durationMs: performance.now() - startedMs,
    };
  }

  async function killRemote(command: string): Promise<void> {
    try {
      const stream = await client.shell(serial, command);
      await new Promise<void>((done) => {
        stream.resume();
        stream.once('end', () => done());
        stream.once('close', () => done());
        stream.once('error', () => done());
      });
      stream.destroy();
    } catch {
      // The link is gone: adbd ends the command itself when the connection drops.
    }
  }

  /** Short commands whose output we parse; a non-zero exit is an error here. */
  async function run(
    command: string,
    operation: 'info' | 'push' | 'pull',
    timeoutMs = 15_000,
  ): Promise<string> {
    const result = await shell(command, { timeoutMs });
    if (result.timedOut) {
      throw new DeviceUnavailableError(`\`${command}\` on ${serial} did not answer within ${timeoutMs} ms`, {
        deviceId: serial,
        operation,
      });
    }
    return result.stdout;
  }

  async function info(): Promise<DeviceInfo> {
    let properties: Record<string, string>;
    try {
      properties = await client.getProperties(serial);
    } catch (error) {
      throw transportError('info', 'cannot read the properties (getprop)', error);
    }
    const freqs = parseCpuFreqs(await run(CPU_FREQS_COMMAND, 'info'));
    const clusters = clustersFromFreqs(freqs);
    return {
      identity,
      model: properties['ro.product.model'] ?? 'unknown model',
      buildFingerprint: properties['ro.build.fingerprint'] ?? `unknown build of ${serial}`,
      cpuCount: freqs.length,
      workDir,
      details: { ...identityDetails(serial, properties, clusters), adbServer: client.address },
    };
  }

  async function push(localPath: string, remotePath: string, pushOptions: PushOptions): Promise<void> {
    const mode = pushOptions.mode.toString(8);
    let localHash: string;
    try {
      localHash = await sha256File(localPath);
    } catch (error) {
      throw new FileTransferError(
        `cannot read ${localPath} to push it to ${serial}: ${errorMessage(error)}`,
        { deviceId: serial, operation: 'push', detail: localPath },
        { transient: false, cause: error },
      );
    }
    // Same content already there (a resumed sweep, a second run): skip the upload, fix the mode only.
    const remote = shellQuote(remotePath);
    const check = await run(`sha256sum ${remote} 2>/dev/null && chmod ${mode} ${remote}`, 'push');
    if (check.trim().split(/\s+/)[0] === localHash) return;
    try {
      await client.push(serial, localPath, remotePath, pushOptions.mode);
    } catch (error) {
      throw await explainPushFailure(remotePath, error);
    }
    const after = await run(`sha256sum ${remote} 2>/dev/null`, 'push');
    if (after.trim().split(/\s+/)[0] !== localHash) {
      throw new FileTransferError(
        `pushed ${localPath} to ${serial}:${remotePath} but the device's sha256 differs (expected ${localHash}, found '${after.trim() || 'no file'}'); the storage may be full or failing`,
        { deviceId: serial, operation: 'push', detail: remotePath },
        { transient: false },
      );
    }
  }

  /**
   * adbkit may report its own "write after end" instead of the device's FAIL when a SEND fails mid-file,
   * so a failed push whose message does not say why is probed with a tiny write next to the target.
   */
  async function explainPushFailure(remotePath: string, error: unknown): Promise<TransportError> {
    const classified = classifyAdbFailure(errorMessage(error));
    if (classified.kind === 'no-space' || classified.kind === 'permission')
      return transportError('push', `cannot push to ${remotePath}`, error, remotePath);
    // dd names the errno (shell builtins say only "I/O error"); 64 KiB exceeds what a nearly full disk has.
    const probeName = `.pl-probe-${randomBytes(4).toString('hex')}`;
    const dirs = [...new Set([posix.dirname(remotePath), posix.dirname(workDir)])].map(shellQuote);
    const probeCommand = `for d in ${dirs.join(' ')}; do [ -d "$d" ] || continue; dd if=/dev/zero of="$d/${probeName}" bs=65536 count=1 2>&1 >/dev/null | grep -v records; rm -f "$d/${probeName}"; done`;
    let said = '';
    let why = classifyAdbFailure(said);
    // Twice: right after a refused SEND the first shell may race the closing sync stream.
    for (let attempt = 0; attempt < 2 && why.kind !== 'no-space' && why.kind !== 'permission'; attempt++) {
      const probe = await shell(probeCommand, { timeoutMs: 10_000 }).catch(
        (probeError: unknown) => probeError,
      );
      said =
        probe instanceof Error
          ? `(the test write failed: ${probe.message})`
          : `${(probe as ShellResult).stdout}${(probe as ShellResult).stderr}`.trim();
      why = classifyAdbFailure(said);
    }
    if (why.kind === 'no-space' || why.kind === 'permission') {
      return transportError(
        'push',
        `cannot push to ${remotePath}`,
        new Error(`${errorMessage(error)}; a test write on the device says: ${said}`),
        remotePath,
      );
    }
    return transportError(
      'push',
      `cannot push to ${remotePath}`,
      new Error(`${errorMessage(error)}${said === '' ? '' : `; a test write on the device says: ${said}`}`),
      remotePath,
    );
  }

  async function pull(remotePath: string, localPath: string): Promise<void> {
    try {
      await mkdir(dirname(resolve(localPath)), { recursive: true });
      await client.pull(serial, remotePath, localPath);
    } catch (error) {
      throw transportError('pull', `cannot pull ${remotePath}`, error, remotePath);
    }
  }

  async function waitUntilReachable(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    const tcp = /^(.+):(\d+)$/.exec(serial);
    for (;;) {
      if (signal?.aborted) return false;
      const state = await client
        .listDevices()
        .then((entries) => entries.find((entry) => entry.serial === serial)?.state)
        .catch(() => undefined);
      if (state === 'device') {
        const alive = await shell('echo ok', { timeoutMs: 5_000 }).catch(() => undefined);
        if (alive?.stdout.trim() === 'ok') return true;
      } else if (tcp !== null && options.reconnectTcp !== false) {
        // adb 29 notices a TCP device going away late and reconnects slowly: disconnect, then connect again.
        const [, host = '', port = '0'] = tcp;
        // `adb connect` to a phone that does not answer takes up to 10 s: never past the deadline.
        const bounded = (work: Promise<unknown>): Promise<unknown> =>
          Promise.race([
            work.catch(() => undefined),
            sleepUnlessAborted(Math.max(50, deadline - performance.now()), signal),
          ]);
        if (state !== undefined) await bounded(client.disconnect(host, Number(port)));
        await bounded(client.connect(host, Number(port)));
        const again = await client.listDevices().catch(() => []);
        if (again.some((entry) => entry.serial === serial && entry.state === 'device')) {
          const alive = await shell('echo ok', { timeoutMs: 5_000 }).catch(() => undefined);
          if (alive?.stdout.trim() === 'ok') return true;
        }
      }
      if (performance.now() >= deadline) return false;
      await sleepUnlessAborted(Math.min(pollMs, Math.max(0, deadline - performance.now())), signal);
    }
  }

  return { identity, serial, info, push, pull, shell, waitUntilReachable };
}
