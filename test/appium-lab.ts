/**
 * An Appium lab for tests: the ADB lab (test/adb-lab.ts: Debian's adb server, virtual phones that let
 * detached jobs outlive their command, as a real phone does) behind a real Appium 3 server started in this
 * process on 127.0.0.1, with the project's own driver (test/appium-driver/) as its only driver.
 *
 * The driver is found without any install step or network: APPIUM_HOME is a temporary folder whose
 * node_modules holds a symlink to test/appium-driver, which Appium's manifest sync discovers at start.
 * Each server gets its own home (Appium keeps one driver registry per home and process).
 */
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_APPIUM_DEVICE } from '../config/defaults.ts';
import type { AppiumDeviceConfig } from '../config/schema.ts';
import type { VirtualPhone } from '../device-agent/virtual/phone.ts';
import { type AdbLab, startAdbLab } from './adb-lab.ts';

const DRIVER_DIR = fileURLToPath(new URL('./appium-driver', import.meta.url));
/** test/appium-driver/package.json's automationName; the insecure feature is scoped by it. */
export const AUTOMATION_NAME = 'PrunelabAdb';

export interface AppiumServer {
  readonly url: string;
  /** Sessions the server holds now (`GET /appium/sessions`). */
  sessionCount(): Promise<number>;
  close(): Promise<void>;
}

interface ClosableServer {
  address(): { port: number } | string | null;
  close(): Promise<void>;
}

/**
 * Appium's `main`, typed here: its own declarations pull in .ts sources of the appium package that this
 * project's compiler settings reject, so the module name is kept out of the type checker's sight.
 */
async function appiumMain(args: Readonly<Record<string, unknown>>): Promise<ClosableServer> {
  const moduleName = 'appium';
  const appium = (await import(moduleName)) as { main(args: unknown): Promise<unknown> };
  return (await appium.main(args)) as ClosableServer;
}

/** A real Appium server on 127.0.0.1 (a free port); `allowShell` is `--allow-insecure <automation>:adb_shell`. */
export async function startAppiumServer(options: { readonly allowShell: boolean }): Promise<AppiumServer> {
  const home = await mkdtemp(join(tmpdir(), 'prunelab-appium-home-'));
  await mkdir(join(home, 'node_modules'));
  await symlink(DRIVER_DIR, join(home, 'node_modules', 'prunelab-appium-driver'));
  const server = await appiumMain({
    address: '127.0.0.1',
    port: 0,
    appiumHome: home,
    loglevel: 'error',
    // session_discovery: `GET /appium/sessions`, so that tests can see that sessions were deleted.
    allowInsecure: [
      '*:session_discovery',
      ...(options.allowShell ? [`${AUTOMATION_NAME.toLowerCase()}:adb_shell`] : []),
    ],
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    sessionCount: async () => {
      const response = await fetch(`${url}/appium/sessions`);
      const body = (await response.json()) as { value?: unknown[] };
      return body.value?.length ?? 0;
    },
    close: async () => {
      await server.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/**
 * Whether a host PID runs (the virtual phone's detached jobs share the host's PID namespace). A killed
 * orphan stays a zombie until PID 1 reaps it: that one runs no more.
 */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

export interface AppiumLab {
  readonly adb: AdbLab;
  readonly server: AppiumServer;
  readonly phones: readonly VirtualPhone[];
  /** The config entry for a phone, as a validated config would hold it. */
  entry(phone: VirtualPhone, overrides?: Partial<AppiumDeviceConfig>): AppiumDeviceConfig;
  stop(): Promise<void>;
}

export async function startAppiumLab(options: {
  readonly phones: readonly { readonly abi: string; readonly model: string }[];
  readonly allowShell: boolean;
}): Promise<AppiumLab> {
  const adb = await startAdbLab(options.phones.map((phone) => ({ ...phone, detachedJobs: true })));
  let server: AppiumServer;
  try {
    server = await startAppiumServer({ allowShell: options.allowShell });
  } catch (error) {
    await adb.stop();
    throw error;
  }
  return {
    adb,
    server,
    phones: adb.phones,
    entry: (phone, overrides = {}) => ({
      name: 'lab',
      url: server.url,
      capabilities: {
        platformName: 'Android',
        'appium:automationName': AUTOMATION_NAME,
        'appium:udid': phone.serial,
        'appium:adbPort': adb.port,
      },
      ...DEFAULT_APPIUM_DEVICE,
      pollMs: 200,
      ...overrides,
    }),
    stop: async () => {
      await server.close();
      await adb.stop();
    },
  };
}
