/**
 * The appium transport's Device: one phone behind one Appium session (webdriver-client.ts). Files go over
 * push_file/pull_file (base64); every command runs as a detached job on the phone, started and then polled
 * with short `mobile: shell` calls (job-script.ts), so no HTTP call lasts longer than `pollMs` plus a round
 * trip and none is ever re-sent: a batch runs once, however long it takes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, posix, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../adb/classify.ts';
import { signalName } from '../adb/device.ts';
import { CPU_FREQS_COMMAND, clustersFromFreqs, identityDetails, parseCpuFreqs } from '../adb/identity.ts';
import { shellQuote } from '../adb/shell-script.ts';
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
import { AppiumShellRefusedError, classifyAppiumFailure, shellRefusedAdvice } from './errors.ts';
import { parseGetprop } from './getprop.ts';
import {
  type Collected,
  collectScript,
  jobScript,
  MAX_CALL_SCRIPT_BYTES,
  parseCollected,
  startScript,
  takeLines,
} from './job-script.ts';
import type { AppiumSession } from './webdriver-client.ts';

export interface AppiumDeviceOptions {
  readonly session: AppiumSession;
  readonly identity: DeviceIdentity;
  /** The phone's udid or serial (the last part of the id). */
  readonly serial: string;
  /** `devices.appium[i] 'name'`, for messages. */
  readonly where: string;
  readonly automationName: string;
  readonly workDir: string;
  readonly pollMs: number;
}

/** A Device that holds a session: `close` deletes it (the CLI does, at the end of every command). */
export interface AppiumDevice extends Device {
  waitUntilReachable(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

/** Server-side bound of one call beyond the time its script waits on purpose. */
const CALL_SLACK_MS = 30_000;
/** The phone kills a job on its own this long after the host's timeout (the host was killed meanwhile). */
const WATCHDOG_MARGIN_S = 120;
/** A lost poll is asked again (it only reads); a start never is (it would start the command twice). */
const POLL_ATTEMPTS = 3;
/** Short internal commands (identity, checksums). */
const QUICK_TIMEOUT_MS = 30_000;

type Operation = 'info' | 'push' | 'pull' | 'shell';

export function createAppiumDevice(options: AppiumDeviceOptions): AppiumDevice {
  const { session, identity, where, workDir, pollMs } = options;
  const deviceId = identity.id;

  const failure = (operation: Operation, what: string, error: unknown, detail?: string): TransportError => {
    if (error instanceof TransportError) return error;
    const message = errorMessage(error);
    const data = { deviceId, operation, ...(detail === undefined ? {} : { detail }) };
    const text = `${what} on ${deviceId} (${where}): ${message}`;
    const fileOperation = operation === 'push' || operation === 'pull';
    switch (classifyAppiumFailure(message).kind) {
      case 'shell-refused':
        return new AppiumShellRefusedError(`${text}. ${shellRefusedAdvice(options.automationName)}`, data, {
          cause: error,
        });
      case 'unavailable':
        return new DeviceUnavailableError(
          `${text}; the Appium server or the phone is not reachable: check the server and its link to the phone`,
          data,
          { cause: error },
        );
      case 'session-gone':
        return new TransportError(
          `${text}; the session was ended by the server (idle past appium:newCommandTimeout, or the server restarted): run the command again`,
          data,
          { transient: false, cause: error },
        );
      case 'no-space':
        return new FileTransferError(`${text}; free space under ${workDir} on the phone`, data, {
          transient: false,
          cause: error,
        });
      case 'permission':
        return new FileTransferError(
          `${text}; the shell user can write only under /data/local/tmp (${where}.workDir)`,
          data,
          { transient: false, cause: error },
        );
      default:
        return fileOperation
          ? new FileTransferError(text, data, { transient: false, cause: error })
          : new TransportError(text, data, { transient: false, cause: error });
    }
  };

  /** One `mobile: shell` call; its stdout (our scripts send nothing to stderr on purpose). */
  const call = async (script: string, waitMs: number, operation: Operation = 'shell'): Promise<string> => {
    try {
      return (await session.shell(script, Math.ceil(waitMs) + CALL_SLACK_MS)).stdout;
    } catch (error) {
      throw failure(operation, '`mobile: shell` failed', error);
    }
  };

  const pollAgain = async (script: string, waitMs: number): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(script, waitMs);
      } catch (error) {
        if (!(error instanceof DeviceUnavailableError) || attempt >= POLL_ATTEMPTS) throw error;
        await sleep(pollMs);
      }
    }
  };

  const collected = (output: string, marker: string, command: Command): Collected => {
    const parsed = parseCollected(output, marker);
    if (parsed === undefined) {
      throw new CommandStartError(
        `could not start a job in ${workDir} on ${deviceId} (${where}.workDir): the phone answered '${output.trim().slice(-300)}'`,
        { deviceId, operation: 'shell', detail: typeof command === 'string' ? command : command[0] },
      );
    }
    if (parsed.vanished) {
      throw new DeviceUnavailableError(
        `the job folder of a running command disappeared from ${workDir} on ${deviceId}; was it removed by hand?`,
        { deviceId, operation: 'shell' },
      );
    }
    return parsed;
  };

  async function shell(command: Command, shellOptions: ShellOptions): Promise<ShellResult> {
    const startedMs = performance.now();
    const deadlineMs = startedMs + shellOptions.timeoutMs;
    const nonce = randomBytes(6).toString('hex');
    const files = { dir: posix.join(workDir, `.pl-job-${nonce}`), marker: `__PL${nonce}` };
    const job = jobScript({
      dir: files.dir,
      command,
      ...(shellOptions.env === undefined ? {} : { env: shellOptions.env }),
      watchdogS: shellOptions.timeoutMs / 1000 + WATCHDOG_MARGIN_S,
    });
    const stdin = shellOptions.stdin ?? '';
    // Everything in one call when it fits; else stdin, then the job too, are pushed first.
    const start = (stdinInline: boolean, jobInline: boolean): string =>
      startScript({
        ...files,
        ...(jobInline ? { job } : {}),
        ...(stdinInline ? { stdinText: stdin } : {}),
        stdinPushed: !stdinInline,
        waitMs: Math.min(pollMs, shellOptions.timeoutMs),
      });
    const fits = (script: string): boolean => Buffer.byteLength(script) <= MAX_CALL_SCRIPT_BYTES;
    const stdinInline = stdin === '' || (stdin.endsWith('\n') && fits(start(true, true)));
    const jobInline = fits(start(stdinInline, true));
    const pushes = [
      ...(stdinInline ? [] : [{ name: 'in', text: stdin }]),
      ...(jobInline ? [] : [{ name: 'job', text: job }]),
    ];
    for (const { name, text } of pushes) {
      try {
        await session.pushFile(`${files.dir}/${name}`, Buffer.from(text, 'utf8'));
      } catch (error) {
        throw failure('shell', `cannot push the command's ${name} file`, error, `${files.dir}/${name}`);
      }
    }

    // Taken text is whole lines while the job runs; `pending` holds a line a chunk of 1 MiB cut in two.
    let pending = '';
    let stdoutText = '';
    let offsetBytes = 0;
    const take = (chunk: Collected, final: boolean): void => {
      const taken = takeLines(chunk.chunk, final);
      offsetBytes += taken.sizeBytes;
      const onLine = shellOptions.onStdoutLine;
      if (onLine === undefined) {
        stdoutText += taken.text;
        return;
      }
      const parts = (pending + taken.text).split('\n');
      pending = final ? '' : (parts.pop() ?? '');
      if (final && parts.at(-1) === '') parts.pop();
      for (const line of parts) onLine(line);
    };
    const result = (chunk: Collected, ended: { timedOut: boolean; aborted: boolean }): ShellResult => {
      const status = chunk.exitStatus;
      const signal = status === undefined ? 'SIGKILL' : signalName(status);
      return {
        stdout: shellOptions.onStdoutLine === undefined ? stdoutText : '',
        stderr: chunk.stderr,
        exitCode: status === undefined || signal !== null ? null : status,
        signal,
        ...ended,
        durationMs: performance.now() - startedMs,
      };
    };

    let output: string;
    try {
      output = await call(start(stdinInline, jobInline), pollMs);
    } catch (error) {
      // The start may have reached the phone before the link failed: stop that job rather than leave it.
      await call(collectScript({ ...files, offsetBytes: 0, waitMs: 0, kill: true }), 0).catch(
        () => undefined,
      );
      throw error;
    }
    for (;;) {
      const chunk = collected(output, files.marker, command);
      take(chunk, chunk.cleaned);
      if (chunk.cleaned) {
        const exitStatus = chunk.exitStatus ?? null;
        if (
          exitStatus === 127 &&
          typeof command !== 'string' &&
          /not found|No such file/i.test(chunk.stderr)
        ) {
          throw new CommandStartError(
            `could not start ${command[0]} on ${deviceId}: ${chunk.stderr.trim()}`,
            {
              deviceId,
              operation: 'shell',
              detail: command[0],
            },
          );
        }
        return result(chunk, { timedOut: false, aborted: false });
      }
      const aborted = shellOptions.signal?.aborted === true;
      const timedOut = !aborted && performance.now() >= deadlineMs;
      if (aborted || timedOut) {
        const last = collected(
          await pollAgain(collectScript({ ...files, offsetBytes, waitMs: 0, kill: true }), 0),
          files.marker,
          command,
        );
        take(last, true);
        // Ended on its own just before the kill: that is its real result.
        if (last.exitStatus !== undefined) return result(last, { timedOut: false, aborted: false });
        return result(last, { timedOut, aborted });
      }
      // A job that has ended but has more output than one chunk is read on at once.
      const waitMs =
        chunk.exitStatus !== undefined ? 0 : Math.max(0, Math.min(pollMs, deadlineMs - performance.now()));
      output = await pollAgain(collectScript({ ...files, offsetBytes, waitMs }), waitMs);
    }
  }

  /** Short commands whose output we parse: a timeout or a non-zero exit is an error here. */
  async function run(script: string, operation: Operation): Promise<string> {
    const ran = await shell(script, { timeoutMs: QUICK_TIMEOUT_MS });
    if (ran.timedOut || ran.exitCode !== 0) {
      const why = ran.timedOut
        ? `did not answer within ${QUICK_TIMEOUT_MS} ms`
        : `exited with ${ran.exitCode ?? ran.signal}`;
      throw new TransportError(
        `\`${script}\` on ${deviceId} ${why}: ${ran.stderr.trim()}`,
        { deviceId, operation },
        {
          transient: ran.timedOut,
        },
      );
    }
    return ran.stdout;
  }

  async function info(): Promise<DeviceInfo> {
    const separator = `__PL_SEP_${randomBytes(4).toString('hex')}`;
    const output = await run(`getprop; echo ${separator}; ${CPU_FREQS_COMMAND}`, 'info');
    const [props = '', cpus = ''] = output.split(`${separator}\n`);
    const properties = parseGetprop(props);
    const freqs = parseCpuFreqs(cpus);
    return {
      identity,
      model: properties['ro.product.model'] ?? 'unknown model',
      buildFingerprint: properties['ro.build.fingerprint'] ?? `unknown build of ${deviceId}`,
      cpuCount: freqs.length,
      workDir,
      details: {
        ...identityDetails(options.serial, properties, clustersFromFreqs(freqs)),
        appium: { where, sessionId: session.sessionId, automationName: options.automationName },
      },
    };
  }

  async function push(localPath: string, remotePath: string, pushOptions: PushOptions): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readFile(localPath);
    } catch (error) {
      throw new FileTransferError(
        `cannot read ${localPath} to push it to ${deviceId}: ${errorMessage(error)}`,
        { deviceId, operation: 'push', detail: localPath },
        { transient: false, cause: error },
      );
    }
    const localHash = createHash('sha256').update(bytes).digest('hex');
    const remote = shellQuote(remotePath);
    const mode = pushOptions.mode.toString(8);
    // Same content already there (a resumed sweep): no upload, the mode only. A pushed file is 0644.
    const hashOf = (text: string): string => text.trim().split(/\s+/)[0] ?? '';
    const before = await shell(`sha256sum ${remote} 2>/dev/null && chmod ${mode} ${remote}`, {
      timeoutMs: QUICK_TIMEOUT_MS,
    });
    if (before.exitCode === 0 && hashOf(before.stdout) === localHash) return;
    try {
      await session.pushFile(remotePath, bytes);
    } catch (error) {
      throw failure('push', `cannot push ${localPath} to ${remotePath}`, error, remotePath);
    }
    const after = await shell(`chmod ${mode} ${remote} && sha256sum ${remote}`, {
      timeoutMs: QUICK_TIMEOUT_MS,
    });
    if (hashOf(after.stdout) !== localHash) {
      throw new FileTransferError(
        `pushed ${localPath} to ${deviceId}:${remotePath} but the phone's sha256 differs (expected ${localHash}, found '${after.stdout.trim() || after.stderr.trim() || 'no file'}'); the storage may be full or failing`,
        { deviceId, operation: 'push', detail: remotePath },
        { transient: false },
      );
    }
  }

  async function pull(remotePath: string, localPath: string): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await session.pullFile(remotePath);
    } catch (error) {
      throw failure('pull', `cannot pull ${remotePath}`, error, remotePath);
    }
    try {
      await mkdir(dirname(resolve(localPath)), { recursive: true });
      await writeFile(localPath, bytes);
    } catch (error) {
      throw new FileTransferError(
        `pulled ${remotePath} from ${deviceId} but cannot write ${localPath}: ${errorMessage(error)}`,
        { deviceId, operation: 'pull', detail: localPath },
        { transient: false, cause: error },
      );
    }
  }

  async function waitUntilReachable(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadlineMs = performance.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) return false;
      const alive = await session.shell('echo ok', QUICK_TIMEOUT_MS).catch(() => undefined);
      if (alive?.stdout.trim() === 'ok') return true;
      if (performance.now() >= deadlineMs) return false;
      await sleep(Math.min(pollMs, Math.max(0, deadlineMs - performance.now())), undefined, {
        ...(signal === undefined ? {} : { signal }),
      }).catch(() => undefined);
    }
  }

  return { identity, info, push, pull, shell, waitUntilReachable, close: () => session.close() };
}
