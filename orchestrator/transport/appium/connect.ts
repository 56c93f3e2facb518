/**
 * From a `devices.appium[i]` entry to a usable Device: open the session, make sure the server lets us run
 * shell commands (refused: a clear error, the session deleted), read the phone's identity, and hand out
 * an AppiumDevice that keeps the session until `close`.
 */
import { randomBytes } from 'node:crypto';
import type { AppiumDeviceConfig } from '../../../config/schema.ts';
import { agentAbiFor } from '../android/abi.ts';
import { parseGetprop } from '../android/getprop.ts';
import { errorMessage } from '../android/messages.ts';
import { DeviceUnavailableError, TransportError } from '../errors.ts';
import { type AppiumDevice, createAppiumDevice } from './device.ts';
import { AppiumShellRefusedError, classifyAppiumFailure, shellRefusedAdvice } from './errors.ts';
import { type AppiumEndpoint, type AppiumSession, openAppiumSession } from './webdriver-client.ts';

/** The first check and getprop: one short call. */
const CHECK_TIMEOUT_MS = 30_000;

/** The URL without its credentials (a farm's access key must not land in logs or the store). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '***';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

function capability(source: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = source[`appium:${name}`] ?? source[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export interface ConnectAppiumOptions {
  readonly entry: AppiumDeviceConfig;
  /** Position in devices.appium, for messages. */
  readonly index: number;
  /** The session opener (webdriverio); tests of the error paths pass another. */
  readonly open?: (endpoint: AppiumEndpoint) => Promise<AppiumSession>;
}

export async function connectAppiumDevice(options: ConnectAppiumOptions): Promise<AppiumDevice> {
  const { entry, index } = options;
  const where = `devices.appium[${index}] '${entry.name}'`;
  const url = redactUrl(entry.url);
  const provisionalId = `appium:${entry.name}`;
  let session: AppiumSession;
  try {
    session = await (options.open ?? openAppiumSession)({
      url: entry.url,
      capabilities: entry.capabilities,
      commandTimeoutMs: entry.commandTimeoutMs,
    });
  } catch (error) {
    throw new DeviceUnavailableError(
      `${where}: cannot start an Appium session at ${url}: ${errorMessage(error)}. Check that the server runs, that its driver is installed, and that ${where}.capabilities match a phone it has`,
      { deviceId: provisionalId, operation: 'info', detail: url },
      { cause: error },
    );
  }
  const automationName =
    capability(session.capabilities, 'automationName') ??
    capability(entry.capabilities, 'automationName') ??
    'UiAutomator2';
  try {
    const nonce = randomBytes(6).toString('hex');
    let stdout: string;
    try {
      // setsid detaches the jobs commands run as (job-script.ts); toybox has it on Android.
      ({ stdout } = await session.shell(
        `echo ${nonce}; command -v setsid >/dev/null 2>&1 && echo ${nonce}setsid; getprop; true`,
        CHECK_TIMEOUT_MS,
      ));
    } catch (error) {
      const message = errorMessage(error);
      const refused = classifyAppiumFailure(message).kind === 'shell-refused';
      const text = refused
        ? `${where} at ${url}: the server refuses \`mobile: shell\` (${message.trim()}). ${shellRefusedAdvice(automationName)}`
        : `${where} at ${url}: the first \`mobile: shell\` failed: ${message}`;
      const data = { deviceId: provisionalId, operation: 'shell', detail: url } as const;
      throw refused
        ? new AppiumShellRefusedError(text, data, { cause: error })
        : new DeviceUnavailableError(text, data, { cause: error });
    }
    if (!stdout.includes(nonce)) {
      throw new AppiumShellRefusedError(
        `${where} at ${url}: \`mobile: shell\` answered without running the command (got '${stdout.trim().slice(0, 200)}'). ${shellRefusedAdvice(automationName)}`,
        { deviceId: provisionalId, operation: 'shell', detail: url },
      );
    }
    if (!stdout.includes(`${nonce}setsid`)) {
      throw new TransportError(
        `${where} at ${url}: the phone has no \`setsid\`; prunelab runs long commands detached from the call that starts them and needs it (toybox provides it on Android 7 and later)`,
        { deviceId: provisionalId, operation: 'shell', detail: 'setsid' },
        { transient: false },
      );
    }
    const properties = parseGetprop(stdout);
    const abi = properties['ro.product.cpu.abi'];
    if (abi === undefined) {
      throw new TransportError(
        `${where} at ${url}: getprop gave no ro.product.cpu.abi; is ${where}.capabilities' platformName Android?`,
        { deviceId: provisionalId, operation: 'info' },
        { transient: false },
      );
    }
    // The udid the server chose (UiAutomator2 picks one when none is asked for), else the serial number.
    const serial =
      capability(session.capabilities, 'udid') ??
      capability(entry.capabilities, 'udid') ??
      properties['ro.serialno'] ??
      'unknown';
    // A new session for the same phone: the udid pinned, so the server cannot hand out another one.
    const reopen = () =>
      (options.open ?? openAppiumSession)({
        url: entry.url,
        capabilities: { ...entry.capabilities, 'appium:udid': serial },
        commandTimeoutMs: entry.commandTimeoutMs,
      });
    return createAppiumDevice({
      session,
      reopen,
      identity: { id: `appium:${entry.name}:${serial}`, kind: 'appium', abi: agentAbiFor(abi) },
      serial,
      where,
      automationName,
      workDir: entry.workDir,
      pollMs: entry.pollMs,
    });
  } catch (error) {
    await session.close();
    throw error;
  }
}
