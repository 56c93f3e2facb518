/**
 * Sweeps through Appium: a real Appium 3 server (in this process, 127.0.0.1) with the project's own driver
 * in front of an x86_64 virtual phone behind Debian's adb server. The real `prunelab devices` and
 * `prunelab sweep --device appium` (in-process CLI, real adapters) store every case once under the Appium
 * device and delete the session at the end; then batches of idle cases go through the scheduler, each
 * batch one detached agent run polled to its end.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { DEFAULT_LAB } from '../config/defaults.ts';
import { sweepNet } from '../orchestrator/models/test-support.ts';
import { runQueues } from '../orchestrator/scheduler/scheduler.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { connectAppiumDevice } from '../orchestrator/transport/appium/connect.ts';
import { prepareIdleRun } from './adb-lab.ts';
import { type AppiumLab, startAppiumLab } from './appium-lab.ts';
import { runPrunelab } from './support/cli.ts';
import { assertRealWeightMasks } from './support/onnx-sweep.ts';

let lab: AppiumLab;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunelab-appium-sweep-'));
  lab = await startAppiumLab({ phones: [{ abi: 'x86_64', model: 'Virtual X86' }], allowShell: true });
});

after(async () => {
  await lab?.stop();
  await rm(dir, { recursive: true, force: true });
});

const CLI = fileURLToPath(new URL('../orchestrator/cli/main.ts', import.meta.url));

/** A config file for the lab's phone: a sweep of `sweep` (YAML lines), Appium only, `extra` YAML at the end. */
async function writeConfig(name: string, sweep: string, workDir: string, extra = ''): Promise<string> {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  const entry = lab.entry(phone);
  const path = join(dir, name);
  await writeFile(
    path,
    `sweep:
${sweep}
devices:
  host: { enabled: false }
  adb: { enabled: false }
  appium:
    - name: lab
      url: ${entry.url}
      capabilities: ${JSON.stringify(entry.capabilities)}
      workDir: ${workDir}
      pollMs: 200
${extra}`,
  );
  return path;
}

function deviceId(): string {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  return `appium:lab:${phone.serial}`;
}

test('prunelab devices and sweep --device appium: every case stored once under the Appium phone', async () => {
  const config = await writeConfig(
    'lab.yaml',
    `  models: [resnet18-cifar10]
  schemes: [dense]
  threads: [1]
  measurement: { warmup: 0, minReps: 2, minTimeMs: 0, maxTimeMs: 50 }`,
    '/data/local/tmp/prunelab-appium',
  );
  const listed = await runPrunelab(['devices', '--config', config]);
  assert.equal(listed.exitCode, 0, listed.stderr);
  assert.match(
    listed.stdout,
    new RegExp(`^${deviceId()}  kind=appium  abi=x86_64 .*model=Virtual X86 .*clusters=\\[big:`, 'm'),
  );
  assert.equal(await lab.server.sessionCount(), 0, 'devices deleted its session');

  const db = join(dir, 'sweep.db');
  const result = await runPrunelab(['sweep', '--config', config, '--db', db, '--json', '--device', 'appium']);
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  const summary = JSON.parse(result.stdout) as { plannedCases: number; status: string };
  assert.equal(summary.status, 'done');
  assert.ok(summary.plannedCases > 0);
  assert.equal(await lab.server.sessionCount(), 0, 'sweep deleted its session');

  const store = await openStore(db);
  try {
    const devices = await store.db.selectFrom('devices').select(['id', 'kind', 'model']).execute();
    assert.deepEqual(devices, [{ id: deviceId(), kind: 'appium', model: 'Virtual X86' }]);
    const tasks = await store.db.selectFrom('tasks').select(['status', 'device_id']).execute();
    assert.equal(tasks.length, summary.plannedCases);
    for (const task of tasks) assert.deepEqual(task, { status: 'done', device_id: deviceId() });
    const rows = await store.db
      .selectFrom('measurements')
      .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
      .select(['tasks.case_key'])
      .execute();
    assert.equal(rows.length, summary.plannedCases, 'one measurement per case');
    assert.equal(new Set(rows.map((row) => row.case_key)).size, rows.length, 'none twice');
    // Lab hygiene runs for Appium phones as for adb ones: the big cores were found and pinned.
    const hygiene = await store.db.selectFrom('run_devices').select(['device_id', 'big_cpus_json']).execute();
    assert.equal(hygiene.length, 1);
    assert.equal(hygiene[0]?.device_id, deviceId());
    const bigCpus = hygiene[0]?.big_cpus_json ?? 'null';
    assert.ok(JSON.parse(bigCpus)?.length > 0, `big CPUs ${bigCpus}`);
    const batches = await store.db.selectFrom('batch_runs').select('gate').execute();
    assert.ok(batches.length > 0, 'every batch went through the thermal gate');
  } finally {
    await store.close();
  }
});

test('sweep --device appium of an ONNX model: the masks timed on the phone come from the model weights', async () => {
  const net = sweepNet();
  await writeFile(join(dir, 'net.onnx'), net.bytes);
  const config = await writeConfig(
    'onnx.yaml',
    `  models: [./net.onnx]
  schemes: [dense, unstructured]
  sparsities: [0.5]
  measurement: { warmup: 0, minReps: 2, minTimeMs: 0, maxTimeMs: 50 }`,
    '/data/local/tmp/prunelab-appium-onnx',
    // A shared CI machine disturbs most cases; the masks are what is checked here, not the times.
    'lab:\n  disturbance: { remeasures: 0 }\n',
  );
  const db = join(dir, 'onnx.db');
  const result = await runPrunelab(['sweep', '--config', config, '--db', db, '--json', '--device', 'appium']);
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  assert.equal((JSON.parse(result.stdout) as { status: string }).status, 'done');
  const store = await openStore(db);
  try {
    assert.equal(await assertRealWeightMasks(store.db, net.bytes, { label: 'net.onnx', seed: 1 }), 5);
  } finally {
    await store.close();
  }
});

test('batches of idle cases run through the scheduler on the Appium phone, each case once', async () => {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  const device = await connectAppiumDevice({
    entry: lab.entry(phone, { workDir: '/data/local/tmp/prunelab-idle' }),
    index: 0,
  });
  const store = await openStore(join(dir, 'idle.db'));
  try {
    const runId = 'idle';
    const queues = await prepareIdleRun(
      store.db,
      [device],
      { runId, cases: 40, durationUs: 20_000, batchCases: 10 },
      { ...DEFAULT_LAB, thermal: { thresholdC: 40, pollMs: 100, maxWaitMs: 5_000, batchLimitC: 60 } },
    );
    let batches = 0;
    const outcomes = await runQueues(queues, {
      db: store.db,
      runId,
      retries: 0,
      maxConsecutiveFailures: 1,
      caseTimeoutMs: 30_000,
      stop: new AbortController().signal,
      hardStop: new AbortController().signal,
      emit: (event) => {
        if (event.type === 'batch-start') batches++;
      },
    });
    assert.equal(outcomes[0]?.stoppedReason, undefined);
    assert.equal(outcomes[0]?.counts.done, 40);
    assert.equal(batches, 4);
    const rows = await store.db
      .selectFrom('measurements')
      .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
      .select(['tasks.case_key', 'tasks.device_id'])
      .execute();
    assert.equal(rows.length, 40);
    assert.equal(new Set(rows.map((row) => row.case_key)).size, 40, 'none twice');
    for (const row of rows) assert.equal(row.device_id, deviceId());
  } finally {
    await store.close();
    await device.close();
  }
});

test('Ctrl-C during a sweep (the CLI as a user runs it): the run stops resumable, the session is deleted', async () => {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  const config = await writeConfig(
    'ctrl-c.yaml',
    `  models: [resnet18-cifar10]
  schemes: [dense, bcr]
  blocks: [4x1]
  threads: [1]
  measurement: { warmup: 0, minReps: 2, minTimeMs: 20, maxTimeMs: 50 }
  batch: { maxCases: 4 }`,
    '/data/local/tmp/prunelab-ctrl-c',
  );
  const child = execa(
    'node',
    ['--import', 'tsx', CLI, 'sweep', '--config', config, '--db', join(dir, 'ctrl-c.db')],
    {
      reject: false,
      timeout: 90_000,
    },
  );
  // The first stored case, then Ctrl-C (SIGINT to the CLI process only, as a terminal sends it).
  await new Promise<void>((resolve) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      if (/ ok /.test(String(chunk))) resolve();
    });
  });
  child.kill('SIGINT');
  const result = await child;
  assert.equal(result.exitCode, 1, String(result.stderr));
  assert.match(String(result.stderr), /Stopping after the current case/);
  assert.match(String(result.stderr), /interrupted with \d+ cases pending/);
  assert.equal(await lab.server.sessionCount(), 0, 'the session was deleted');
  const left = (await readdir(join(phone.sandboxDir, 'prunelab-ctrl-c'))).filter((name) =>
    name.startsWith('.pl-job-'),
  );
  assert.deepEqual(left, [], 'the agent run was stopped and its job cleaned up');
});
