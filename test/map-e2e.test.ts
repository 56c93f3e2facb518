/**
 * `prunelab map` end to end on a LUT fitted from a real small host sweep (ResNet-18 CIFAR-10; dense,
 * unstructured, bcr 4x1, pattern at 0.5 / 0.75 / 0.9): the rule and search mappers write mapping.json with a
 * scheme, block, sparsity and predicted latency for every layer, the search reports its gap to the exact
 * optimum, baselines are compared at equal proxy, --verify-on host runs the mapped layers in one agent call,
 * --evaluate caches by mapping, and an ONNX model maps with its real weights. Checks behaviour, not figures.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { smallNet } from '../orchestrator/models/test-support.ts';
import { runPrunelab } from './support/cli.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-map-'));
const dbPath = join(dir, 'map.db');
let lutPath = '';
after(() => rmSync(dir, { recursive: true, force: true }));

const prunelab = (...args: string[]) => runPrunelab(args);

interface MappingJson {
  schema: string;
  mapper: string;
  totals: { latencyNs: number; proxy: number; sparsity: number };
  layers: {
    name: string;
    scheme: string;
    block: string | null;
    sparsity: number;
    proxy: number;
    predictedLatencyNs: number;
    predictedSource: string;
  }[];
  baselines: { name: string; latencyNs: number | null; note: string }[];
  exact: {
    gap: number;
    gapBound: number;
    searchObjective: number;
    exactObjective: number;
    upperBound: number;
  } | null;
  unpriced: { name: string; reason: string }[];
  model: { skippedNodes: { node: string }[] };
  verification?: { measuredTotalNs: number; predictedTotalNs: number; layers: { measuredNs: number }[] };
  evaluation?: { accuracy: number; cached: boolean };
}

before(async () => {
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
    'dense,unstructured,bcr,pattern',
    '--blocks',
    '4x1',
    '--sparsities',
    '0.5,0.75,0.9',
    '--warmup',
    '1',
    '--min-reps',
    '5',
    '--min-time-ms',
    '10',
    '--no-report',
  );
  assert.equal(sweep.exitCode, 0, sweep.stderr);
  const fit = await prunelab('fit', '--json', '--db', dbPath, '--out', dir);
  assert.equal(fit.exitCode, 0, fit.stderr);
  lutPath = (JSON.parse(fit.stdout) as { luts: { path: string }[] }).luts[0]?.path ?? '';
});

test('search: every layer mapped from the LUT, objective within reach of the exact optimum, baselines at equal proxy', async () => {
  const out = join(dir, 'search.json');
  const run = await prunelab(
    'map',
    '--lut',
    lutPath,
    '--model',
    'resnet18-cifar10',
    '--mapper',
    'search',
    '--sparsity',
    '0.75',
    '--out',
    out,
  );
  assert.equal(run.exitCode, 0, run.stderr);
  assert.match(run.stderr, /map: lagrangian/); // progress is shown
  assert.match(run.stdout, /uniform baselines at equal proxy/);
  const mapping = JSON.parse(readFileSync(out, 'utf8')) as MappingJson;
  assert.equal(mapping.schema, 'prunelab.mapping/v1');
  assert.equal(mapping.layers.length, 21);
  const sum = mapping.layers.reduce((s, l) => s + l.predictedLatencyNs, 0);
  assert.ok(Math.abs(sum - mapping.totals.latencyNs) < 1e-6 * sum);
  for (const l of mapping.layers) {
    assert.ok(['measured', 'interpolated', 'predicted'].includes(l.predictedSource));
    assert.ok(l.proxy > 0 && l.proxy <= 1);
  }
  assert.ok(mapping.totals.sparsity <= 0.75 + 1e-9);
  assert.ok(mapping.exact !== null);
  assert.ok(mapping.exact.exactObjective <= mapping.exact.upperBound + 1e-9);
  assert.ok(mapping.exact.searchObjective <= mapping.exact.upperBound + 1e-9);
  assert.deepEqual(
    mapping.baselines.map((b) => b.name),
    ['all dense', 'all unstructured', 'all bcr 4x1', 'pattern where possible'],
  );
});

test('rule mapper with --verify-on host: one agent call, measured against predicted; --evaluate is cached', async () => {
  const out = join(dir, 'rule.json');
  const evaluator = join(dir, 'evaluate.sh');
  // A stand-in evaluator: reports the number of mapped layers it read as the "accuracy", and counts its calls.
  writeFileSync(
    evaluator,
    `#!/bin/sh\necho called >> ${join(dir, 'calls.txt')}\nn=$(grep -c '"scheme"' "$1")\necho "{\\"accuracy\\": $n}"\n`,
  );
  chmodSync(evaluator, 0o755);
  const args = [
    'map',
    '--lut',
    lutPath,
    '--model',
    'resnet18-cifar10',
    '--mapper',
    'rule',
    '--sparsity',
    '0.75',
    '--out',
    out,
    '--evaluate',
    evaluator,
  ];
  const run = await prunelab(...args, '--verify-on', 'host');
  assert.equal(run.exitCode, 0, run.stderr);
  assert.match(
    run.stdout,
    /verified on host:\S+ .*(one call|two calls \(\d+ disturbed lines measured again\)), 21 layers.*measured [\d.]+ ms, predicted [\d.]+ ms/,
  );
  const mapping = JSON.parse(readFileSync(out, 'utf8')) as MappingJson;
  assert.equal(mapping.mapper, 'rule');
  assert.ok(mapping.verification !== undefined);
  assert.equal(mapping.verification.layers.length, 21);
  assert.ok(mapping.verification.layers.every((l) => l.measuredNs > 0));
  assert.equal(mapping.evaluation?.accuracy, 21);
  assert.equal(mapping.evaluation?.cached, false);
  const again = await prunelab(...args);
  assert.equal(again.exitCode, 0, again.stderr);
  assert.match(again.stdout, /evaluated accuracy 21 .*\(cached\)/);
  assert.equal(readFileSync(join(dir, 'calls.txt'), 'utf8').trim().split('\n').length, 1);
});

test('an ONNX model maps with its real weights; what the LUT cannot price is listed, not guessed; --evaluate gets the pruned model and masks', async () => {
  const file = join(dir, 'small.onnx');
  writeFileSync(file, smallNet().bytes);
  const out = join(dir, 'onnx.json');
  // The hook's files come in its environment: it checks them and reports the pruned model's size as "accuracy".
  const hook = join(dir, 'hook.sh');
  writeFileSync(
    hook,
    '#!/bin/sh\n' +
      'for f in "$PRUNELAB_PRUNED_ONNX" "$PRUNELAB_MASKS_NPZ" "$PRUNELAB_MASKS_JSON" "$PRUNELAB_MODEL"; do test -s "$f" || { echo "missing $f" >&2; exit 3; }; done\n' +
      'test "$PRUNELAB_MAPPING" = "$1" || exit 4\n' +
      'echo "{\\"accuracy\\": $(wc -c < "$PRUNELAB_PRUNED_ONNX")}"\n',
  );
  chmodSync(hook, 0o755);
  const run = await prunelab(
    'map',
    '--json',
    '--lut',
    lutPath,
    '--model',
    file,
    '--mapper',
    'rule',
    '--out',
    out,
    '--evaluate',
    hook,
  );
  assert.equal(run.exitCode, 0, run.stderr);
  const mapping = JSON.parse(run.stdout) as MappingJson;
  assert.equal(mapping.evaluation?.accuracy, smallNet().bytes.length, 'the hook read the pruned ONNX');
  const masks = JSON.parse(readFileSync(join(dir, 'onnx.masks.json'), 'utf8')) as {
    layers: { layer: string }[];
  };
  assert.deepEqual(
    masks.layers.map((l) => l.layer),
    mapping.layers.map((l) => l.name),
  );
  assert.deepEqual(
    mapping.model.skippedNodes.map((s) => s.node),
    ['/up/ConvTranspose'],
  );
  // Every layer is either mapped or listed with the lookup's reason. The FC shapes are unmeasured and the
  // LUT's FC family has one shape (no cross-validated predictor): listed. The conv is priced by the conv3x3
  // predictors when the sweep left them enough quiet shapes (it does, unless the machine is very busy).
  const names = [...mapping.layers.map((l) => l.name), ...mapping.unpriced.map((u) => u.name)].sort();
  assert.deepEqual(names, ['fc', 'features.conv', 'head']);
  const fc = mapping.unpriced.filter((u) => u.name !== 'features.conv');
  assert.deepEqual(
    fc.map((u) => u.name),
    ['fc', 'head'],
  );
  for (const u of fc) assert.match(u.reason, /fc dense t1/);
});

test('bad input: an impossible latency budget and a missing model say what to do', async () => {
  const tight = await prunelab(
    'map',
    '--lut',
    lutPath,
    '--model',
    'resnet18-cifar10',
    '--latency-budget-ms',
    '0.001',
    '--out',
    join(dir, 'x.json'),
  );
  assert.equal(tight.exitCode, 2);
  assert.match(tight.stderr, /no mapping is that fast; the fastest this LUT predicts .* is [\d.]+ ms/);
  const missing = await prunelab(
    'map',
    '--lut',
    lutPath,
    '--model',
    'no-such-model',
    '--out',
    join(dir, 'x.json'),
  );
  assert.equal(missing.exitCode, 2);
  assert.match(
    missing.stderr,
    /--model: expected a built-in model \(vgg16-cifar10, .*\) or a path to a \.onnx file/,
  );
});
