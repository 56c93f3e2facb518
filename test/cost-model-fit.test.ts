/**
 * `prunelab fit` on a database filled by a real (small) host sweep: the LUT file passes its own loader,
 * holds every measured case with the store's figures, answers `measured` at measured densities, between
 * them `interpolated`, for an unmeasured shape `predicted` (or a named refusal), and `--suggest` writes a
 * sweep config the config loader accepts. Checks behaviour, not figures: latencies here are whatever this
 * machine measured.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { loadConfig } from '../config/load.ts';
import { convShape, shapeKey } from '../config/shape.ts';
import { LutLookupError } from '../cost-model/errors.ts';
import { createLookup } from '../cost-model/lookup.ts';
import type { Lut } from '../cost-model/types.ts';
import { parseLutText } from '../cost-model/validate.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { runPrunelab } from './support/cli.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-fit-'));
const dbPath = join(dir, 'fit.db');
const outDir = join(dir, 'luts');
after(() => rmSync(dir, { recursive: true, force: true }));

const prunelab = (...args: string[]) => runPrunelab(args);

interface StoredRow {
  scheme: string;
  sparsity: number;
  op: string;
  cin: number;
  cout: number;
  h: number;
  k: number;
  stride: number;
  pad: number;
  density: number;
  median_ns: number;
  agent_hash: string;
}

function stored(): StoredRow[] {
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    return db
      .prepare(
        'select t.scheme, t.sparsity, t.op, t.cin, t.cout, t.h, t.k, t.stride, t.pad, m.density, m.median_ns, m.agent_hash ' +
          'from measurements m join tasks t on t.id = m.task_id',
      )
      .all() as StoredRow[];
  } finally {
    db.close();
  }
}

interface FitJson {
  luts: { device: string; path: string; agentHash: string; entries: number; points: number }[];
  suggestions: {
    device: string;
    path: string;
    planned: number;
    cases: { shapeKey: string; scheme: string }[];
  }[];
}

let fitted: FitJson;
let lut: Lut;

before(async () => {
  // ResNet-18 for CIFAR-10: 8 distinct 3x3 shapes, enough for a cross-validated conv3x3 predictor.
  const sweep = await prunelab(
    'sweep',
    '--json',
    '--device',
    'host',
    '--db',
    dbPath,
    '--models',
    'resnet18-cifar10',
    '--schemes',
    'dense,unstructured',
    '--sparsities',
    '0.5,0.75,0.9',
    '--warmup',
    '1',
    '--min-reps',
    '10',
    '--min-time-ms',
    '20',
  );
  assert.equal(sweep.exitCode, 0, sweep.stderr);
  const fit = await prunelab(
    'fit',
    '--json',
    '--db',
    dbPath,
    '--out',
    outDir,
    '--suggest',
    '3',
    '--models',
    'resnet18-cifar10,vgg16-cifar10',
    '--schemes',
    'unstructured',
    '--sparsities',
    '0.75',
  );
  assert.equal(fit.exitCode, 0, fit.stderr);
  fitted = JSON.parse(fit.stdout) as FitJson;
  const [only] = fitted.luts;
  assert.ok(only !== undefined, 'one LUT for the host');
  lut = parseLutText(readFileSync(only.path, 'utf8'), only.path);
});

test('the LUT file holds every stored case, from the agent build that measured it', () => {
  const rows = stored();
  const [summary] = fitted.luts;
  assert.match(summary?.path ?? '', /lut-host_[^/]+\.json$/);
  assert.equal(lut.schema, 'prunelab.lut/v1');
  assert.equal(lut.device.id, summary?.device);
  assert.equal(lut.agentHash, rows[0]?.agent_hash);
  assert.equal(summary?.points, rows.length);
  const cases = new Set(
    rows.map((r) => `${r.op} ${r.cin} ${r.cout} ${r.h} ${r.k} ${r.stride} ${r.pad} ${r.scheme}`),
  );
  assert.equal(lut.entries.length, cases.size);
  const points = lut.entries.flatMap((e) => e.points.map((p) => p.medianNs)).sort((a, b) => a - b);
  assert.deepEqual(
    points,
    rows.map((r) => r.median_ns).sort((a, b) => a - b),
  );
});

test('measured densities answer `measured` on the curve; between them `interpolated`', () => {
  const lookup = createLookup(lut);
  for (const entry of lut.entries) {
    for (const knot of entry.curve.knots) {
      const answer = lookup.latency(entry.shape, entry.scheme, entry.block, knot.density, entry.threads);
      assert.equal(answer.source, 'measured');
      assert.equal(answer.latencyNs, knot.latencyNs);
      // The curve stays on its measurements, or moves by at most the deviation it declares.
      assert.ok(
        Math.abs(knot.latencyNs - knot.measuredNs) / knot.measuredNs <= entry.curve.maxDeviation + 1e-12,
      );
    }
    const values = entry.curve.knots.map((k) => k.latencyNs);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => a - b),
      `${entry.shapeKey} curve must not decrease`,
    );
  }
  const sparse = lut.entries.find((e) => e.scheme === 'unstructured' && e.curve.knots.length === 3);
  assert.ok(sparse !== undefined);
  const [low, mid] = sparse.curve.knots;
  const between = ((low?.density ?? 0) + (mid?.density ?? 0)) / 2;
  const answer = lookup.latency(sparse.shape, 'unstructured', undefined, between, 1);
  assert.equal(answer.source, 'interpolated');
  assert.ok(answer.latencyNs >= (low?.latencyNs ?? 0) && answer.latencyNs <= (mid?.latencyNs ?? 0));
  assert.ok(answer.intervalNs[0] <= answer.latencyNs && answer.latencyNs <= answer.intervalNs[1]);
});

test('an unmeasured 3x3 shape is `predicted` with an interval; an unmeasured family is refused by name', () => {
  const lookup = createLookup(lut);
  const family = lut.predictors.find(
    (p) => p.family.opKind === 'conv3x3' && p.family.scheme === 'unstructured',
  );
  // The model is the pool's: 8 3x3 and 3 1x1 shapes were measured under unstructured. Knots measured while
  // the machine was disturbed (interval > 30% of the median) do not train it, so a few may drop out.
  assert.equal(family?.pool, 'conv unstructured t1');
  assert.ok((family?.shapes ?? 0) >= 3 && (family?.shapes ?? 0) <= 11, `trained on ${family?.shapes} shapes`);
  assert.ok(
    family?.accuracy !== null && family?.accuracy !== undefined,
    'conv3x3 unstructured has a CV figure',
  );
  const unseen = convShape(96, 96, 24, 3, 1, 1);
  assert.ok(!lut.entries.some((e) => e.shapeKey === shapeKey(unseen)));
  const answer = lookup.latency(unseen, 'unstructured', undefined, 0.25, 1);
  assert.equal(answer.source, 'predicted');
  assert.ok(answer.latencyNs > 0);
  assert.ok(answer.intervalNs[0] <= answer.latencyNs && answer.latencyNs <= answer.intervalNs[1]);
  // Its interval is sized by the held-out shapes as far from the measured ones as it is (96 -> 96 on 24x24).
  assert.match(answer.rule, /nearest measured shape \d+\.\d octaves away/);
  const split = family?.accuracyByDistance;
  assert.ok(split !== undefined);
  assert.equal((split.near?.heldOut ?? 0) + (split.far?.heldOut ?? 0), family?.accuracy?.heldOut);
  assert.throws(
    () => lookup.latency(unseen, 'bcr', '4x1', 0.25, 1),
    (error: unknown) => error instanceof LutLookupError && error.data.reason === 'family-not-measured',
  );
});

test('--suggest writes a valid sweep config of unmeasured candidate cases', () => {
  const [suggestion] = fitted.suggestions;
  assert.ok(suggestion !== undefined);
  assert.equal(suggestion.cases.length, 3);
  // The candidates were ResNet-18 and VGG-16 under unstructured at 0.75: ResNet-18's are measured, so every
  // suggestion is a VGG-16 shape that ResNet-18 does not share.
  const measured = new Set(lut.entries.map((e) => e.shapeKey));
  for (const c of suggestion.cases) {
    assert.equal(c.scheme, 'unstructured');
    assert.ok(!measured.has(c.shapeKey), `${c.shapeKey} was measured; it must not be suggested`);
  }
  const text = readFileSync(suggestion.path, 'utf8');
  const config = loadConfig(text, suggestion.path);
  assert.deepEqual(config.sweep.models, ['vgg16-cifar10']);
  assert.deepEqual(config.sweep.schemes, ['unstructured']);
  assert.deepEqual(config.sweep.sparsities, [0.75]);
  assert.ok(suggestion.planned >= 3);
});

test('fit on a database without measurements, or on no database, is a usage error that says what to do', async () => {
  const empty = join(dir, 'empty.db');
  const store = await openStore(empty);
  await store.close();
  const none = await prunelab('fit', '--db', empty);
  assert.equal(none.exitCode, 2);
  assert.match(
    none.stderr,
    /no layer measurements in .*empty\.db: expected a database filled by `prunelab sweep --db FILE`/,
  );
  const missing = await prunelab('fit', '--db', join(dir, 'no-such.db'));
  assert.equal(missing.exitCode, 2);
  assert.match(missing.stderr, /no database at/);
});
