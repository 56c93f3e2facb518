/**
 * A folder of agent builds kept by hash (`<cache>/<hash>/prunelab-agent` + `build.json`), so that a later
 * run can execute the exact binary of an earlier one (the nightly's A/B re-measure against the previous
 * night's build). The newest `keep` builds of each ABI stay; older ones are removed.
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentBuild } from './agent-build.ts';
import { AgentBuildError } from './errors.ts';

export interface CachedBuild {
  readonly hash: string;
  readonly abi: string;
  readonly compiler: string;
  readonly flags: string;
  readonly binaryPath: string;
  /** Last time the build was kept (ISO-8601): the eviction order. */
  readonly keptAt: string;
}

const BINARY = 'prunelab-agent';
const META = 'build.json';

async function readMeta(cacheDir: string, hash: string): Promise<CachedBuild | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(cacheDir, hash, META), 'utf8')) as Omit<
      CachedBuild,
      'binaryPath'
    >;
    return { ...meta, binaryPath: join(cacheDir, hash, BINARY) };
  } catch {
    // A folder without readable metadata is not a build (a copy interrupted half-way): never run it.
    return undefined;
  }
}

/** The cached build of this hash, or undefined when it was never kept or has been evicted. */
export async function findCachedBuild(cacheDir: string, hash: string): Promise<CachedBuild | undefined> {
  if (!/^[0-9a-f]+$/.test(hash)) return undefined;
  return readMeta(cacheDir, hash);
}

async function listCached(cacheDir: string): Promise<CachedBuild[]> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  const builds = await Promise.all(names.map((name) => readMeta(cacheDir, name)));
  return builds.filter((build) => build !== undefined);
}

/** Copies the build into the cache (or refreshes its place), then evicts the oldest beyond `keep` of its ABI. */
export async function keepBuild(
  cacheDir: string,
  build: Pick<AgentBuild, 'hash' | 'abi' | 'compiler' | 'flags' | 'binaryPath'>,
  keep: number,
  now: Date = new Date(),
): Promise<CachedBuild> {
  const dir = join(cacheDir, build.hash);
  const meta = {
    hash: build.hash,
    abi: build.abi,
    compiler: build.compiler,
    flags: build.flags,
    keptAt: now.toISOString(),
  };
  try {
    await mkdir(dir, { recursive: true });
    // The binary first, the metadata last: a folder with metadata always has a whole binary.
    if ((await readMeta(cacheDir, build.hash)) === undefined)
      await copyFile(build.binaryPath, join(dir, BINARY));
    await writeFile(join(dir, META), `${JSON.stringify(meta, null, 2)}\n`);
  } catch (error) {
    throw new AgentBuildError(
      `could not keep agent build ${build.hash} in ${cacheDir}: ${(error as Error).message}. ` +
        'Check that the folder beside the database is writable.',
      { abi: build.abi },
      { cause: error },
    );
  }
  const sameAbi = (await listCached(cacheDir))
    .filter((cached) => cached.abi === build.abi)
    .sort((a, b) => (a.keptAt < b.keptAt ? 1 : a.keptAt > b.keptAt ? -1 : 0));
  for (const old of sameAbi.slice(keep)) await rm(join(cacheDir, old.hash), { recursive: true, force: true });
  return { ...meta, binaryPath: join(dir, BINARY) };
}
