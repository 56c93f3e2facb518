/**
 * The sources a report inlines: d3 and Observable Plot's UMD bundles from node_modules (resolved like any
 * dependency, so `npm ci` is all a machine needs) and the page script from reports/client/. Read once per
 * process: a sweep that writes a report at its end should not re-read 700 KiB for nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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

/** reports/client/report-client.js, next to the sources (tsx) or above dist/ (the npm build). */
function clientScript(): string {
  const tried: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, 'reports', 'client', 'report-client.js');
    tried.push(candidate);
    if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
    dir = dirname(dir);
  }
  throw new ReportAssetError(
    `cannot find the report page script reports/client/report-client.js above ${fileURLToPath(import.meta.url)}: the prunelab installation is incomplete.`,
    { asset: 'reports/client/report-client.js', tried },
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
