/**
 * The one file that touches @devicefarmer/adbkit. It turns adbkit's Bluebird promises, Duplex sockets and
 * transfer emitters into plain promises and our own small types, so nothing past this file knows adbkit.
 *
 * adbkit quirks handled here (device-agent/virtual/README.md, "Known client quirks"):
 * - `DeviceClient.push/pull` hand the transfer over a tick late, so a FAIL sent at once is lost: we open a
 *   `syncService()` and call `Sync.push/pull`, listening at once.
 * - pull emits `end` before `error` on a FAIL reply: we wait a moment after `end` before calling it done.
 * - push defaults to mode 0644: the mode is always passed.
 * - push reads `stream.read(65536)`: a file stream (byte mode) is used, never an object-mode stream.
 * - shell is protocol v1 (no exit code, stderr merged): shell-script.ts adds a marker around the command.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { type Duplex, Readable } from 'node:stream';
import adbkit from '@devicefarmer/adbkit';

// adbkit is CommonJS: Node's ESM loader only offers its module.exports as the default import.
const { Adb } = adbkit;

export interface AdbServerAddress {
  readonly host: string;
  readonly port: number;
}

/** What `adb devices` says about one serial: `device` is usable; `offline`, `unauthorized`, ... are not. */
export interface AdbDeviceEntry {
  readonly serial: string;
  readonly state: string;
}

export interface AdbServerClient {
  readonly address: AdbServerAddress;
  /** The server's protocol version; rejects when no server listens. */
  version(): Promise<number>;
  listDevices(): Promise<AdbDeviceEntry[]>;
  getProperties(serial: string): Promise<Record<string, string>>;
  shell(serial: string, command: string): Promise<Duplex>;
  push(serial: string, localPath: string, remotePath: string, mode: number): Promise<void>;
  pushBytes(serial: string, bytes: Buffer, remotePath: string, mode: number): Promise<void>;
  pull(serial: string, remotePath: string, localPath: string): Promise<void>;
  /** `adb connect HOST:PORT`; resolves with the server's reply text. */
  connect(host: string, port: number): Promise<string>;
  disconnect(host: string, port: number): Promise<void>;
}

/** Time after a pull's `end` within which a late `error` still counts (adbkit emits end first). */
const PULL_ERROR_GRACE_MS = 20;

export function createAdbServerClient(address: AdbServerAddress): AdbServerClient {
  const client = Adb.createClient({ host: address.host, port: address.port });

  const withSync = async <T>(
    serial: string,
    work: (sync: Awaited<ReturnType<ReturnType<typeof client.getDevice>['syncService']>>) => Promise<T>,
  ): Promise<T> => {
    const sync = await Promise.resolve(client.getDevice(serial).syncService());
    try {
      return await work(sync);
    } finally {
      sync.end();
    }
  };

  const settlePush = (transfer: NodeJS.EventEmitter): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      transfer.on('error', reject);
      transfer.once('end', () => setImmediate(resolve));
    });

  return {
    address,
    version: async () => Promise.resolve(client.version()),
    listDevices: async () => {
      const devices = await Promise.resolve(client.listDevices());
      return devices.map((device) => ({ serial: device.id, state: device.type }));
    },
    getProperties: async (serial) => {
      const properties = await Promise.resolve(client.getDevice(serial).getProperties());
      return { ...properties } as Record<string, string>;
    },
    shell: async (serial, command) => Promise.resolve(client.getDevice(serial).shell(command)),
    push: async (serial, localPath, remotePath, mode) =>
      withSync(serial, (sync) => settlePush(sync.push(createReadStream(localPath), remotePath, mode))),
    pushBytes: async (serial, bytes, remotePath, mode) =>
      withSync(serial, (sync) =>
        // Byte mode: adbkit reads 64 KiB at a time (the sync DATA limit); object mode would send one chunk.
        settlePush(sync.push(Readable.from([bytes], { objectMode: false }), remotePath, mode)),
      ),
    pull: async (serial, remotePath, localPath) =>
      withSync(
        serial,
        (sync) =>
          new Promise<void>((resolve, reject) => {
            const transfer = sync.pull(remotePath);
            const out = createWriteStream(localPath);
            let failed = false;
            transfer.on('error', (error: Error) => {
              failed = true;
              out.destroy();
              reject(error);
            });
            out.on('error', (error) => {
              failed = true;
              reject(error);
            });
            transfer.pipe(out);
            out.once('finish', () =>
              setTimeout(() => {
                if (!failed) resolve();
              }, PULL_ERROR_GRACE_MS),
            );
          }),
      ),
    connect: async (host, port) => Promise.resolve(client.connect(host, port)),
    disconnect: async (host, port) => {
      await Promise.resolve(client.disconnect(host, port));
    },
  };
}
