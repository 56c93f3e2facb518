/**
 * How a phone command runs on the host: the argv for bubblewrap (and, on an arm64 phone, the private
 * binfmt_misc registration for qemu). Pure: the host root listing and paths come in as data.
 *
 * Inside the sandbox the host's root is visible as it is, except:
 *   /data/local/tmp   the phone's sandbox folder (read-write), so pushed scripts can use device paths
 *   /sys              the fake sysfs (read-only, like a non-rooted phone's), so the agent's default sysfs
 *                     root is the phone's and `cat /sys/class/thermal/...` works as on a phone
 *   /system           getprop, dumpsys, build.prop (read-only)
 *   /vendor/lib64     libOpenCL.so: the host's OpenCL ICD loader, when the phone exposes OpenCL
 *   /proc, /dev       fresh, in a PID namespace: closing the stream kills every process the command started
 * It isolates paths, not privileges: commands run as the phone process's user, on the host.
 */

export interface RootEntry {
  readonly name: string;
  readonly kind: 'dir' | 'file' | 'symlink';
  /** Symlink target, for kind `symlink`. */
  readonly target?: string;
}

export interface SandboxPaths {
  readonly sandboxDir: string;
  readonly sysfsDir: string;
  readonly systemDir: string;
}

/** The disk-full fault: /data/local/tmp becomes a full tiny tmpfs with the sandbox's entries bound read-only. */
export interface DiskFullView {
  /** Top-level entries of the sandbox folder. */
  readonly sandboxEntries: readonly RootEntry[];
  /** File descriptor (in the child) from which bwrap reads the bytes that fill the tmpfs. */
  readonly fillFd: number;
}

export const DEVICE_TMP_DIR = '/data/local/tmp';
/** bubblewrap 0.8 has no overlay: a tmpfs of one page filled by this file makes new files fail with ENOSPC. */
export const DISK_FULL_TMPFS_BYTES = 4096;
export const DISK_FULL_FILL_NAME = '.prunelab-disk-full';

/** Host root entries the sandbox replaces or that make no sense on a phone. */
const REPLACED_ROOT_ENTRIES = new Set(['proc', 'dev', 'sys', 'data', 'system', 'vendor']);

/** Where Qualcomm phones ship OpenCL, and where the virtual phone puts the host's ICD loader. */
export const VENDOR_OPENCL_PATH = '/vendor/lib64/libOpenCL.so';

/**
 * The host's OpenCL as a phone would have it: `library` (the host's ICD loader, a real file) appears at
 * VENDOR_OPENCL_PATH, and each of `hidden` (the host's libOpenCL files, by real path) reads as an empty file,
 * so `dlopen("libOpenCL.so.1")` fails as on a phone and only the vendor path loads.
 */
export interface VendorOpenCl {
  readonly library: string;
  readonly hidden: readonly string[];
}

function bindEntry(entry: RootEntry, hostDir: string, sandboxDir: string, readOnly: boolean): string[] {
  const source = `${hostDir === '/' ? '' : hostDir}/${entry.name}`;
  const dest = `${sandboxDir === '/' ? '' : sandboxDir}/${entry.name}`;
  if (entry.kind === 'symlink') return ['--symlink', entry.target ?? '', dest];
  return [readOnly || entry.kind === 'file' ? '--ro-bind' : '--bind', source, dest];
}

export interface BwrapInputs {
  readonly rootEntries: readonly RootEntry[];
  readonly paths: SandboxPaths;
  readonly diskFull?: DiskFullView;
  /** Shell command line, or undefined for an interactive shell reading stdin. */
  readonly commandLine: string | undefined;
  /** Stay in the host's PID namespace, so that jobs the command detaches outlive it (detachedJobs). */
  readonly sharedPidNamespace?: boolean;
  readonly vendorOpenCl?: VendorOpenCl;
}

export function bwrapArgs(inputs: BwrapInputs): string[] {
  const args = [
    '--die-with-parent',
    ...(inputs.sharedPidNamespace === true ? [] : ['--unshare-pid']),
    '--tmpfs',
    '/',
  ];
  for (const entry of inputs.rootEntries) {
    if (!REPLACED_ROOT_ENTRIES.has(entry.name)) args.push(...bindEntry(entry, '/', '/', false));
  }
  args.push('--proc', '/proc', '--dev', '/dev');
  args.push('--ro-bind', inputs.paths.sysfsDir, '/sys');
  args.push('--ro-bind', inputs.paths.systemDir, '/system');
  if (inputs.vendorOpenCl !== undefined) {
    // The vendor bind comes first: it keeps the real file even after its host path is hidden below.
    args.push('--ro-bind', inputs.vendorOpenCl.library, VENDOR_OPENCL_PATH);
    for (const path of inputs.vendorOpenCl.hidden) args.push('--ro-bind', '/dev/null', path);
  }
  if (inputs.diskFull === undefined) {
    args.push('--bind', inputs.paths.sandboxDir, DEVICE_TMP_DIR);
  } else {
    args.push('--size', String(DISK_FULL_TMPFS_BYTES), '--tmpfs', DEVICE_TMP_DIR);
    for (const entry of inputs.diskFull.sandboxEntries) {
      if (entry.name !== DISK_FULL_FILL_NAME)
        args.push(...bindEntry(entry, inputs.paths.sandboxDir, DEVICE_TMP_DIR, true));
    }
    args.push('--file', String(inputs.diskFull.fillFd), `${DEVICE_TMP_DIR}/${DISK_FULL_FILL_NAME}`);
  }
  args.push('--chdir', '/');
  // Shell v1 raw mode: adbd points the child's stdout and stderr at the same socket.
  args.push('/bin/sh');
  if (inputs.commandLine !== undefined) args.push('-c', `exec 2>&1\n${inputs.commandLine}`);
  return args;
}

/**
 * binfmt_misc registration of qemu for static aarch64 ELF files (the magic and mask of Debian's
 * qemu-user-static). Flag F opens the interpreter now, so it need not exist inside the sandbox.
 */
export function qemuAarch64Registration(qemuPath: string): string {
  const magic = '\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00';
  const mask =
    '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';
  return `:prunelab-qemu-aarch64:M::${magic}:${mask}:${qemuPath}:F`;
}

const ENTER_BINFMT_SCRIPT = [
  'set -e',
  'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc',
  `printf '%s' "$1" > /proc/sys/fs/binfmt_misc/register`,
  'shift',
  'exec "$@"',
].join('\n');

/**
 * Wraps a command so that it runs in a private user and mount namespace with its own binfmt_misc instance
 * (Linux >= 6.7 allows that to an unprivileged user namespace) where aarch64 ELF files run through qemu.
 * Nothing is registered on the host: the instance dies with the namespace.
 */
export function withPrivateBinfmt(
  unsharePath: string,
  registration: string,
  argv: readonly string[],
): string[] {
  return [
    unsharePath,
    '--user',
    '--map-root-user',
    '--mount',
    '/bin/sh',
    '-c',
    ENTER_BINFMT_SCRIPT,
    'prunelab-binfmt',
    registration,
    ...argv,
  ];
}

/**
 * Fallback when a private binfmt_misc cannot be mounted (older kernels): put the qemu path in front of the
 * words in command position that name an aarch64 ELF file: the first word, and the first after `;`, `&&`,
 * `||`, `|`, `&`, `(`, a newline or `exec`. `./x` is taken relative to the last `cd ABSOLUTE` before it (or
 * `/`). A binary started by a script or through `env`/`taskset` is not seen: the binfmt route has no such limit.
 */
export function prefixAarch64Commands(
  commandLine: string,
  qemuPath: string,
  isAarch64Elf: (devicePath: string) => boolean,
): string {
  let cwd = '/';
  return commandLine.replace(
    /(^|;|&&|\|\||\||&|\(|\n)(\s*)(exec\s+)?([^\s;&|()<>]+)/g,
    (
      whole,
      separator: string,
      space: string,
      exec: string | undefined,
      word: string,
      offset: number,
      text: string,
    ) => {
      if (word === 'cd') {
        const target = /^cd\s+(\/[^\s;&|()]*)/.exec(text.slice(offset + separator.length + space.length));
        if (target?.[1] !== undefined) cwd = target[1];
        return whole;
      }
      const devicePath = word.startsWith('/')
        ? word
        : word.startsWith('./')
          ? `${cwd.replace(/\/$/, '')}/${word.slice(2)}`
          : undefined;
      if (devicePath === undefined || !isAarch64Elf(devicePath)) return whole;
      return `${separator}${space}${exec ?? ''}${qemuPath} ${word}`;
    },
  );
}

/** The shell environment of `adb shell` on a phone (adbd sets these), plus the host's PATH behind /system/bin. */
export function phoneEnvironment(hostPath: string, hostname: string): Record<string, string> {
  return {
    PATH: `/system/bin:${hostPath}`,
    HOME: '/',
    TMPDIR: DEVICE_TMP_DIR,
    USER: 'shell',
    LOGNAME: 'shell',
    SHELL: '/bin/sh',
    HOSTNAME: hostname,
    ANDROID_DATA: '/data',
    ANDROID_ROOT: '/system',
    LANG: 'C.UTF-8',
  };
}

/** True when these bytes start an ELF file for machine EM_AARCH64 (e_machine 183 at offset 18). */
export function isAarch64ElfHeader(header: Uint8Array): boolean {
  return (
    header.length >= 20 &&
    header[0] === 0x7f &&
    header[1] === 0x45 &&
    header[2] === 0x4c &&
    header[3] === 0x46 &&
    header[18] === 183 &&
    header[19] === 0
  );
}
