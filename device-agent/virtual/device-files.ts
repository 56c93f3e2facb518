/**
 * The phone's file system for the sync service, on the host's disk through the mount table (mounts.ts).
 * Failure messages follow adbd 29's handle_send_file / do_recv (`couldn't create file: …`, `write failed: …`),
 * because that text is what adb and adbkit show the user.
 */
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, unlink, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DeviceFileError, deviceFileError, strerror } from './errors.ts';
import { type Mount, resolveDevicePath } from './mounts.ts';
import type { DeviceDirEntry, DeviceFileStat, DeviceFiles, DeviceFileWriter } from './ports.ts';

/** Bytes gathered before one write to the host file. */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** How a directory that only holds mount points looks (Android's /data is drwxrwx--x). */
const VIRTUAL_DIR_STAT: DeviceFileStat = { mode: constants.S_IFDIR | 0o771, sizeBytes: 4096, mtimeS: 0 };

export interface HostDeviceFilesOptions {
  readonly mounts: readonly Mount[];
  /** The disk-full fault: every write to a writable mount then fails with ENOSPC. */
  readonly isDiskFull: () => boolean;
}

export function createHostDeviceFiles(options: HostDeviceFilesOptions): DeviceFiles {
  const { mounts, isDiskFull } = options;

  async function statOf(hostPath: string): Promise<DeviceFileStat> {
    const stats = await lstat(hostPath);
    return { mode: stats.mode, sizeBytes: stats.size, mtimeS: Math.floor(stats.mtimeMs / 1000) };
  }

  return {
    async stat(devicePath) {
      const resolved = resolveDevicePath(mounts, devicePath);
      if (resolved.kind === 'virtual-dir') return VIRTUAL_DIR_STAT;
      return statOf(resolved.hostPath).catch(() => undefined);
    },

    async list(devicePath) {
      const resolved = resolveDevicePath(mounts, devicePath);
      if (resolved.kind === 'virtual-dir') {
        return ['.', '..', ...resolved.children].map((name) => ({ name, ...VIRTUAL_DIR_STAT }));
      }
      const names = await readdir(resolved.hostPath).catch(() => undefined);
      if (names === undefined) return [];
      const entries: DeviceDirEntry[] = [];
      // adbd lists with readdir(), which includes `.` and `..`; adbkit's readdir() filters them out.
      for (const name of ['.', '..', ...names.sort()]) {
        const stat = await statOf(`${resolved.hostPath}/${name}`).catch(() => undefined);
        if (stat !== undefined) entries.push({ name, ...stat });
      }
      return entries;
    },

    async *read(devicePath, chunkBytes) {
      const resolved = resolveDevicePath(mounts, devicePath);
      if (resolved.kind === 'virtual-dir') {
        throw new DeviceFileError(`read failed: ${strerror('EISDIR')}`, { devicePath, errno: 'EISDIR' });
      }
      const handle = await open(resolved.hostPath, 'r').catch((error: unknown) => {
        throw deviceFileError('open failed', devicePath, error);
      });
      try {
        const buffer = new Uint8Array(chunkBytes);
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null).catch((error: unknown) => {
            throw deviceFileError('read failed', devicePath, error);
          });
          if (bytesRead === 0) return;
          yield buffer.slice(0, bytesRead);
        }
      } finally {
        await handle.close();
      }
    },

    async create(devicePath, permissions) {
      const resolved = resolveDevicePath(mounts, devicePath);
      if (resolved.kind === 'virtual-dir') {
        throw new DeviceFileError(`couldn't create file: ${strerror('EISDIR')}`, {
          devicePath,
          errno: 'EISDIR',
        });
      }
      if (!resolved.writable) {
        throw new DeviceFileError(`couldn't create file: ${strerror('EROFS')}`, {
          devicePath,
          errno: 'EROFS',
        });
      }
      if (isDiskFull()) return fullDiskWriter(devicePath);
      const hostPath = resolved.hostPath;
      try {
        await mkdir(dirname(hostPath), { recursive: true });
        // A new inode rather than truncating: a binary that is running keeps its old text (no ETXTBSY).
        await unlink(hostPath).catch((error: unknown) => {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        });
      } catch (error) {
        throw deviceFileError("couldn't create file", devicePath, error);
      }
      const handle = await open(hostPath, 'wx', permissions).catch((error: unknown) => {
        throw deviceFileError("couldn't create file", devicePath, error);
      });
      let closed = false;
      // DATA chunks are at most 64 KiB: gather them so the disk sees a few large writes, not hundreds.
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async (): Promise<void> => {
        if (pendingBytes === 0) return;
        const parts = pending;
        pending = [];
        pendingBytes = 0;
        await handle.writev(parts).catch((error: unknown) => {
          throw deviceFileError('write failed', devicePath, error);
        });
      };
      const closeOnce = async (): Promise<void> => {
        if (closed) return;
        closed = true;
        await handle.close();
      };
      const writer: DeviceFileWriter = {
        async write(bytes) {
          if (isDiskFull())
            throw new DeviceFileError(`write failed: ${strerror('ENOSPC')}`, { devicePath, errno: 'ENOSPC' });
          pending.push(bytes);
          pendingBytes += bytes.byteLength;
          if (pendingBytes >= WRITE_BATCH_BYTES) await flush();
        },
        async finish(mtimeS) {
          await flush();
          try {
            await closeOnce();
            // The umask trimmed the mode given to open(); adbd sets exactly what the host asked for.
            await chmod(hostPath, permissions);
            if (mtimeS > 0) await utimes(hostPath, mtimeS, mtimeS);
          } catch (error) {
            throw deviceFileError('write failed', devicePath, error);
          }
        },
        async abort() {
          pending = [];
          pendingBytes = 0;
          await closeOnce().catch(() => undefined);
          await unlink(hostPath).catch(() => undefined);
        },
      };
      return writer;
    },
  };
}

/**
 * A full disk as adbd meets it: creating the file works, the first write fails with ENOSPC, and adbd
 * answers FAIL then (after the first DATA chunk, not at SEND). Finishing fails too, so even an empty push
 * is refused while the fault is on. Nothing is written to the host.
 */
function fullDiskWriter(devicePath: string): DeviceFileWriter {
  const noSpace = (): DeviceFileError =>
    new DeviceFileError(`write failed: ${strerror('ENOSPC')}`, { devicePath, errno: 'ENOSPC' });
  return {
    write: () => Promise.reject(noSpace()),
    finish: () => Promise.reject(noSpace()),
    abort: () => Promise.resolve(),
  };
}
