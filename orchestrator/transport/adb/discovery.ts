/**
 * Finding phones: ask each configured adb server for its devices (starting a local server that is not
 * running, as `adb` itself would), read each online phone's ABI, and hand out one AdbDevice per phone.
 * Devices that are there but not usable (offline, unauthorized) are reported, not returned.
 *
 * Tracking is by polling `listDevices`: adb 29's `track-devices` announces a TCP device going offline up
 * to ~20 s late (measured here against virtual phones), while `devices` is prompt.
 */
import { execa } from 'execa';
import { PrunelabError } from '../../errors.ts';
import { errorMessage } from '../android/messages.ts';
import { type AdbServerAddress, type AdbServerClient, createAdbServerClient } from './adbkit-client.ts';
import { type AdbDevice, createAdbDevice } from './device.ts';

export interface AdbDiscoveryOptions {
  /** `host:port` of each adb server (config devices.adb.servers). */
  readonly servers: readonly string[];
  /** Run `adb -P PORT start-server` for a local server that does not answer. */
  readonly startServer: boolean;
  readonly workDir: string;
  readonly pollMs: number;
  readonly reconnectTcp: boolean;
  /** The adb binary (PATH lookup by default). */
  readonly adbBinary?: string;
  /** Environment for a started server (its HOME holds ~/.android). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface UnusableAdbDevice {
  readonly serial: string;
  readonly state: string;
  readonly server: string;
}

export interface AdbDiscovery {
  readonly devices: readonly AdbDevice[];
  /** Devices the servers list but that cannot be used now (`offline`, `unauthorized`, ...). */
  readonly unusable: readonly UnusableAdbDevice[];
}

/** An adb server could not be reached or started. */
export class AdbServerError extends PrunelabError<{ readonly server: string }> {
  override readonly name = 'AdbServerError';
}

export function parseServerAddress(text: string): AdbServerAddress {
  const match = /^([^\s:]+):(\d{1,5})$/.exec(text);
  if (match === null) throw new Error(`expected host:port, got '${text}'`);
  return { host: match[1] ?? '127.0.0.1', port: Number(match[2]) };
}

const isLocal = (host: string): boolean => ['127.0.0.1', 'localhost', '::1'].includes(host);

async function ensureServer(client: AdbServerClient, options: AdbDiscoveryOptions): Promise<void> {
  const { host, port } = client.address;
  const server = `${host}:${port}`;
  try {
    await client.version();
    return;
  } catch (error) {
    if (!options.startServer || !isLocal(host)) {
      throw new AdbServerError(
        `no adb server answers at ${server} (${errorMessage(error)}); start it with \`adb -P ${port} start-server\`${isLocal(host) ? ' or set devices.adb.startServer: true' : ' on that host'}, or remove it from devices.adb.servers`,
        { server },
        { cause: error },
      );
    }
  }
  const started = await execa(options.adbBinary ?? 'adb', ['-P', String(port), 'start-server'], {
    reject: false,
    timeout: 30_000,
    ...(options.env === undefined ? {} : { env: options.env, extendEnv: false }),
  });
  if (started.failed) {
    const missing = (started as { code?: string }).code === 'ENOENT';
    throw new AdbServerError(
      missing
        ? `cannot start an adb server at ${server}: the adb binary is not installed (Debian: apt-get install adb; or set devices.adb.servers: [] to use the host only)`
        : `\`adb -P ${port} start-server\` failed (${started.shortMessage}): ${String(started.stderr).trim()}`,
      { server },
      { cause: started.cause },
    );
  }
}

export async function discoverAdbDevices(options: AdbDiscoveryOptions): Promise<AdbDiscovery> {
  const devices: AdbDevice[] = [];
  const unusable: UnusableAdbDevice[] = [];
  for (const text of options.servers) {
    const client = createAdbServerClient(parseServerAddress(text));
    await ensureServer(client, options);
    const entries = await client.listDevices();
    for (const entry of entries) {
      if (entry.state !== 'device') {
        unusable.push({ serial: entry.serial, state: entry.state, server: text });
        continue;
      }
      // The ABI decides which agent build the phone gets; a phone that cannot answer getprop is not usable.
      const abi = await client
        .getProperties(entry.serial)
        .then((properties) => properties['ro.product.cpu.abi'])
        .catch(() => undefined);
      if (abi === undefined) {
        unusable.push({ serial: entry.serial, state: 'no getprop answer', server: text });
        continue;
      }
      devices.push(
        createAdbDevice({
          client,
          serial: entry.serial,
          abi,
          workDir: options.workDir,
          pollMs: options.pollMs,
          reconnectTcp: options.reconnectTcp,
        }),
      );
    }
  }
  return { devices, unusable };
}
