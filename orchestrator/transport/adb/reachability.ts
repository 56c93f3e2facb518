/**
 * The lab probe of an adb phone: is it there and answering? Used after a disconnect, while the scheduler
 * waits for the phone to come back.
 */
import { settleWithin, sleepUnlessAborted } from '../../sleep.ts';
import type { AdbPhone } from './context.ts';
import { adbShell } from './shell.ts';

export interface ReachabilityOptions {
  /** How often the server is asked about the phone. */
  readonly pollMs: number;
  /** `adb disconnect` + `adb connect` again a TCP phone (HOST:PORT serial) the server does not list as up. */
  readonly reconnectTcp: boolean;
}

/**
 * Longest wait for one `adb connect`, `adb disconnect` or echo while waiting: a phone that does not answer
 * makes `adb connect` take up to 10 s, and a wait that long per round would keep a phone that is back
 * waiting for many seconds more.
 */
const STEP_MAX_MS = 3_000;

/** A shell round trip: listed as `device` is not enough right after a reconnect. */
async function answers(phone: AdbPhone): Promise<boolean> {
  const alive = await adbShell(phone, 'echo ok', { timeoutMs: STEP_MAX_MS }).catch(() => undefined);
  return alive?.stdout.trim() === 'ok';
}

async function stateOf(phone: AdbPhone): Promise<string | undefined> {
  return phone.client
    .listDevices()
    .then((entries) => entries.find((entry) => entry.serial === phone.serial)?.state)
    .catch(() => undefined);
}

/** adb 29 notices a TCP device going away late and reconnects slowly: disconnect, then connect again. */
async function reconnect(
  phone: AdbPhone,
  listed: boolean,
  deadlineMs: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const tcp = /^(.+):(\d+)$/.exec(phone.serial);
  if (tcp === null) return false;
  const [, host = '', port = '0'] = tcp;
  // Never past the deadline, and never a long wait on a phone that does not answer.
  const remainingMs = (): number => Math.min(STEP_MAX_MS, Math.max(50, deadlineMs - performance.now()));
  if (listed) await settleWithin(phone.client.disconnect(host, Number(port)), remainingMs(), signal);
  await settleWithin(phone.client.connect(host, Number(port)), remainingMs(), signal);
  return (await stateOf(phone)) === 'device';
}

export async function waitUntilReachable(
  phone: AdbPhone,
  options: ReachabilityOptions,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadlineMs = performance.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) return false;
    const state = await stateOf(phone);
    if (state === 'device') {
      if (await answers(phone)) return true;
    } else if (options.reconnectTcp && (await reconnect(phone, state !== undefined, deadlineMs, signal))) {
      if (await answers(phone)) return true;
    }
    if (performance.now() >= deadlineMs) return false;
    await sleepUnlessAborted(Math.min(options.pollMs, Math.max(0, deadlineMs - performance.now())), signal);
  }
}
