/**
 * Toolchain detection for `prunelab doctor`: which compilers and tools are present, their versions, and
 * what to do when one is missing.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface ToolStatus {
  readonly name: string;
  readonly purpose: string;
  readonly present: boolean;
  /** First line of the tool's version output. */
  readonly version?: string;
  /** What to do when it is missing (a Debian package or a setup step). */
  readonly fix: string;
  /** False for tools only some workflows need (the NDK: Debian's cross compiler also builds arm64). */
  readonly required: boolean;
}

interface CommandProbe {
  readonly name: string;
  readonly command: string;
  readonly versionArgs: readonly string[];
  readonly debianPackage: string;
  readonly purpose: string;
  readonly required: boolean;
}

const COMMAND_PROBES: readonly CommandProbe[] = [
  {
    name: 'make',
    command: 'make',
    versionArgs: ['--version'],
    debianPackage: 'make',
    purpose: 'drives the agent builds',
    required: true,
  },
  {
    name: 'cc',
    command: 'cc',
    versionArgs: ['--version'],
    debianPackage: 'gcc',
    purpose: 'builds the host agent',
    required: true,
  },
  {
    name: 'aarch64-linux-gnu-gcc',
    command: 'aarch64-linux-gnu-gcc',
    versionArgs: ['--version'],
    debianPackage: 'gcc-aarch64-linux-gnu',
    purpose: 'builds the static arm64-v8a agent for phones',
    required: false,
  },
  {
    name: 'adb',
    command: 'adb',
    versionArgs: ['version'],
    debianPackage: 'adb',
    purpose: 'talks to Android phones',
    required: false,
  },
  {
    name: 'qemu-aarch64-static',
    command: 'qemu-aarch64-static',
    versionArgs: ['--version'],
    debianPackage: 'qemu-user-static',
    purpose: 'runs the arm64 agent on this host (tests and virtual phones)',
    required: false,
  },
  {
    name: 'chromium',
    command: 'chromium',
    versionArgs: ['--version'],
    debianPackage: 'chromium',
    purpose: 'checks HTML reports headlessly',
    required: false,
  },
];

const PROBE_TIMEOUT_MS = 15_000;

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? ''
  );
}

async function probeCommand(probe: CommandProbe): Promise<ToolStatus> {
  const base = {
    name: probe.name,
    purpose: probe.purpose,
    required: probe.required,
    fix: `apt-get install ${probe.debianPackage}`,
  };
  const result = await execa(probe.command, probe.versionArgs, { reject: false, timeout: PROBE_TIMEOUT_MS });
  if (result.exitCode === undefined) return { ...base, present: false };
  const version = firstLine(String(result.stdout)) || firstLine(String(result.stderr));
  return { ...base, present: true, version };
}

async function probeNdk(env: Readonly<Record<string, string | undefined>>): Promise<ToolStatus> {
  const base = {
    name: 'android-ndk',
    purpose: 'builds the arm64-v8a agent with the compiler and libc Android ships (optional)',
    required: false,
    fix: 'download an Android NDK (r23 or newer) from https://developer.android.com/ndk/downloads and set ANDROID_NDK_HOME',
  };
  const home = env.ANDROID_NDK_HOME;
  if (home === undefined || home === '') return { ...base, present: false };
  try {
    await access(join(home, 'toolchains', 'llvm', 'prebuilt', 'linux-x86_64', 'bin'));
  } catch {
    return {
      ...base,
      present: false,
      fix: `ANDROID_NDK_HOME=${home} has no toolchains/llvm/prebuilt/linux-x86_64: ${base.fix}`,
    };
  }
  let version = home;
  try {
    const properties = await readFile(join(home, 'source.properties'), 'utf8');
    version = /Pkg\.Revision\s*=\s*(\S+)/.exec(properties)?.[1] ?? home;
  } catch {
    // An NDK without source.properties still builds; its folder name is the best version we have.
  }
  return { ...base, present: true, version: `NDK ${version}` };
}

/** One OpenCL platform as `clinfo -l` lists it. */
export interface OpenClPlatform {
  readonly name: string;
  readonly devices: readonly string[];
}

/**
 * `clinfo -l` output -> platforms and their devices (pure). The format is one `Platform #N: NAME` line per
 * platform, each device under it as `` `-- Device #M: NAME `` (or `+-- ` when more follow).
 */
export function parseClinfoList(text: string): OpenClPlatform[] {
  const platforms: { name: string; devices: string[] }[] = [];
  for (const line of text.split('\n')) {
    const platform = /^Platform #\d+: (.*)$/.exec(line.trim());
    if (platform) platforms.push({ name: platform[1]?.trim() ?? '', devices: [] });
    const device = /^[`+]-- Device #\d+: (.*)$/.exec(line.trim());
    if (device) platforms.at(-1)?.devices.push(device[1]?.trim() ?? '');
  }
  return platforms;
}

/** The OpenCL platforms the agent's GPU backend would see here (through the same ICD loader). */
async function probeOpenCl(): Promise<ToolStatus> {
  const base = {
    name: 'opencl',
    purpose:
      "runs the agent's GPU backend on this host (PoCL: OpenCL on the CPU, for tests, never GPU speed)",
    required: false,
    fix: "apt-get install pocl-opencl-icd ocl-icd-libopencl1 opencl-headers clinfo (or the GPU vendor's OpenCL driver)",
  };
  const result = await execa('clinfo', ['-l'], { reject: false, timeout: PROBE_TIMEOUT_MS });
  if (result.exitCode === undefined) return { ...base, present: false };
  const platforms = parseClinfoList(String(result.stdout));
  if (platforms.length === 0)
    return { ...base, present: false, fix: `clinfo lists no OpenCL platform: ${base.fix}` };
  const version = platforms
    .map((p) => `${p.name}: ${p.devices.length > 0 ? p.devices.join(', ') : 'no device'}`)
    .join('; ');
  return { ...base, present: true, version };
}

export async function detectToolchains(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<readonly ToolStatus[]> {
  return Promise.all([...COMMAND_PROBES.map(probeCommand), probeNdk(env), probeOpenCl()]);
}
