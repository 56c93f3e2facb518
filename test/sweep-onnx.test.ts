/**
 * `prunelab sweep` of a user's ONNX model on the host CPU (the real CLI, agent, host transport and SQLite): every
 * timed node becomes cases under its own name with the model's weights, read by the agent from the weights
 * file; shapes deduplicated within the model (or not, with --per-layer); the grouped conv listed once as not
 * timed; a node name with shell and HTML characters stays text in the shell, SQL, export and report. Then
 * every bad model file is refused before the store is touched; the same sweep into PostgreSQL.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { csvField } from '../orchestrator/export/rows.ts';
import { parseOnnxModel } from '../orchestrator/models/onnx.ts';
import {
  buildOnnxModel,
  HOSTILE_NODE_NAME,
  onnxConvNode,
  sweepNet,
  testWeights,
  trainingNet,
} from '../orchestrator/models/test-support.ts';
import { blobBytes, blobFileName } from '../orchestrator/models/weights-blob.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { runPrunelab } from './support/cli.ts';
import { assertRealWeightMasks } from './support/onnx-sweep.ts';
import { createTestDatabase } from './support/postgres.ts';

let dir: string;

/** The sha256 of a model's weights file (what the plan lines ask for). */
function blobSha256(bytes: Uint8Array): string {
  return createHash('sha256')
    .update(blobBytes(parseOnnxModel(bytes, 'model').layers).bytes)
    .digest('hex');
}
const env = { ...process.env, PRUNELAB_NO_ADB: '1', PRUNELAB_NO_APPIUM: '1' };
/** The sweep settings the tests use: two schemes at one sparsity. */
const TWO_SCHEMES = ['--schemes', 'dense,unstructured', '--sparsities', '0.5'];
const QUICK = ['--min-reps', '3', '--min-time-ms', '1', '--warmup', '0', '--max-time-ms', '50'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunelab-sweep-onnx-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('host sweep of an ONNX model: cases under their nodes, real weights, one node per shape, text stays text', async () => {
  const net = sweepNet({ bNode: HOSTILE_NODE_NAME });
  await mkdir(join(dir, 'nets'));
  await writeFile(join(dir, 'nets', 'net.onnx'), net.bytes);
  // The CLI's host work folder (orchestrator/cli/main.ts): where the agent runs and the weights file goes.
  const workDir = join(tmpdir(), `prunelab-${userInfo().uid}`, 'host');
  // The model's path is relative to the config file, not to the working directory.
  const config = join(dir, 'lab.yaml');
  await writeFile(
    config,
    `sweep:
  models: [./nets/net.onnx]
  schemes: [dense, unstructured]
  sparsities: [0.5]
devices:
  adb: { enabled: false }
  host: { enabled: true }
lab:
  disturbance: { remeasures: 0 } # a shared CI machine disturbs most cases; the masks are what is checked here
`,
  );
  const db = join(dir, 'onnx.db');
  const run = await runPrunelab(['sweep', '--config', config, '--db', db, ...QUICK], env);
  assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /Model net\.onnx: 7 nodes timed with the model's own weights .*, 1 not timed:/);
  assert.equal(run.stdout.match(/Conv '\/g\/Conv': .*grouped conv \(group=2\)/g)?.length, 1, 'listed once');

  const store = await openStore(db);
  try {
    const pruned = await assertRealWeightMasks(store.db, net.bytes, { label: 'net.onnx', seed: 1 });
    assert.equal(pruned, 5, 'unstructured on a, b, side, fc and head (depthwise is dense only)');
    const tasks = await store.db.selectFrom('tasks').select(['onnx_node', 'case_json', 'scheme']).execute();
    const nodes = new Set(tasks.map((task) => task.onnx_node));
    assert.deepEqual(
      [...nodes].sort(),
      ['/a/Conv', HOSTILE_NODE_NAME, '/dw/Conv', '/fc/Gemm', '/head/MatMul', '/side/Conv'].sort(),
      "/c/Conv has b's shape: b's weights stand for it",
    );
    const bCase = tasks.find((task) => task.onnx_node === HOSTILE_NODE_NAME && task.scheme === 'dense');
    assert.deepEqual(JSON.parse(bCase?.case_json ?? '{}').layers, [
      `net.onnx/${HOSTILE_NODE_NAME}`,
      'net.onnx//c/Conv',
    ]);
  } finally {
    await store.close();
  }

  // The LUT says it was fitted from the model's own weights (no seeded measurement in this store).
  const fitted = await runPrunelab(['fit', '--db', db, '--out', join(dir, 'luts')], env);
  assert.equal(fitted.exitCode, 0, fitted.stderr);
  assert.match(fitted.stdout, /weights: real, files [0-9a-f]{12}/);
  const lutFile = (await readdir(join(dir, 'luts'))).find((name) => name.startsWith('lut-'));
  const lut = JSON.parse(await readFile(join(dir, 'luts', lutFile ?? ''), 'utf8')) as { weights?: unknown };
  assert.deepEqual(lut.weights, { kind: 'real', files: [blobSha256(net.bytes)] });

  const exported = await runPrunelab(['export', '--db', db, '--format', 'csv'], env);
  assert.equal(exported.exitCode, 0, exported.stderr);
  const header = exported.stdout.split('\r\n')[0]?.split(',') ?? [];
  for (const column of ['model', 'onnx_node', 'weights', 'weights_used', 'mask_fnv1a'])
    assert.ok(header.includes(column), `export has ${column}`);
  assert.ok(exported.stdout.includes(csvField(HOSTILE_NODE_NAME)), 'the node name, CSV-quoted');

  const reportPath = /^Report: {2}(.+)$/m.exec(run.stdout)?.[1];
  assert.ok(reportPath !== undefined, `${run.stdout}\n${run.stderr.slice(-2000)}`);
  const html = await readFile(reportPath, 'utf8');
  assert.ok(html.includes('/side/Conv'), 'the report names the nodes');
  assert.ok(!html.includes('<script>alert('), 'the node name is not markup in the report');
  // The models table names the node timed, its weights, and the node it stands for, as escaped text.
  const models = html.slice(
    html.indexOf('<section id="models">'),
    html.indexOf('</section>', html.indexOf('<section id="models">')),
  );
  assert.ok(models.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'), models);
  assert.match(models, /net\.onnx\/\/c\/Conv/);
  assert.match(models, /model weights file [0-9a-f]{12}/);
  // The planner's drops of the ONNX model are listed too (the file is read again for them).
  assert.ok(html.includes('dwconv supports only the dense scheme, got unstructured'), 'drops shown');
  // Nothing ran the name as a command: no file `pwned` appeared where the agent ran or here.
  assert.ok(!existsSync(join(workDir, 'pwned')) && !existsSync('pwned'));
  const blob = blobFileName(blobSha256(net.bytes));
  assert.ok((await readdir(workDir)).includes(blob), 'the weights file was pushed beside the agent');
});

test('--per-layer gives every node cases of its own; by default one node per shape stands for the others', async () => {
  const path = join(dir, 'per-layer.onnx');
  await writeFile(path, sweepNet().bytes);
  const plan = async (extra: readonly string[]) => {
    const result = await runPrunelab(
      ['sweep', '--dry-run', '--json', '--model', path, ...TWO_SCHEMES, ...extra],
      env,
    );
    assert.equal(result.exitCode, 0, result.stderr);
    return JSON.parse(result.stdout) as {
      cases: number;
      onnxModels: { timedNodes: number; skipped: unknown[] }[];
    };
  };
  const shared = await plan([]);
  const own = await plan(['--per-layer']);
  assert.equal(shared.onnxModels[0]?.timedNodes, 7);
  assert.equal(shared.onnxModels[0]?.skipped.length, 1);
  assert.equal(own.cases, shared.cases + 2, "/c/Conv's dense and unstructured cases");
});

/** A config that keeps the host only and does not re-measure disturbed cases (the tests check stores, not times). */
async function calmConfig(): Promise<string> {
  const path = join(dir, 'calm.yaml');
  await writeFile(path, 'devices:\n  adb: { enabled: false }\nlab:\n  disturbance: { remeasures: 0 }\n');
  return path;
}

/** A model with a Conv (fp32) and a Gemm whose weights are declared fp16. */
function fp16Model(): Uint8Array {
  return buildOnnxModel({
    input: { name: 'x', dims: [1, 2, 4, 4] },
    nodes: [
      onnxConvNode('/conv/Conv', ['x', 'conv.weight'], 'c'),
      { op: 'GlobalAveragePool', name: '/pool', inputs: ['c'], output: 'p' },
      { op: 'Flatten', name: '/flatten', inputs: ['p'], output: 'f', int: { axis: 1 } },
      { op: 'Gemm', name: '/fc/Gemm', inputs: ['f', 'fc.weight'], output: 'y', int: { transB: 1 } },
    ],
    initializers: [
      { name: 'conv.weight', dims: [4, 2, 1, 1], values: testWeights(8, 1) },
      { name: 'fc.weight', dims: [3, 4], values: testWeights(12, 2), dataType: 10 },
    ],
    outputs: ['y'],
  });
}

/** Two Convs reading each other's output: a cycle. */
function cyclicModel(): Uint8Array {
  return buildOnnxModel({
    input: { name: 'x', dims: [1, 2, 4, 4] },
    nodes: [
      { op: 'Add', name: '/mix/Add', inputs: ['x', 'back'], output: 'm' },
      onnxConvNode('/loop/Conv', ['m', 'w'], 'back'),
    ],
    initializers: [{ name: 'w', dims: [2, 2, 1, 1], values: testWeights(4, 3) }],
    outputs: ['back'],
  });
}

const BAD_MODELS: readonly { name: string; bytes: () => Uint8Array; says: RegExp }[] = [
  { name: 'malformed', bytes: () => new Uint8Array(64).fill(0xff), says: /not a readable ONNX model/ },
  {
    name: 'truncated',
    bytes: () => sweepNet().bytes.slice(0, 700),
    says: /not a readable ONNX model|truncated|no graph/,
  },
  {
    name: 'external-data',
    bytes: () =>
      buildOnnxModel({
        input: { name: 'x', dims: [1, 2, 4, 4] },
        nodes: [onnxConvNode('/ext/Conv', ['x', 'w'], 'y')],
        initializers: [{ name: 'w', dims: [2, 2, 1, 1], values: testWeights(4, 1), external: true }],
        outputs: ['y'],
      }),
    says: /initializer 'w' keeps its data in an external file/,
  },
  {
    name: 'fp16-weights',
    bytes: fp16Model,
    says: /Gemm node '\/fc\/Gemm': weights 'fc\.weight' are FLOAT16/,
  },
  {
    name: 'cyclic',
    bytes: cyclicModel,
    says: /Add node '\/mix\/Add' reads 'back', which Conv node '\/loop\/Conv' makes after it/,
  },
  {
    name: 'no-prunable-node',
    bytes: () =>
      buildOnnxModel({
        input: { name: 'x', dims: [1, 2, 4, 4] },
        nodes: [{ op: 'Relu', name: '/only/Relu', inputs: ['x'], output: 'y' }],
        initializers: [],
        outputs: ['y'],
      }),
    says: /no Conv, Gemm or MatMul node with fp32 weights/,
  },
];

for (const bad of BAD_MODELS) {
  test(`a ${bad.name} ONNX file is refused (exit 2) naming the file, and nothing is written to the store`, async () => {
    const path = join(dir, `${bad.name}.onnx`);
    await writeFile(path, bad.bytes());
    const db = join(dir, `${bad.name}.db`);
    const result = await runPrunelab(['sweep', '--model', path, '--db', db, ...QUICK], env);
    assert.equal(result.exitCode, 2, `${result.stdout}\n${result.stderr}`);
    assert.ok(result.stderr.includes(path), result.stderr);
    assert.match(result.stderr, bad.says);
    assert.ok(!existsSync(db), 'the store was not even created');
  });
}

test('a missing ONNX file is refused naming it; a non-.onnx name is not a model', async () => {
  const missing = join(dir, 'nowhere.onnx');
  const result = await runPrunelab(['sweep', '--dry-run', '--model', missing], env);
  assert.equal(result.exitCode, 2);
  assert.match(result.stderr, /cannot read the ONNX file .*nowhere\.onnx \(ENOENT\)/);
  const wrong = await runPrunelab(['sweep', '--dry-run', '--models', 'mine.pt'], env);
  assert.equal(wrong.exitCode, 2);
  assert.match(wrong.stderr, /a built-in model \(one of .*\) or a path to a \.onnx file/);
});

test('--resume of a run whose ONNX file changed since is refused (exit 2), the run left interrupted', async () => {
  const path = join(dir, 'changing.onnx');
  await writeFile(path, sweepNet().bytes);
  const db = join(dir, 'changing.db');
  const first = await runPrunelab(
    [
      'sweep',
      '--config',
      await calmConfig(),
      '--model',
      path,
      '--schemes',
      'dense',
      '--db',
      db,
      '--no-report',
      ...QUICK,
    ],
    env,
  );
  assert.equal(first.exitCode, 0, first.stderr);
  await writeFile(path, trainingNet().bytes);
  const resumed = await runPrunelab(['sweep', '--db', db, '--resume'], env);
  assert.equal(resumed.exitCode, 2, `${resumed.stdout}\n${resumed.stderr}`);
  assert.match(
    resumed.stderr,
    /was planned with the weights file\(s\) [0-9a-f]{64}, which the ONNX file\(s\) .*changing\.onnx no longer give/,
  );
  const store = await openStore(db);
  try {
    const runs = await store.db.selectFrom('runs').select('status').execute();
    assert.deepEqual(runs, [{ status: 'interrupted' }]);
  } finally {
    await store.close();
  }
});

test('the same ONNX sweep into PostgreSQL: model, node, weights and mask columns (migration 0007) there too', async () => {
  const database = await createTestDatabase('onnx');
  try {
    const path = join(dir, 'pg.onnx');
    const net = sweepNet({ bNode: HOSTILE_NODE_NAME });
    await writeFile(path, net.bytes);
    const run = await runPrunelab(
      [
        'sweep',
        '--config',
        await calmConfig(),
        '--model',
        path,
        ...TWO_SCHEMES,
        '--db',
        database.url,
        '--no-report',
        ...QUICK,
      ],
      env,
    );
    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    const store = await openStore(database.url);
    try {
      assert.equal(await assertRealWeightMasks(store.db, net.bytes, { label: 'pg.onnx', seed: 1 }), 5);
      const hostile = await store.db
        .selectFrom('tasks')
        .select('onnx_node')
        .where('onnx_node', '=', HOSTILE_NODE_NAME)
        .execute();
      assert.equal(hostile.length, 2, 'the node name is a bound value: found again exactly');
    } finally {
      await store.close();
    }
  } finally {
    await database.drop();
  }
});
