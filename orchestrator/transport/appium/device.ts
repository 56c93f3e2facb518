/**
 * The appium transport's Device: one phone behind one Appium session (webdriver-client.ts). Files go over
 * push_file/pull_file (files.ts); every command runs as a detached job on the phone, started and then
 * polled with short `mobile: shell` calls (shell.ts, job-script.ts), so no HTTP call lasts longer than
 * `pollMs` plus a round trip and none is ever re-sent: a batch runs once, however long it takes. Identity
 * and the lab probe that waits for a phone to come back (opening a new session when the server ended the
 * old one) are here.
 */
import { randomBytes } from 'node:crypto';
import { sleepUnlessAborted } from '../../sleep.ts';
import { parseGetprop } from '../android/getprop.ts';
import { androidDeviceInfo, CPU_FREQS_COMMAND } from '../android/identity.ts';
import { TransportError } from '../errors.ts';
import type { Device, DeviceIdentity, DeviceInfo } from '../port.ts';
import type { AppiumPhone, Operation } from './context.ts';
import { appiumPull, appiumPush } from './files.ts';
import { appiumShell } from './shell.ts';
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
  /** Opens a new session for the same phone, when the server ended this one (`waitUntilReachable` does). */
  readonly reopen?: () => Promise<AppiumSession>;
}

/** A Device that holds a session: `close` deletes it (the CLI does, at the end of every command). */
export interface AppiumDevice extends Device {
  waitUntilReachable(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

/** Short internal commands (identity). */
const QUICK_TIMEOUT_MS = 30_000;

/** Short commands whose output we parse: a timeout or a non-zero exit is an error here. */
async function quickRun(phone: AppiumPhone, script: string, operation: Operation): Promise<string> {
  const ran = await appiumShell(phone, script, { timeoutMs: QUICK_TIMEOUT_MS });
  if (ran.timedOut || ran.exitCode !== 0) {
    const why = ran.timedOut
      ? `did not answer within ${QUICK_TIMEOUT_MS} ms`
      : `exited with ${ran.exitCode ?? ran.signal}`;
    throw new TransportError(
      `\`${script}\` on ${phone.deviceId} ${why}: ${ran.stderr.trim()}`,
      {
        deviceId: phone.deviceId,
        operation,
      },
      { transient: ran.timedOut },
    );
  }
  return ran.stdout;
}

/** Who the phone is: getprop and its CPU folders, in one call. */
async function appiumInfo(phone: AppiumPhone, identity: DeviceIdentity): Promise<DeviceInfo> {
  const separator = `__PL_SEP_${randomBytes(4).toString('hex')}`;
  const output = await quickRun(phone, `getprop; echo ${separator}; ${CPU_FREQS_COMMAND}`, 'info');
  const [props = '', cpus = ''] = output.split(`${separator}\n`);
  return androidDeviceInfo({
    identity,
    serial: phone.serial,
    properties: parseGetprop(props),
    cpuFreqsOutput: cpus,
    workDir: phone.workDir,
    transportDetails: {
      appium: {
        where: phone.where,
        sessionId: phone.session.sessionId,
        automationName: phone.automationName,
      },
    },
  });
}

async function answers(session: AppiumSession): Promise<boolean> {
  const alive = await session.shell('echo ok', QUICK_TIMEOUT_MS).catch(() => undefined);
  return alive?.stdout.trim() === 'ok';
}

/**
 * A new session in place of one that no longer answers (the server ended it, or restarted). The old one
 * is deleted first, best effort: the server keeps one session per phone.
 */
async function reopened(phone: AppiumPhone, reopen: () => Promise<AppiumSession>): Promise<boolean> {
  await phone.session.close();
  const session = await reopen().catch(() => undefined);
  if (session === undefined) return false;
  phone.session = session;
  return answers(session);
}

async function waitUntilReachable(
  phone: AppiumPhone,
  reopen: (() => Promise<AppiumSession>) | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadlineMs = performance.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) return false;
    if (await answers(phone.session)) return true;
    if (reopen !== undefined && (await reopened(phone, reopen))) return true;
    if (performance.now() >= deadlineMs) return false;
    await sleepUnlessAborted(Math.min(phone.pollMs, Math.max(0, deadlineMs - performance.now())), signal);
  }
}

export function createAppiumDevice(options: AppiumDeviceOptions): AppiumDevice {
  const { identity } = options;
  const phone: AppiumPhone = {
    session: options.session,
    deviceId: identity.id,
    serial: options.serial,
    where: options.where,
    automationName: options.automationName,
    workDir: options.workDir,
    pollMs: options.pollMs,
  };
  return {
    identity,
    info: () => appiumInfo(phone, identity),
    push: (localPath, remotePath, pushOptions) => appiumPush(phone, localPath, remotePath, pushOptions),
    pull: (remotePath, localPath) => appiumPull(phone, remotePath, localPath),
    shell: (command, shellOptions) => appiumShell(phone, command, shellOptions),
    waitUntilReachable: (timeoutMs, signal) => waitUntilReachable(phone, options.reopen, timeoutMs, signal),
    close: () => phone.session.close(),
  };
}
