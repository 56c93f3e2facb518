/**
 * Which make target builds the agent for an ABI, and where the binary lands (device-agent/Makefile).
 * Pure: the environment is passed in.
 */
import { join } from 'node:path';

export type MakeTarget = 'host' | 'arm64' | 'ndk';

export interface AgentTarget {
  readonly abi: string;
  readonly makeTarget: MakeTarget;
  /** Relative to the device-agent folder. */
  readonly binaryPath: string;
}

/** ABIs we can build; `armeabi-v7a` is an optional ABI with no make target yet. */
export const BUILDABLE_ABIS = ['host', 'arm64-v8a'] as const;

/**
 * `host` builds natively; `arm64-v8a` uses the Android NDK when ANDROID_NDK_HOME is set (a phone's libc,
 * the compiler Android ships with) and Debian's static aarch64 cross compiler otherwise.
 */
export function targetForAbi(
  abi: string,
  env: Readonly<Record<string, string | undefined>>,
): AgentTarget | undefined {
  if (abi === 'host') return { abi, makeTarget: 'host', binaryPath: join('build', 'host', 'prunelab-agent') };
  if (abi !== 'arm64-v8a') return undefined;
  const ndk = env.ANDROID_NDK_HOME !== undefined && env.ANDROID_NDK_HOME !== '';
  return ndk
    ? { abi, makeTarget: 'ndk', binaryPath: join('build', 'android-arm64-v8a', 'prunelab-agent') }
    : { abi, makeTarget: 'arm64', binaryPath: join('build', 'arm64-v8a', 'prunelab-agent') };
}

export interface BuildRecipe {
  readonly hash: string;
  readonly compiler: string;
  readonly flags: string;
}

/**
 * Reads the build hash, compiler and flags from the compile command `make -n` prints. The Makefile
 * computes the hash (sources + compiler version + flags); reading it back instead of recomputing it here
 * keeps a single definition of what a build is.
 */
export function parseBuildRecipe(makeDryRunOutput: string): BuildRecipe | undefined {
  const hash = /-DPL_BUILD_HASH='"([0-9a-f]+)"'/.exec(makeDryRunOutput)?.[1];
  const compiler = /-DPL_COMPILER='"([^"]*)"'/.exec(makeDryRunOutput)?.[1];
  const flags = /-DPL_CFLAGS='"([^"]*)"'/.exec(makeDryRunOutput)?.[1];
  if (hash === undefined || compiler === undefined || flags === undefined) return undefined;
  return { hash, compiler, flags };
}
