/**
 * Root detection and the CPU governor lock (device I/O through the Device port). Only a rooted phone can
 * write cpufreq files; an unrooted one (the virtual phone by default, most lab phones) is left alone.
 */
import type { Device } from '../transport/port.ts';

export type RootAccess = 'adb-root' | 'su' | 'none';

const TIMEOUT_MS = 10_000;

/**
 * adbd runs as root only on a debuggable build (`adb root` needs ro.debuggable=1), so uid 0 alone is not
 * taken as root: the virtual phone's commands run as whatever user runs it. `su` is looked for only where
 * Android root tools install it, never on the PATH (a host's /bin/su is not a rooted phone).
 */
export function parseRootAccess(idOutput: string, debuggable: string, suOutput: string): RootAccess {
  if (/uid=0\(/.test(idOutput) && debuggable.trim() === '1') return 'adb-root';
  if (/uid=0\(/.test(suOutput)) return 'su';
  return 'none';
}

const SU_PATHS = ['/system/bin/su', '/system/xbin/su', '/sbin/su', '/debug_ramdisk/su'];

export async function detectRoot(device: Device): Promise<RootAccess> {
  const result = await device.shell(
    `id; echo __PL_SEP__; getprop ro.debuggable; echo __PL_SEP__; for p in ${SU_PATHS.join(' ')}; do [ -x $p ] && { $p -c id </dev/null 2>/dev/null; break; }; done; true`,
    { timeoutMs: TIMEOUT_MS },
  );
  const [id = '', debuggable = '', su = ''] = result.stdout.split('__PL_SEP__');
  return parseRootAccess(id, debuggable, su);
}

function asRoot(access: RootAccess, command: string): string {
  return access === 'su' ? `su -c '${command.replace(/'/g, `'\\''`)}'` : command;
}

const governorFile = (cpu: number): string => `/sys/devices/system/cpu/cpu${cpu}/cpufreq/scaling_governor`;

/** Sets `performance` on the CPUs; returns the governors to restore (cpu -> name). */
export async function lockGovernor(
  device: Device,
  access: RootAccess,
  cpus: readonly number[],
): Promise<Map<number, string>> {
  const previous = new Map<number, string>();
  for (const cpu of cpus) {
    const read = await device.shell(`cat ${governorFile(cpu)}`, { timeoutMs: TIMEOUT_MS });
    const name = read.stdout.trim();
    if (read.exitCode !== 0 || name === '') continue;
    const write = await device.shell(asRoot(access, `echo performance > ${governorFile(cpu)}`), {
      timeoutMs: TIMEOUT_MS,
    });
    if (write.exitCode === 0) previous.set(cpu, name);
  }
  return previous;
}

export async function restoreGovernor(
  device: Device,
  access: RootAccess,
  previous: ReadonlyMap<number, string>,
): Promise<void> {
  for (const [cpu, name] of previous) {
    await device.shell(asRoot(access, `echo ${name} > ${governorFile(cpu)}`), { timeoutMs: TIMEOUT_MS });
  }
}
