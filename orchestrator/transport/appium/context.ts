/**
 * What every part of one Appium phone's Device shares: its session (replaced when a dead one is opened
 * again), names for messages, the work folder; the one place Appium failures become TransportErrors with
 * advice, and the `mobile: shell` call itself.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../android/messages.ts';
import {
  DeviceUnavailableError,
  FileTransferError,
  TransportError,
  type TransportErrorData,
} from '../errors.ts';
import { AppiumShellRefusedError, classifyAppiumFailure, shellRefusedAdvice } from './errors.ts';
import type { AppiumSession } from './webdriver-client.ts';

export interface AppiumPhone {
  /** The live session; `waitUntilReachable` puts a new one here when the server ended the old one. */
  session: AppiumSession;
  readonly deviceId: string;
  /** The phone's udid or serial (the last part of the id). */
  readonly serial: string;
  /** `devices.appium[i] 'name'`, for messages. */
  readonly where: string;
  readonly automationName: string;
  readonly workDir: string;
  readonly pollMs: number;
}

export type Operation = TransportErrorData['operation'];

/** Server-side bound of one call beyond the time its script waits on purpose. */
const CALL_SLACK_MS = 30_000;
/** A lost poll is asked again (it only reads); a start never is (it would start the command twice). */
const POLL_ATTEMPTS = 3;

export function appiumFailure(
  phone: AppiumPhone,
  operation: Operation,
  what: string,
  error: unknown,
  detail?: string,
): TransportError {
  if (error instanceof TransportError) return error;
  const { deviceId, where, workDir } = phone;
  const message = errorMessage(error);
  const data = { deviceId, operation, ...(detail === undefined ? {} : { detail }) };
  const text = `${what} on ${deviceId} (${where}): ${message}`;
  switch (classifyAppiumFailure(message).kind) {
    case 'shell-refused':
      return new AppiumShellRefusedError(`${text}. ${shellRefusedAdvice(phone.automationName)}`, data, {
        cause: error,
      });
    case 'unavailable':
      return new DeviceUnavailableError(
        `${text}; the Appium server or the phone is not reachable: check the server and its link to the phone`,
        data,
        { cause: error },
      );
    case 'session-gone':
      // Transient: `waitUntilReachable` opens a new session (a sweep waits for it like for a lost phone).
      return new DeviceUnavailableError(
        `${text}; the session was ended by the server (idle past appium:newCommandTimeout, or the server restarted); a sweep opens a new one within scheduler.disconnectGraceMs, else run the command again`,
        data,
        { cause: error },
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
      return operation === 'push' || operation === 'pull'
        ? new FileTransferError(text, data, { transient: false, cause: error })
        : new TransportError(text, data, { transient: false, cause: error });
  }
}

/** One `mobile: shell` call; its stdout (our scripts send nothing to stderr on purpose). */
export async function call(
  phone: AppiumPhone,
  script: string,
  waitMs: number,
  operation: Operation = 'shell',
): Promise<string> {
  try {
    return (await phone.session.shell(script, Math.ceil(waitMs) + CALL_SLACK_MS)).stdout;
  } catch (error) {
    throw appiumFailure(phone, operation, '`mobile: shell` failed', error);
  }
}

/** A call that only reads: asked again when the link failed. */
export async function pollAgain(phone: AppiumPhone, script: string, waitMs: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(phone, script, waitMs);
    } catch (error) {
      if (!(error instanceof DeviceUnavailableError) || attempt >= POLL_ATTEMPTS) throw error;
      await sleep(phone.pollMs);
    }
  }
}
