/**
 * Builds the agent for an ABI with `make -C device-agent <target>`, skipping the build when the binary
 * already embeds the build hash the Makefile computes now (same sources, compiler version and flags).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { AgentBuildError } from './errors.ts';
import { type BuildRecipe, type MakeTarget, parseBuildRecipe, targetForAbi } from './targets.ts';

export interface AgentBuild extends BuildRecipe {
  readonly abi: string;
  readonly makeTarget: MakeTarget;
  /** Absolute path of the binary. */
  readonly binaryPath: string;
  /** True when the existing binary already had this hash and make was not run. */
  readonly cached: boolean;
  readonly durationMs: number;
}

export interface BuildAgentOptions {
  /** The device-agent folder (holds the Makefile). */
  readonly agentDir: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Rebuild even when the cache key matches. */
  readonly force?: boolean;
  /**
   * Extra compiler flags (the Makefile's EXTRA_CFLAGS, part of the build hash). A testing aid: such a build
   * goes to a folder of its own under build/, so the plain build other commands use is never replaced.
   */
  readonly extraCflags?: string;
}

const MAKE_TIMEOUT_MS = 10 * 60_000;

/** make variables for a build with extra flags: the flags, and a build folder named after them. */
function extraVariables(
  agentDir: string,
  extraCflags: string | undefined,
): { vars: string[]; buildDir?: string } {
  const flags = extraCflags?.trim() ?? '';
  if (flags === '') return { vars: [] };
  const buildDir = join(
    agentDir,
    'build',
    `extra-${createHash('sha256').update(flags).digest('hex').slice(0, 12)}`,
  );
  return { vars: [`EXTRA_CFLAGS=${flags}`, `BUILD_DIR=${buildDir}`], buildDir };
}

async function runMake(agentDir: string, args: readonly string[], abi: string, target: MakeTarget) {
  const result = await execa('make', ['-C', agentDir, ...args], { reject: false, timeout: MAKE_TIMEOUT_MS });
  if (result.failed && result.exitCode === undefined) {
    throw new AgentBuildError(
      `could not run make for the ${abi} agent: ${result.shortMessage}. Install make (apt-get install make).`,
      { abi, makeTarget: target },
      { cause: result.cause },
    );
  }
  return result;
}

/** The build hash, compiler and flags the Makefile would use now, without building. */
export async function expectedRecipe(
  agentDir: string,
  abi: string,
  target: MakeTarget,
  vars: readonly string[] = [],
): Promise<BuildRecipe> {
  // -n prints the compile command with the Makefile's $(shell) expansions done; -B prints it even when the
  // binary is up to date by timestamps.
  const result = await runMake(agentDir, ['-n', '-B', target, ...vars], abi, target);
  const recipe = parseBuildRecipe(String(result.stdout));
  if (result.exitCode !== 0 || recipe === undefined) {
    throw new AgentBuildError(
      `could not read the ${abi} build hash from \`make -n ${target}\` in ${agentDir} ` +
        `(exit ${result.exitCode}): expected a compile command with -DPL_BUILD_HASH. ${String(result.stderr).trim()}`,
      { abi, makeTarget: target, exitCode: result.exitCode ?? null, stderr: String(result.stderr) },
    );
  }
  return recipe;
}

/** The compiler writes the hash into the binary as a string literal; finding it there is the cache check. */
async function binaryHasHash(binaryPath: string, hash: string): Promise<boolean> {
  try {
    return (await readFile(binaryPath)).includes(Buffer.from(hash, 'ascii'));
  } catch {
    return false;
  }
}

export async function buildAgent(abi: string, options: BuildAgentOptions): Promise<AgentBuild> {
  const startedMs = performance.now();
  const env = options.env ?? process.env;
  const target = targetForAbi(abi, env);
  if (target === undefined) {
    throw new AgentBuildError(
      `cannot build the agent for ABI '${abi}': expected one of host, arm64-v8a`,
      { abi },
      { kind: 'input' },
    );
  }
  const agentDir = resolve(options.agentDir);
  const extra = extraVariables(agentDir, options.extraCflags);
  const binaryPath =
    extra.buildDir === undefined
      ? join(agentDir, target.binaryPath)
      : join(extra.buildDir, relative('build', target.binaryPath));
  const recipe = await expectedRecipe(agentDir, abi, target.makeTarget, extra.vars);
  const done = (cached: boolean): AgentBuild => ({
    ...recipe,
    abi,
    makeTarget: target.makeTarget,
    binaryPath,
    cached,
    durationMs: performance.now() - startedMs,
  });
  if (options.force !== true && (await binaryHasHash(binaryPath, recipe.hash))) return done(true);

  // Plain make first; -B when make's timestamps say "up to date" but the hash differs (a new compiler).
  const plain = ['-s', target.makeTarget, ...extra.vars];
  const always = ['-s', '-B', target.makeTarget, ...extra.vars];
  for (const args of options.force === true ? [always] : [plain, always]) {
    const result = await runMake(agentDir, args, abi, target.makeTarget);
    if (result.exitCode !== 0) {
      throw new AgentBuildError(
        `building the ${abi} agent failed (make ${target.makeTarget} in ${agentDir}, exit ${result.exitCode}):\n` +
          `${String(result.stderr).trim()}\nRun \`prunelab doctor\` to check the toolchains.`,
        {
          abi,
          makeTarget: target.makeTarget,
          exitCode: result.exitCode ?? null,
          stderr: String(result.stderr),
        },
      );
    }
    if (await binaryHasHash(binaryPath, recipe.hash)) return done(false);
  }
  throw new AgentBuildError(
    `the ${abi} agent at ${binaryPath} does not embed build hash ${recipe.hash} after a rebuild: ` +
      'the sources changed during the build, or the Makefile no longer passes -DPL_BUILD_HASH. Build again.',
    { abi, makeTarget: target.makeTarget },
  );
}
