/**
 * The test command (`npm test`): preflight for the system tools the suite drives for real, then the
 * formatter/linter and the type checkers, then the builds (report page script, agents), then every
 * `*.test.ts` under node's test runner. A missing tool fails the run with the Debian package to install: nothing is skipped.
 *
 *   npm test               everything
 *   npm test -- --unit     skip preflight and builds (pure tests only)
 *   npm test -- FILTER     only test files whose path contains FILTER
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingTools } from './preflight.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));
// The CLI looks for phones on the local adb server by default; the suite's phones are its own virtual ones
// on test ports, so a developer's real phones are never swept by a test.
process.env.PRUNELAB_NO_ADB ??= '1';

function step(title: string, command: string, commandArgs: string[]): void {
  console.log(`\n# ${title}: ${command} ${commandArgs.join(' ')}`);
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`\n${title} failed (exit ${result.status ?? result.signal}).`);
    process.exit(1);
  }
}

function findTests(dir: string): string[] {
  const skip = new Set(['node_modules', 'dist', 'build', '.git', 'test-artifacts']);
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skip.has(entry.name) ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

if (!unitOnly) {
  const missing = missingTools();
  if (missing.length > 0) {
    console.error('The test suite drives these tools for real and they are missing:');
    for (const tool of missing)
      console.error(`  ${tool.command}: apt-get install ${tool.debianPackage}  (${tool.why})`);
    console.error(
      'Install them all with: bash test/install-system-packages.sh (it calls sudo itself when not root)',
    );
    process.exit(1);
  }
}

step('format and lint', 'npx', ['biome', 'check', '.']);
step('type check', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
// The report page's script has its own program: DOM types, checked against the data the report embeds.
step('type check (report page)', 'npx', ['tsc', '-p', 'reports/client/tsconfig.json']);
if (!unitOnly) {
  step('report page script', 'npm', ['run', '-s', 'build:client']);
  step('host agent', 'make', ['-s', '-C', 'device-agent', 'host']);
  step('arm64 agent', 'make', ['-s', '-C', 'device-agent', 'arm64']);
}

const files = findTests(root)
  .filter((f) => filters.length === 0 || filters.some((filter) => f.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(', ') || '*.test.ts'}`);
  process.exit(1);
}
step('tests', process.execPath, [
  '--import',
  'tsx',
  // A MaxListenersExceededWarning fails the file it happens in (listener leaks grow with a sweep's length).
  '--import',
  './test/support/fail-on-listener-leak.ts',
  '--test',
  '--test-timeout=300000',
  '--test-reporter',
  'spec',
  ...files,
]);
