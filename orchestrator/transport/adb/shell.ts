/**
 * One command on an adb phone (the Device port's `shell`): wrapped so that shell v1 gives back a PID, an
 * exit code and a separate stderr (shell-script.ts), streamed line by line, killed with its process group
 * on a timeout or an abort.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../android/messages.ts';
import { signalName } from '../android/signals.ts';
import { CommandStartError, DeviceUnavailableError } from '../errors.ts';
import type { Command, ShellOptions, ShellResult } from '../port.ts';
import { type AdbPhone, adbTransportError } from './context.ts';
import { canInlineStdin, killCommand, WrappedOutputParser, wrapCommand } from './shell-script.ts';

/** Longest wait for the remote kill after a timeout: the result should not hang on a dead link. */
const KILL_WAIT_MS = 3_000;

interface CommandFiles {
  readonly marker: string;
  readonly stderrPath: string;
  /** Set when stdin is too large (or lacks a final newline) to go inline: it is pushed there first. */
  readonly stdinPath?: string;
}

function commandFiles(workDir: string, options: ShellOptions): CommandFiles {
  const nonce = randomBytes(6).toString('hex');
  const pushed = options.stdin !== undefined && !canInlineStdin(options.stdin);
  return {
    marker: `__PL${nonce}`,
    stderrPath: posix.join(workDir, `.pl-${nonce}.err`),
    ...(pushed ? { stdinPath: posix.join(workDir, `.pl-${nonce}.in`) } : {}),
  };
}

/** shell v1 cannot close the command's stdin without closing the whole stream, so large stdin goes as a file. */
async function pushStdin(phone: AdbPhone, files: CommandFiles, stdin: string | undefined): Promise<void> {
  if (files.stdinPath === undefined) return;
  try {
    await phone.client.pushBytes(phone.serial, Buffer.from(stdin ?? '', 'utf8'), files.stdinPath, 0o600);
  } catch (error) {
    throw adbTransportError(
      phone,
      'shell',
      `cannot write the command's stdin to ${files.stdinPath}`,
      error,
      files.stdinPath,
    );
  }
}

async function openShell(phone: AdbPhone, command: string): Promise<Duplex> {
  try {
    return await phone.client.shell(phone.serial, command);
  } catch (error) {
    throw adbTransportError(phone, 'shell', 'cannot start a shell', error);
  }
}

interface StreamEnd {
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly streamError: unknown;
}

/** Feeds the stream to the parser until it ends, the timeout passes or the signal aborts. */
async function drain(stream: Duplex, parser: WrappedOutputParser, options: ShellOptions): Promise<StreamEnd> {
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
  const timer = setTimeout(() => {
    timedOut = true;
    stream.destroy();
  }, options.timeoutMs);
  const onAbort = (): void => {
    aborted = true;
    stream.destroy();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await ended;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    // The server closed its side; close ours too (the socket allows half-open and would stay up).
    stream.destroy();
  }
  parser.end();
  return { timedOut, aborted, streamError };
}

/** Runs a command whose output nobody reads (the remote kill), ignoring a link that is gone. */
async function runDetached(phone: AdbPhone, command: string): Promise<void> {
  try {
    const stream = await phone.client.shell(phone.serial, command);
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

/** Closing the stream makes adbd end the command, but not always its children: kill the process group. */
async function killLeftovers(
  phone: AdbPhone,
  parser: WrappedOutputParser,
  files: CommandFiles,
): Promise<void> {
  if (parser.pid === undefined || parser.finished) return;
  const paths = [files.stderrPath, ...(files.stdinPath === undefined ? [] : [files.stdinPath])];
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    runDetached(phone, killCommand(parser.pid, paths)),
    new Promise((done) => {
      timer = setTimeout(done, KILL_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
}

/** Collects stdout lines unless the caller takes them one by one. */
function stdoutCollector(options: ShellOptions) {
  const lines: string[] = [];
  let lastUnterminated = false;
  return {
    onLine(line: string, terminated: boolean): void {
      if (options.onStdoutLine !== undefined) options.onStdoutLine(line);
      else {
        lines.push(line);
        lastUnterminated = !terminated;
      }
    },
    text(finished: boolean): string {
      if (!finished) return lines.join('\n');
      return lines.length === 0 ? '' : `${lines.join('\n')}${lastUnterminated ? '' : '\n'}`;
    },
  };
}

/** The result of a command that ended by itself, or the error that says it could not run. */
function finishedResult(
  serial: string,
  command: Command,
  parser: WrappedOutputParser,
  end: StreamEnd,
  stdout: string,
  startedMs: number,
): ShellResult {
  if (!parser.finished) {
    throw new DeviceUnavailableError(
      `the connection to ${serial} ended before the command finished (no exit marker${end.streamError === undefined ? '' : `; ${errorMessage(end.streamError)}`}): the device was disconnected or adbd restarted`,
      { deviceId: serial, operation: 'shell' },
      { cause: end.streamError },
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
    stdout,
    stderr: parser.stderr,
    exitCode: signal === null ? exitCode : null,
    signal,
    timedOut: false,
    aborted: false,
    durationMs: performance.now() - startedMs,
  };
}

export async function adbShell(
  phone: AdbPhone,
  command: Command,
  options: ShellOptions,
): Promise<ShellResult> {
  const startedMs = performance.now();
  const files = commandFiles(phone.workDir, options);
  await pushStdin(phone, files, options.stdin);
  const inline = files.stdinPath === undefined && options.stdin !== undefined;
  const wrapped = wrapCommand({
    command,
    marker: files.marker,
    stderrPath: files.stderrPath,
    workDir: phone.workDir,
    ...(files.stdinPath === undefined ? {} : { stdinPath: files.stdinPath }),
    ...(inline && options.stdin !== undefined ? { stdinText: options.stdin } : {}),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const stream = await openShell(phone, wrapped);
  const stdout = stdoutCollector(options);
  const parser = new WrappedOutputParser(files.marker, stdout.onLine);
  const end = await drain(stream, parser, options);
  if (end.timedOut || end.aborted) {
    await killLeftovers(phone, parser, files);
    return {
      stdout: stdout.text(false),
      stderr: parser.stderr,
      exitCode: null,
      signal: 'SIGKILL',
      timedOut: end.timedOut,
      aborted: end.aborted,
      durationMs: performance.now() - startedMs,
    };
  }
  return finishedResult(phone.serial, command, parser, end, stdout.text(true), startedMs);
}

/** Short commands whose output we parse: a timeout is an error here (a non-zero exit is not). */
export async function adbQuickRun(
  phone: AdbPhone,
  command: string,
  operation: 'info' | 'push' | 'pull',
  timeoutMs = 15_000,
): Promise<string> {
  const result = await adbShell(phone, command, { timeoutMs });
  if (result.timedOut) {
    throw new DeviceUnavailableError(
      `\`${command}\` on ${phone.serial} did not answer within ${timeoutMs} ms`,
      {
        deviceId: phone.serial,
        operation,
      },
    );
  }
  return result.stdout;
}
