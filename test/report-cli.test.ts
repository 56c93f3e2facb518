/**
 * `prunelab sweep` writes a report beside its database unless --no-report; `prunelab report` writes one for
 * a chosen run, with a LUT, and says clearly what is wrong with a bad --run, --db or --mapping. A real
 * (tiny) host sweep through the real CLI wiring.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runPrunelab } from './support/cli.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-report-cli-'));
const dbPath = join(dir, 'lab.db');
after(() => rmSync(dir, { recursive: true, force: true }));

const prunelab = (...args: string[]) => runPrunelab(args);

const TINY = [
  '--device',
  'host',
  '--models',
  'resnet18-cifar10',
  '--schemes',
  'dense,bcr',
  '--blocks',
  '4x1',
  '--sparsities',
  '0.75',
  '--min-reps',
  '3',
  '--min-time-ms',
  '1',
  '--warmup',
  '1',
  '--db',
  dbPath,
  '--json',
];

test('sweep writes a report at its end, --no-report does not; report --run/--lut/--out works', async () => {
  const first = await prunelab('sweep', ...TINY);
  assert.equal(first.exitCode, 0, first.stderr);
  const summary = JSON.parse(first.stdout) as { runId: string; report: string | null };
  assert.equal(summary.report, join(dir, `prunelab-report-${summary.runId}.html`));
  const html = readFileSync(summary.report as string, 'utf8');
  assert.match(html, new RegExp(`run ${summary.runId}`));
  assert.match(html, /<section id="speedup">/);

  const second = await prunelab('sweep', ...TINY, '--no-report');
  assert.equal(second.exitCode, 0, second.stderr);
  const secondSummary = JSON.parse(second.stdout) as { runId: string; report: string | null };
  assert.equal(secondSummary.report, null);
  assert.ok(!existsSync(join(dir, `prunelab-report-${secondSummary.runId}.html`)));

  const fit = await prunelab('fit', '--db', dbPath, '--out', join(dir, 'luts'), '--json');
  assert.equal(fit.exitCode, 0, fit.stderr);
  const lutPath = (JSON.parse(fit.stdout) as { luts: { path: string }[] }).luts[0]?.path;
  assert.ok(lutPath !== undefined, fit.stdout);

  const out = join(dir, 'first.html');
  const report = await prunelab(
    'report',
    '--db',
    dbPath,
    '--run',
    summary.runId,
    '--lut',
    lutPath,
    '--out',
    out,
    '--json',
  );
  assert.equal(report.exitCode, 0, report.stderr);
  const written = JSON.parse(report.stdout) as {
    runId: string;
    outPath: string;
    luts: number;
    cases: number;
  };
  assert.equal(written.runId, summary.runId, '--run picks the first run, not the latest');
  assert.equal(written.outPath, out);
  assert.equal(written.luts, 1);
  assert.ok(written.cases > 0);
  assert.match(readFileSync(out, 'utf8'), /<section id="lut">[\s\S]*within ±10%/);
});

test('report explains a bad --run, --db and --mapping', async () => {
  const noDb = await prunelab('report', '--db', join(dir, 'nope.db'));
  assert.equal(noDb.exitCode, 2);
  assert.match(noDb.stderr, /no database at .*nope\.db/);

  const badRun = await prunelab('report', '--db', dbPath, '--run', 'no-such-run');
  assert.equal(badRun.exitCode, 2);
  assert.match(badRun.stderr, /no run 'no-such-run'.*expected one of/);

  const bad = join(dir, 'bad-mapping.json');
  writeFileSync(bad, JSON.stringify({ layers: [{ name: 'conv1', scheme: 'dense', sparsity: 0 }] }));
  const badMapping = await prunelab('report', '--db', dbPath, '--mapping', bad, '--out', join(dir, 'x.html'));
  assert.equal(badMapping.exitCode, 2);
  assert.match(badMapping.stderr, /layers\[0\]\.predictedLatencyNs: expected a number/);
  assert.ok(!existsSync(join(dir, 'x.html')), 'no half-made report');
});
