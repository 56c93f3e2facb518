/**
 * The adb transport's Device: one phone behind one adb server, through the adbkit adapter
 * (adbkit-client.ts). Its parts: identity (here), shell (shell.ts), files (files.ts) and the lab probe
 * that waits for a phone to come back (reachability.ts); failures become TransportErrors in context.ts.
 */
import { agentAbiFor } from '../android/abi.ts';
import { androidDeviceInfo, CPU_FREQS_COMMAND } from '../android/identity.ts';
import type { Device, DeviceIdentity, DeviceInfo } from '../port.ts';
import type { AdbServerClient } from './adbkit-client.ts';
import { type AdbPhone, adbTransportError } from './context.ts';
import { adbPull, adbPush } from './files.ts';
import { waitUntilReachable } from './reachability.ts';
import { adbQuickRun, adbShell } from './shell.ts';

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

const DEFAULT_POLL_MS = 500;

/** Who the phone is: getprop (through adbkit) and its CPU folders. */
async function adbInfo(phone: AdbPhone, identity: DeviceIdentity): Promise<DeviceInfo> {
  let properties: Record<string, string>;
  try {
    properties = await phone.client.getProperties(phone.serial);
  } catch (error) {
    throw adbTransportError(phone, 'info', 'cannot read the properties (getprop)', error);
  }
  return androidDeviceInfo({
    identity,
    serial: phone.serial,
    properties,
    cpuFreqsOutput: await adbQuickRun(phone, CPU_FREQS_COMMAND, 'info'),
    workDir: phone.workDir,
    transportDetails: { adbServer: phone.client.address },
  });
}

export function createAdbDevice(options: AdbDeviceOptions): AdbDevice {
  const phone: AdbPhone = {
    client: options.client,
    serial: options.serial,
    workDir: options.workDir ?? DEFAULT_DEVICE_WORK_DIR,
  };
  const identity: DeviceIdentity = { id: options.serial, kind: 'adb', abi: agentAbiFor(options.abi) };
  const reachability = {
    pollMs: options.pollMs ?? DEFAULT_POLL_MS,
    reconnectTcp: options.reconnectTcp !== false,
  };
  return {
    identity,
    serial: options.serial,
    info: () => adbInfo(phone, identity),
    push: (localPath, remotePath, pushOptions) => adbPush(phone, localPath, remotePath, pushOptions),
    pull: (remotePath, localPath) => adbPull(phone, remotePath, localPath),
    shell: (command, shellOptions) => adbShell(phone, command, shellOptions),
    waitUntilReachable: (timeoutMs, signal) => waitUntilReachable(phone, reachability, timeoutMs, signal),
  };
}
