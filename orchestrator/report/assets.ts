/**
 * The sources a report inlines: d3 and Observable Plot's UMD bundles from node_modules (resolved like any
 * dependency, so `npm ci` is all a machine needs) and the page script bundled from reports/client/. Read
 * once per process: a sweep that writes a report at its end should not re-read 700 KiB for nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReportAssets } from '../../reports/types.ts';
import { ReportAssetError } from './errors.ts';

const require = createRequire(import.meta.url);

function isPackageRoot(dir: string, pkg: string): boolean {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === pkg;
  } catch {
    return false;
  }
}

function packageFile(pkg: string, relative: string): string {
  const tried: string[] = [];
  try {
    // Not every package exports its package.json: resolve its entry, then walk up to the package folder.
    let root = dirname(require.resolve(pkg));
    while (!isPackageRoot(root, pkg) && dirname(root) !== root) root = dirname(root);
    const path = join(root, relative);
    tried.push(path);
    if (existsSync(path)) return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ReportAssetError(
      `cannot find the npm package ${pkg}, which reports inline: expected it in node_modules; run \`npm install\` in the prunelab folder.`,
      { asset: pkg, tried },
      { cause: error },
    );
  }
  throw new ReportAssetError(
    `the npm package ${pkg} has no ${relative} (looked at ${tried.join(', ')}): expected its UMD bundle; reinstall it with \`npm install\`.`,
    { asset: `${pkg}/${relative}`, tried },
  );
}

/** The page script's bundle, relative to the package's dist/ folder (`npm run build:client` writes it). */
const CLIENT_BUNDLE = join('reports', 'client', 'report-client.js');
/** Its TypeScript sources, relative to the package root (a source checkout has them; an installed package may not). */
const CLIENT_SOURCES = join('reports', 'client');

/** The newest modification time of the client's sources under `root`, or undefined without sources. */
function newestClientSourceMs(root: string): number | undefined {
  const folder = join(root, CLIENT_SOURCES);
  if (!existsSync(folder)) return undefined;
  const times = readdirSync(folder)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => statSync(join(folder, name)).mtimeMs);
  return times.length === 0 ? undefined : Math.max(...times);
}

/**
 * The report page's script, bundled from reports/client/*.ts at build time:
 * dist/reports/client/report-client.js above the running code (orchestrator/report/ under tsx, dist/orchestrator/report/ in the npm build). In a
 * source checkout a bundle older than its sources is refused: the page would not match the code under test.
 */
function clientScript(): string {
  const tried: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const [root, candidate] =
      basename(dir) === 'dist'
        ? [dirname(dir), join(dir, CLIENT_BUNDLE)]
        : [dir, join(dir, 'dist', CLIENT_BUNDLE)];
    tried.push(candidate);
    if (existsSync(candidate)) {
      const sourcesMs = newestClientSourceMs(root);
      if (sourcesMs !== undefined && sourcesMs > statSync(candidate).mtimeMs) {
        throw new ReportAssetError(
          `the report page script ${candidate} is older than its sources in ${join(root, CLIENT_SOURCES)}: expected a bundle of the current sources; run \`npm run build:client\` (or \`npm run build\`).`,
          { asset: CLIENT_BUNDLE, tried },
        );
      }
      return readFileSync(candidate, 'utf8');
    }
    dir = dirname(dir);
  }
  throw new ReportAssetError(
    `cannot find the report page script ${CLIENT_BUNDLE} in a dist/ folder above ${fileURLToPath(import.meta.url)}: expected the bundle that \`npm run build\` writes; run \`npm run build:client\` in the prunelab folder.`,
    { asset: CLIENT_BUNDLE, tried },
  );
}

let cached: ReportAssets | undefined;

export function loadReportAssets(): ReportAssets {
  cached ??= {
    d3Js: packageFile('d3', 'dist/d3.min.js'),
    plotJs: packageFile('@observablehq/plot', 'dist/plot.umd.min.js'),
    clientJs: clientScript(),
  };
  return cached;
}
