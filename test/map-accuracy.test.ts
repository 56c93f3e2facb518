/**
 * `prunelab map --sensitivity` and `--evaluate-with` end to end with the real ONNX Runtime on the accuracy
 * fixtures (orchestrator/fixtures/): the trained digits CNN, with a sensitivity file written by `prunelab
 * sensitivity`, and the label-free CNN. The LUT is a stated formula (test/support/formula-lut.ts), not a
 * measurement, so the mapper's choices are the same on every run; every accuracy figure is measured.
 *
 * Checked: the file's hashes and each layer's measured drop land in mapping.json, unmeasured options are
 * refused; the table's rows were really evaluated (a row's accuracy equals `prunelab evaluate --pruned` of
 * `prunelab prune` with that row's choices); the sensitivity-driven search against the keptEnergy-driven one
 * at equal latency budgets, where it is better and where it is not; bad sensitivity files exit 2, nothing
 * written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { EvaluateReport } from '../orchestrator/evaluate/run-evaluate.ts';
import { type DigitsFixture, digitsFixture } from '../orchestrator/fixtures/digits.ts';
import { writeLabelFreeFixture } from '../orchestrator/fixtures/label-free.ts';
import type { MeasuredTable } from '../orchestrator/map/measured-table.ts';
import { mappingFromJson } from '../orchestrator/report/read-mapping.ts';
import { measuredTableSection } from '../reports/measured-table-section.ts';
import { runPrunelab } from './support/cli.ts';
import { writeFormulaLut } from './support/formula-lut.ts';

const dir = mkdtempSync(join(tmpdir(), 'prunelab-map-accuracy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const path = (name: string) => join(dir, name);

interface MappingJson {
  sensitivity?: { sha256: string; model: { sha256: string }; data: { sha256: string }; metric: string };
  accuracyTerm: string;
  totals: { latencyNs: number; drop: number | null };
  layers: {
    name: string;
    scheme: string;
    block: string | null;
    sparsity: number;
    measuredDrop: number | null;
  }[];
  unmeasured?: { name: string; options: string[] }[];
  measuredTable?: MeasuredTable;
}

let digits: DigitsFixture;
const lutPath = path('lut.json');
const sensitivityPath = path('sensitivity.json');

before(async () => {
  digits = await digitsFixture();
  writeFormulaLut(digits.modelPath, lutPath);
  // Three of the LUT's sparsities only: the options at the others stay unmeasured (and must be refused).
  const run = await runPrunelab([
    'sensitivity',
    '--model',
    digits.modelPath,
    '--data',
    digits.testDataPath,
    '--lut',
    lutPath,
    '--sparsities',
    '0.5,0.7,0.9',
    '--cache',
    path('cache'),
    '--out',
    sensitivityPath,
  ]);
  assert.equal(run.exitCode, 0, run.stderr);
});

async function map(args: string[]): Promise<{ mapping: MappingJson; out: string }> {
  const out = path(
    `mapping-${args
      .join('_')
      .replace(/[^a-z0-9.]+/gi, '-')
      .slice(-60)}.json`,
  );
  const run = await runPrunelab([
    'map',
    '--json',
    '--lut',
    lutPath,
    '--model',
    digits.modelPath,
    '--evaluate-with',
    digits.testDataPath,
    '--out',
    out,
    ...args,
  ]);
  assert.equal(run.exitCode, 0, run.stderr);
  const written = JSON.parse(readFileSync(out, 'utf8')) as MappingJson;
  assert.deepEqual(JSON.parse(run.stdout), written, '--json prints what mapping.json holds');
  return { mapping: written, out };
}

/** `prunelab prune` with a row's choices, then `prunelab evaluate --pruned`: the row's figures, independently. */
async function evaluateRow(
  mappingPath: string,
  layers: MappingJson['layers'],
  name: string,
): Promise<EvaluateReport> {
  const mapping = JSON.parse(readFileSync(mappingPath, 'utf8')) as Record<string, unknown>;
  const rowMapping = path(`${name}.json`);
  writeFileSync(rowMapping, JSON.stringify({ ...mapping, layers }));
  const pruned = path(`${name}.onnx`);
  const prune = await runPrunelab([
    'prune',
    '--model',
    digits.modelPath,
    '--mapping',
    rowMapping,
    '--out',
    pruned,
  ]);
  assert.equal(prune.exitCode, 0, prune.stderr);
  const run = await runPrunelab([
    'evaluate',
    '--json',
    '--model',
    digits.modelPath,
    '--pruned',
    pruned,
    '--data',
    digits.testDataPath,
  ]);
  assert.equal(run.exitCode, 0, run.stderr);
  return JSON.parse(run.stdout) as EvaluateReport;
}

test('--sensitivity --max-accuracy-drop: hashes and drops recorded, unmeasured refused, table rows really evaluated', async () => {
  const { mapping, out } = await map(['--sensitivity', sensitivityPath, '--max-accuracy-drop', '0.05']);
  const sensitivity = JSON.parse(readFileSync(sensitivityPath, 'utf8')) as { model: { sha256: string } };
  assert.equal(mapping.sensitivity?.model.sha256, digits.modelSha256);
  assert.equal(mapping.sensitivity?.model.sha256, sensitivity.model.sha256);
  assert.match(mapping.sensitivity?.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.match(mapping.accuracyTerm, /^measured/);
  // Every layer carries its measured drop; their sum is the total and keeps the cap.
  const sum = mapping.layers.reduce((s, l) => s + (l.measuredDrop as number), 0);
  assert.ok(mapping.layers.every((l) => typeof l.measuredDrop === 'number'));
  assert.ok(Math.abs(sum - (mapping.totals.drop as number)) < 1e-12 && sum <= 0.05 + 1e-12);
  // Sparsities the sensitivity run skipped are priced by the LUT but refused for want of a drop.
  assert.ok(mapping.layers.every((l) => [0, 0.5, 0.7, 0.9].includes(l.sparsity)));
  const unmeasured = (mapping.unmeasured ?? []).flatMap((u) => u.options);
  assert.ok(
    unmeasured.some((o) => o.endsWith('@0.75')),
    unmeasured.join(', '),
  );

  const table = mapping.measuredTable;
  assert.ok(table !== undefined);
  assert.equal(table.metric, 'top1');
  assert.equal(table.data.samples, 359);
  assert.equal(table.sensitivityData, 'same', 'drops and table on one data set: said so');
  const names = table.rows.map((r) => r.name);
  for (const name of [
    'all dense',
    'mapping',
    'all unstructured',
    'all bcr 2x2',
    'all block-punched 2x2',
    'pattern where possible',
  ])
    assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
  const mappingRow = table.rows.find((r) => r.kind === 'mapping');
  assert.ok(mappingRow !== undefined && mappingRow.drop !== null);
  assert.equal(table.targetDrop, mappingRow.drop);
  // Reached baselines are at least as accurate as the mapping, and the next priced sparsity loses more.
  for (const row of table.rows.filter((r) => r.kind === 'baseline')) {
    if (row.reached) assert.ok((row.drop as number) <= table.targetDrop + 1e-12, row.name);
    else assert.ok((row.drop as number) > table.targetDrop, row.name);
    if (row.next !== null) assert.ok(row.next.drop > table.targetDrop, `${row.name} next`);
    assert.ok(row.probes.length >= 1, `${row.name} was evaluated`);
  }
  // The report reads the table as map wrote it and shows it in the mapping section.
  const view = mappingFromJson(mapping, out).measuredTable;
  assert.equal(view?.rows.length, table.rows.length);
  assert.equal(view?.bestBaseline?.name, table.bestBaseline?.name);
  const html = measuredTableSection(view as NonNullable<typeof view>, 'measured');
  assert.match(html, new RegExp(`best uniform baseline at equal measured drop: ${table.bestBaseline?.name}`));

  // Really evaluated: the mapping and the best baseline, pruned and evaluated again by the separate commands.
  const best = table.rows.find((r) => r.name === table.bestBaseline?.name);
  assert.ok(best !== undefined, 'some uniform baseline reaches the mapping drop');
  for (const row of [mappingRow, best]) {
    const report = await evaluateRow(
      out,
      row.layers.map((l) => ({ ...l, measuredDrop: null })),
      row.name.replace(/\W+/g, '-'),
    );
    assert.equal(report.metrics.top1, row.top1, `${row.name}: top-1 as prunelab evaluate measures it`);
    assert.equal(report.metrics.agreement, row.agreement, `${row.name}: agreement`);
  }
});

/**
 * The sensitivity-driven search (least summed measured drop) against the keptEnergy-driven one (most kept
 * energy) under the same latency budgets, each mapping's drop measured on the test split. Found on this
 * fixture (its trained model came out bit-identical from numpy 2.4.6 and Debian's 1.24.2; checked): from 3 us up
 * the measured drops lead to a mapping at least as accurate, often much more (e.g. 36 against 50 points lost
 * at 3.5 us); at 2.6 us, where four layers are pruned hard, it is WORSE (about 76 against 73 points): single-
 * layer drops do not add up once several layers are pruned that far (the sum said 83), so the additive model
 * misleads the search there. Asserted as found, both ways.
 */
test('sensitivity-driven against keptEnergy-driven search at equal latency budgets', async (t) => {
  const budgetsUs = [2.6, 3, 3.5, 4, 4.5, 5];
  const worse: number[] = [];
  for (const budgetUs of budgetsUs) {
    const budget = ['--latency-budget-ms', String(budgetUs / 1000)];
    const proxy = (await map(budget)).mapping;
    const measured = (await map([...budget, '--sensitivity', sensitivityPath])).mapping;
    const dropOf = (m: MappingJson) => m.measuredTable?.targetDrop as number;
    assert.ok(proxy.totals.latencyNs <= budgetUs * 1000 && measured.totals.latencyNs <= budgetUs * 1000);
    t.diagnostic(
      `${budgetUs} us: keptEnergy-driven drop ${(dropOf(proxy) * 100).toFixed(2)} points, sensitivity-driven ` +
        `${(dropOf(measured) * 100).toFixed(2)} (summed single-layer drops ${((measured.totals.drop as number) * 100).toFixed(2)})`,
    );
    if (dropOf(measured) > dropOf(proxy) + 1e-12) worse.push(budgetUs);
  }
  assert.deepEqual(worse, [2.6], 'worse only where four layers are pruned hard (see the comment above)');
});

test("the label-free fixture: every row's top-1 is its agreement (labels are the dense top-1), dense 100%; --verify-on times each row", async () => {
  const fixture = await writeLabelFreeFixture(dir, 48);
  const lut = path('label-free-lut.json');
  writeFormulaLut(fixture.modelPath, lut);
  const out = path('label-free-mapping.json');
  const run = await runPrunelab([
    'map',
    '--json',
    '--lut',
    lut,
    '--model',
    fixture.modelPath,
    '--mapper',
    'rule',
    '--sparsity',
    '0.5',
    '--evaluate-with',
    fixture.dataPath,
    '--verify-on',
    'host',
    '--out',
    out,
  ]);
  assert.equal(run.exitCode, 0, run.stderr);
  const table = (JSON.parse(run.stdout) as MappingJson).measuredTable;
  assert.ok(table !== undefined);
  assert.equal(table.denseValue, 1);
  // --verify-on: every compared row was timed on the host through verify.ts, and its speedups computed from that.
  for (const row of table.rows.filter((r) => r.reached)) {
    assert.ok(row.measuredNs !== null && row.measuredNs > 0, `${row.name} measured`);
    assert.ok(row.measuredSpeedupOverDense !== null && row.mappingMeasuredSpeedup !== null, row.name);
  }
  for (const row of table.rows) assert.equal(row.top1, row.agreement, row.name);
  assert.equal(table.rows.find((r) => r.kind === 'dense')?.meanRelativeError, 0);
  assert.ok(
    table.rows.some((r) => r.kind === 'baseline' && r.meanRelativeError > 0),
    'pruning moves the outputs',
  );
});

test('a sensitivity file for another model, or naming a layer the model lacks: exit 2, nothing written', async () => {
  const text = readFileSync(sensitivityPath, 'utf8');
  const other = path('other-model.json');
  writeFileSync(other, text.replace(digits.modelSha256, 'a'.repeat(64)));
  const renamed = path('renamed-layer.json');
  writeFileSync(renamed, text.replace('"name": "pw"', '"name": "pw-renamed"'));
  assert.notEqual(readFileSync(renamed, 'utf8'), text, 'the fixture has a layer named pw');
  for (const [file, message] of [
    [other, /made for another model file/],
    [renamed, /'pw-renamed' is not a prunable layer/],
  ] as const) {
    const out = path('refused.json');
    const run = await runPrunelab([
      'map',
      '--lut',
      lutPath,
      '--model',
      digits.modelPath,
      '--sensitivity',
      file,
      '--max-accuracy-drop',
      '0.02',
      '--out',
      out,
    ]);
    assert.equal(run.exitCode, 2, run.stderr);
    assert.match(run.stderr, message);
    assert.equal(existsSync(out), false);
  }
  const noSensitivity = await runPrunelab([
    'map',
    '--lut',
    lutPath,
    '--model',
    digits.modelPath,
    '--max-accuracy-drop',
    '0.02',
    '--out',
    path('x.json'),
  ]);
  assert.equal(noSensitivity.exitCode, 2);
  assert.match(noSensitivity.stderr, /--max-accuracy-drop needs --sensitivity/);
});
