/**
 * One command on an Appium phone (the Device port's `shell`): a detached job started by one short
 * `mobile: shell` call and collected by more (job-script.ts), so no HTTP call lasts and none is re-sent.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { signalName } from '../android/signals.ts';
import { CommandStartError, DeviceUnavailableError } from '../errors.ts';
import type { Command, ShellOptions, ShellResult } from '../port.ts';
import { type AppiumPhone, appiumFailure, call, pollAgain } from './context.ts';
import {
  type Collected,
  collectScript,
  type JobFiles,
  jobScript,
  MAX_CALL_SCRIPT_BYTES,
  parseCollected,
  startScript,
  takeLines,
} from './job-script.ts';

/** The phone kills a job on its own this long after the host's timeout (the host was killed meanwhile). */
const WATCHDOG_MARGIN_S = 120;

/** The start script; stdin and the job script go inline when they fit, else they are pushed first. */
async function prepareStart(
  phone: AppiumPhone,
  files: JobFiles,
  command: Command,
  options: ShellOptions,
): Promise<string> {
  const job = jobScript({
    dir: files.dir,
    command,
    ...(options.env === undefined ? {} : { env: options.env }),
    watchdogS: options.timeoutMs / 1000 + WATCHDOG_MARGIN_S,
  });
  const stdin = options.stdin ?? '';
  const start = (stdinInline: boolean, jobInline: boolean): string =>
    startScript({
      ...files,
      ...(jobInline ? { job } : {}),
      ...(stdinInline ? { stdinText: stdin } : {}),
      stdinPushed: !stdinInline,
      waitMs: Math.min(phone.pollMs, options.timeoutMs),
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
      await phone.session.pushFile(`${files.dir}/${name}`, Buffer.from(text, 'utf8'));
    } catch (error) {
      throw appiumFailure(
        phone,
        'shell',
        `cannot push the command's ${name} file`,
        error,
        `${files.dir}/${name}`,
      );
    }
  }
  return start(stdinInline, jobInline);
}

/** Stdout as it is collected: whole lines to `onStdoutLine`, or kept for the result. */
function stdoutTaker(options: ShellOptions) {
  // Taken text is whole lines while the job runs; `pending` holds a line a chunk of 1 MiB cut in two.
  let pending = '';
  let text = '';
  let offsetBytes = 0;
  return {
    get offsetBytes(): number {
      return offsetBytes;
    },
    get text(): string {
      return options.onStdoutLine === undefined ? text : '';
    },
    take(chunk: Collected, final: boolean): void {
      const taken = takeLines(chunk.chunk, final);
      offsetBytes += taken.sizeBytes;
      const onLine = options.onStdoutLine;
      if (onLine === undefined) {
        text += taken.text;
        return;
      }
      const parts = (pending + taken.text).split('\n');
      pending = final ? '' : (parts.pop() ?? '');
      if (final && parts.at(-1) === '') parts.pop();
      for (const line of parts) onLine(line);
    },
  };
}

/** One call's answer, parsed; a job folder that cannot be made or that vanished is an error. */
function collected(phone: AppiumPhone, output: string, files: JobFiles, command: Command): Collected {
  const parsed = parseCollected(output, files.marker);
  if (parsed === undefined) {
    throw new CommandStartError(
      `could not start a job in ${phone.workDir} on ${phone.deviceId} (${phone.where}.workDir): the phone answered '${output.trim().slice(-300)}'`,
      {
        deviceId: phone.deviceId,
        operation: 'shell',
        detail: typeof command === 'string' ? command : command[0],
      },
    );
  }
  if (parsed.vanished) {
    throw new DeviceUnavailableError(
      `the job folder of a running command disappeared from ${phone.workDir} on ${phone.deviceId}; was it removed by hand?`,
      { deviceId: phone.deviceId, operation: 'shell' },
    );
  }
  return parsed;
}

function jobResult(
  chunk: Collected,
  stdout: string,
  ended: { timedOut: boolean; aborted: boolean },
  startedMs: number,
): ShellResult {
  const status = chunk.exitStatus;
  const signal = status === undefined ? 'SIGKILL' : signalName(status);
  return {
    stdout,
    stderr: chunk.stderr,
    exitCode: status === undefined || signal !== null ? null : status,
    signal,
    ...ended,
    durationMs: performance.now() - startedMs,
  };
}

/** A command that could not be found is a CommandStartError, as on the other transports. */
function refuseUnstarted(phone: AppiumPhone, chunk: Collected, command: Command): void {
  if (
    chunk.exitStatus !== 127 ||
    typeof command === 'string' ||
    !/not found|No such file/i.test(chunk.stderr)
  )
    return;
  throw new CommandStartError(`could not start ${command[0]} on ${phone.deviceId}: ${chunk.stderr.trim()}`, {
    deviceId: phone.deviceId,
    operation: 'shell',
    detail: command[0],
  });
}

/** Starts the job; a failed start may still have reached the phone: that job is stopped, not left. */
async function startJob(phone: AppiumPhone, files: JobFiles, script: string): Promise<string> {
  try {
    return await call(phone, script, phone.pollMs);
  } catch (error) {
    await call(phone, collectScript({ ...files, offsetBytes: 0, waitMs: 0, kill: true }), 0).catch(
      () => undefined,
    );
    throw error;
  }
}

export async function appiumShell(
  phone: AppiumPhone,
  command: Command,
  options: ShellOptions,
): Promise<ShellResult> {
  const startedMs = performance.now();
  const deadlineMs = startedMs + options.timeoutMs;
  const nonce = randomBytes(6).toString('hex');
  const files: JobFiles = { dir: posix.join(phone.workDir, `.pl-job-${nonce}`), marker: `__PL${nonce}` };
  const stdout = stdoutTaker(options);
  let output = await startJob(phone, files, await prepareStart(phone, files, command, options));
  for (;;) {
    const chunk = collected(phone, output, files, command);
    stdout.take(chunk, chunk.cleaned);
    if (chunk.cleaned) {
      refuseUnstarted(phone, chunk, command);
      return jobResult(chunk, stdout.text, { timedOut: false, aborted: false }, startedMs);
    }
    const aborted = options.signal?.aborted === true;
    const timedOut = !aborted && performance.now() >= deadlineMs;
    if (aborted || timedOut) {
      const kill = collectScript({ ...files, offsetBytes: stdout.offsetBytes, waitMs: 0, kill: true });
      const last = collected(phone, await pollAgain(phone, kill, 0), files, command);
      stdout.take(last, true);
      // Ended on its own just before the kill: that is its real result.
      const ended =
        last.exitStatus !== undefined ? { timedOut: false, aborted: false } : { timedOut, aborted };
      return jobResult(last, stdout.text, ended, startedMs);
    }
    // A job that has ended but has more output than one chunk is read on at once.
    const waitMs =
      chunk.exitStatus !== undefined
        ? 0
        : Math.max(0, Math.min(phone.pollMs, deadlineMs - performance.now()));
    output = await pollAgain(
      phone,
      collectScript({ ...files, offsetBytes: stdout.offsetBytes, waitMs }),
      waitMs,
    );
  }
}
