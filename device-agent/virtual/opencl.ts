/**
 * Finds the host's OpenCL ICD loader for a virtual phone's /vendor/lib64 (sandbox.ts, VendorOpenCl). I/O only:
 * which files exist, and their real paths.
 */
import { existsSync, realpathSync } from 'node:fs';
import type { VendorOpenCl } from './sandbox.ts';

/** Library folders the host's dynamic loader searches for libOpenCL (Debian multiarch first). */
const HOST_LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib',
];
const HOST_NAMES = ['libOpenCL.so', 'libOpenCL.so.1'];

/** The host's OpenCL to expose, or undefined when the host has none (then the phone has no OpenCL either). */
export function findHostOpenCl(): VendorOpenCl | undefined {
  const found = new Map<string, string>();
  for (const dir of HOST_LIBRARY_DIRS)
    for (const name of HOST_NAMES) {
      const path = `${dir}/${name}`;
      if (existsSync(path)) found.set(name, realpathSync(path));
    }
  const library = found.get('libOpenCL.so.1') ?? found.get('libOpenCL.so');
  if (library === undefined) return undefined;
  return { library, hidden: [...new Set(found.values())] };
}
