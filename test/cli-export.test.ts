/**
 * `prunelab export` on a database filled by a real (tiny) host sweep: one row per measurement, the same
 * figures as the store, CSV that survives quoting, JSONL with the raw samples.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { csvField, EXPORT_COLUMNS } from '../orchestrator/export/rows.ts';
import { runPrunelab } from './support/cli.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-export-'));
const dbPath = join(dir, 'export.db');
after(() => rmSync(dir, { recursive: true, force: true }));

const prunelab = (...args: string[]) => runPrunelab(args);

/** RFC 4180 reader for the test: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

interface StoredRow {
  case_key: string;
  median_ns: number;
  ci_low_ns: number;
  n: number;
  samples_ns_json: string;
  scheme: string;
  run_id: string;
}

function stored(): StoredRow[] {
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    return db
      .prepare(
        'select t.case_key, t.scheme, t.run_id, m.median_ns, m.ci_low_ns, m.n, m.samples_ns_json from measurements m join tasks t on t.id = m.task_id',
      )
      .all() as StoredRow[];
  } finally {
    db.close();
  }
}

let runId = '';

before(async () => {
  const sweep = await prunelab(
    'sweep',
    '--json',
    '--db',
    dbPath,
    '--models',
    'resnet18-cifar10',
    '--schemes',
    'dense,filter',
    '--sparsities',
    '0.5',
    '--min-reps',
    '3',
    '--min-time-ms',
    '1',
  );
  assert.equal(sweep.exitCode, 0, sweep.stderr);
  const summary = JSON.parse(sweep.stdout) as { runId: string; export: string; dbPath: string };
  assert.match(summary.export, /prunelab export --db .* --run .* --format csv/);
  runId = summary.runId;
});

test('CSV: a header of the documented columns and one row per measurement with the stored figures', async () => {
  const out = join(dir, 'results.csv');
  const result = await prunelab(
    'export',
    '--db',
    dbPath,
    '--run',
    runId,
    '--format',
    'csv',
    '--out',
    out,
    '--json',
  );
  assert.equal(result.exitCode, 0, result.stderr);
  const rows = stored();
  assert.deepEqual(JSON.parse(result.stdout), { rows: rows.length, out, format: 'csv', run: runId });
  const [header, ...lines] = parseCsv(readFileSync(out, 'utf8'));
  assert.deepEqual(header, [...EXPORT_COLUMNS]);
  assert.equal(lines.length, rows.length);
  const column = (name: string) => EXPORT_COLUMNS.indexOf(name as (typeof EXPORT_COLUMNS)[number]);
  const byKey = new Map(rows.map((row) => [row.case_key, row]));
  for (const line of lines) {
    assert.equal(line.length, EXPORT_COLUMNS.length);
    const row = byKey.get(line[column('case_key')] ?? '');
    assert.ok(row, 'every exported row is a stored measurement');
    assert.equal(Number(line[column('median_ns')]), row.median_ns);
    assert.equal(Number(line[column('ci_low_ns')]), row.ci_low_ns);
    assert.equal(line[column('scheme')], row.scheme);
    assert.equal(line[column('run_id')], runId);
    assert.deepEqual(JSON.parse(line[column('samples_ns')] ?? ''), JSON.parse(row.samples_ns_json));
    assert.match(line[column('layers')] ?? '', /^resnet18-cifar10\//);
  }
});

test('JSONL: one object per measurement on stdout, numbers as numbers, raw samples as an array', async () => {
  const result = await prunelab('export', '--db', dbPath, '--format', 'jsonl');
  assert.equal(result.exitCode, 0, result.stderr);
  const records = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const rows = stored();
  assert.equal(records.length, rows.length);
  for (const record of records) {
    assert.deepEqual(Object.keys(record).sort(), [...EXPORT_COLUMNS].sort());
    const row = rows.find((candidate) => candidate.case_key === record.case_key);
    assert.ok(row);
    assert.equal(record.median_ns, row.median_ns);
    assert.equal(record.n, row.n);
    assert.ok(Array.isArray(record.samples_ns) && record.samples_ns.length === row.n);
    assert.equal(record.device_kind, 'host');
  }
});

test('--json without --out is refused: the rows need a file when stdout carries the summary', async () => {
  const result = await prunelab('export', '--db', dbPath, '--json');
  assert.equal(result.exitCode, 2);
  assert.match(result.stderr, /expected --out FILE with --json/);
});

test('csvField quotes exactly what RFC 4180 needs', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField(12.5), '12.5');
  assert.equal(csvField(null), '');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(' padded'), '" padded"');
  assert.equal(csvField([1, 2]), '"[1,2]"');
  assert.equal(csvField('dense-gemm-8x2v(64 / 4)'), 'dense-gemm-8x2v(64 / 4)');
});
