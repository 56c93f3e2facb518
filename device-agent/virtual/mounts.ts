/**
 * Where a device path lives on the host. The table is the same one the command sandbox binds (sandbox.ts),
 * so a path means the same file to the sync service and to a shell command. Pure.
 */
import { posix } from 'node:path';

export interface Mount {
  /** Absolute device path, e.g. `/data/local/tmp`. */
  readonly devicePath: string;
  readonly hostPath: string;
  readonly writable: boolean;
}

export type ResolvedPath =
  /** A real file or directory on the host. */
  | {
      readonly kind: 'host';
      readonly hostPath: string;
      readonly writable: boolean;
      readonly devicePath: string;
    }
  /** A directory that exists on the device only to hold mount points (`/data`, `/data/local`). */
  | { readonly kind: 'virtual-dir'; readonly devicePath: string; readonly children: readonly string[] };

/** Normalises a device path: absolute, no `.` or `..`, no trailing slash. Relative paths are taken from `/`. */
export function normalizeDevicePath(devicePath: string): string {
  const normalized = posix.normalize(posix.join('/', devicePath));
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

function isInside(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/**
 * Resolves a device path through the mount table. Paths under no mount are the host's own files, read-only
 * (commands run on the host, so `/proc/cpuinfo` or `/system/bin/sh`-like tools are the host's).
 */
export function resolveDevicePath(mounts: readonly Mount[], devicePath: string): ResolvedPath {
  const path = normalizeDevicePath(devicePath);
  // The longest mount that contains the path wins, as with nested bind mounts.
  const mount = [...mounts]
    .filter((candidate) => isInside(path, candidate.devicePath))
    .sort((a, b) => b.devicePath.length - a.devicePath.length)[0];
  if (mount !== undefined) {
    const rest = path === mount.devicePath ? '' : path.slice(mount.devicePath.length + 1);
    return {
      kind: 'host',
      hostPath: rest === '' ? mount.hostPath : posix.join(mount.hostPath, rest),
      writable: mount.writable,
      devicePath: path,
    };
  }
  if (path !== '/') {
    const children = mounts
      .filter((candidate) => candidate.devicePath.startsWith(`${path}/`))
      .map((candidate) => candidate.devicePath.slice(path.length + 1).split('/')[0] ?? '')
      .filter((child, index, all) => child !== '' && all.indexOf(child) === index);
    if (children.length > 0) return { kind: 'virtual-dir', devicePath: path, children };
  }
  return { kind: 'host', hostPath: path, writable: false, devicePath: path };
}
