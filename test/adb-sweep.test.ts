/**
 * Sweeps end to end through adbkit: Debian's adb server on a test port and two virtual phones (x86_64, and
 * arm64-v8a running the static aarch64 agent under qemu). The real CLI (`prunelab devices`, `prunelab sweep
 * --config ... --device SERIAL`) sweeps the x86_64 phone into a temporary SQLite file (the planned layers
 * under qemu would take minutes: weight preparation alone is 4-10 s per 3x3 layer there); then both phones
 * run idle cases at once through the same scheduler and lab hygiene. Checks identity, pinning to the big
 * cluster, the lab records (screen, charging, thermal gate, telemetry), and that every case has exactly
 * one measurement.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_LAB } from '../config/defaults.ts';
import type { Output } from '../orchestrator/cli/context.ts';
import { main, realContext } from '../orchestrator/cli/main.ts';
import { sweepNet } from '../orchestrator/models/test-support.ts';
import { blobFileName } from '../orchestrator/models/weights-blob.ts';
import { runQueues } from '../orchestrator/scheduler/scheduler.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { type AdbLab, prepareIdleRun, startAdbLab } from './adb-lab.ts';
import { assertRealWeightMasks } from './support/onnx-sweep.ts';

let lab: AdbLab;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunelab-adb-sweep-'));
  lab = await startAdbLab([
    { abi: 'x86_64', model: 'Virtual X86' },
    { abi: 'arm64-v8a', model: 'Virtual Arm64' },
  ]);
});

after(async () => {
  await lab?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: readonly string[]) {
  let stdout = '';
  let stderr = '';
  const output: Output = {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    stderrIsTty: false,
    stdout: process.stdout,
    stderr: process.stderr,
  };
  // The suite turns adb off for the CLI (PRUNELAB_NO_ADB); this test brings its own server.
  const env = { ...process.env, PRUNELAB_NO_ADB: '0', PRUNELAB_NO_HOST: '1' };
  const exitCode = await main(args, { ...realContext(env), output });
  return { exitCode, stdout, stderr };
}

async function writeConfig(name: string, extra = ''): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    `sweep:
  models: [resnet18-cifar10]
  schemes: [dense]
  threads: [1]
  measurement: { warmup: 0, minReps: 2, minTimeMs: 0, maxTimeMs: 50 }
devices:
  host: { enabled: false }
  adb: { servers: ["${lab.server}"], startServer: false, workDir: /data/local/tmp/prunelab-sweep }
lab:
  thermal: { thresholdC: 40, pollMs: 100, maxWaitMs: 5000, batchLimitC: 60 }
${extra}`,
  );
  return path;
}

test('prunelab devices lists both phones with their identity (text and --json)', async () => {
  const config = await writeConfig('devices.yaml');
  const text = await cli(['devices', '--config', config]);
  assert.equal(text.exitCode, 0, text.stderr);
  const [x86, arm] = lab.phones;
  assert.ok(x86 !== undefined && arm !== undefined);
  assert.match(
    text.stdout,
    new RegExp(
      `${x86.serial}  kind=adb  abi=x86_64 .*model=Virtual X86  manufacturer=prunelab  soc=virtual-x86_64  clusters=\\[big:`,
    ),
  );
  assert.match(
    text.stdout,
    new RegExp(`${arm.serial}  kind=adb  abi=arm64-v8a .*fingerprint=prunelab/virtual_arm64/`),
  );
  const json = await cli(['devices', '--config', config, '--json']);
  const listed = JSON.parse(json.stdout) as {
    devices: { identity: { id: string }; details: { clusters: { role: string }[] } }[];
  };
  assert.deepEqual(listed.devices.map((d) => d.identity.id).sort(), [x86.serial, arm.serial].sort());
  for (const device of listed.devices) assert.equal(device.details.clusters[0]?.role, 'big');
});

test('sweep of an ONNX model on the phone: its weights file pushed beside the agent, masks from its weights', async () => {
  const net = sweepNet();
  await writeFile(join(dir, 'net.onnx'), net.bytes);
  const workDir = '/data/local/tmp/prunelab-onnx';
  const config = join(dir, 'onnx.yaml');
  await writeFile(
    config,
    `sweep:
  models: [./net.onnx]
  schemes: [dense, unstructured]
  sparsities: [0.5]
  measurement: { warmup: 0, minReps: 2, minTimeMs: 0, maxTimeMs: 50 }
devices:
  host: { enabled: false }
  adb: { servers: ["${lab.server}"], startServer: false, workDir: ${workDir} }
lab:
  thermal: { thresholdC: 40, pollMs: 100, maxWaitMs: 5000, batchLimitC: 60 }
  disturbance: { remeasures: 0 } # a shared CI machine disturbs most cases; the masks are what is checked here
`,
  );
  const db = join(dir, 'onnx.db');
  const [x86] = lab.phones;
  assert.ok(x86 !== undefined);
  const result = await cli(['sweep', '--config', config, '--db', db, '--json', '--device', x86.serial]);
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  const summary = JSON.parse(result.stdout) as { status: string; onnxModels: { weightsSha256: string }[] };
  assert.equal(summary.status, 'done');
  const sha256 = summary.onnxModels[0]?.weightsSha256 ?? '';
  const listed = await lab.adb(['-s', x86.serial, 'shell', 'ls', workDir]);
  assert.ok(listed.stdout.includes(blobFileName(sha256)), listed.stdout);
  const store = await openStore(db);
  try {
    assert.equal(await assertRealWeightMasks(store.db, net.bytes, { label: 'net.onnx', seed: 1 }), 5);
  } finally {
    await store.close();
  }
});

test('prunelab sweep --device SERIAL sweeps that phone: every case once, pinned, with lab records', async () => {
  const config = await writeConfig('sweep.yaml');
  const db = join(dir, 'sweep.db');
  const [x86] = lab.phones;
  assert.ok(x86 !== undefined);
  const result = await cli(['sweep', '--config', config, '--db', db, '--json', '--device', x86.serial]);
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  const summary = JSON.parse(result.stdout) as {
    plannedCases: number;
    status: string;
    counts: Record<string, number>;
  };
  assert.equal(summary.status, 'done');
  assert.ok(summary.plannedCases > 0);

  const store = await openStore(db);
  try {
    const rows = await store.db
      .selectFrom('measurements')
      .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
      .select(['tasks.device_id', 'tasks.case_key', 'measurements.cpus_json', 'measurements.n'])
      .execute();
    assert.equal(rows.length, summary.plannedCases, 'one measurement per case');
    assert.deepEqual([...new Set(rows.map((r) => r.device_id))], [x86.serial], 'only the selected phone');
    assert.equal(new Set(rows.map((r) => `${r.device_id}/${r.case_key}`)).size, rows.length, 'none twice');
    // The virtual phones' big cluster is the upper half of the host's CPUs (device-agent/virtual/README.md).
    const devices = await store.db.selectFrom('run_devices').selectAll().execute();
    assert.equal(devices.length, 1);
    for (const device of devices) {
      assert.equal(device.screen_on, 1);
      assert.equal(device.charging, 1);
      assert.equal(device.root, 'none');
      const bigCpus = JSON.parse(device.big_cpus_json ?? 'null') as number[];
      assert.ok(Array.isArray(bigCpus) && bigCpus.length > 0);
      for (const row of rows.filter((r) => r.device_id === device.device_id))
        assert.deepEqual(JSON.parse(row.cpus_json), bigCpus, 'each case ran pinned to the big cluster');
    }
    const batches = await store.db.selectFrom('batch_runs').selectAll().execute();
    assert.ok(batches.length >= 1);
    for (const batch of batches) {
      assert.equal(batch.gate, 'cool');
      assert.ok(batch.temp_before_c !== null && batch.temp_after_c !== null);
      assert.ok(batch.telemetry_after_json !== null);
      assert.equal(batch.flag, null);
    }
  } finally {
    await store.close();
  }
});

test('both phones (x86_64, arm64 under qemu) run their queues at once: every case once, pinned', async () => {
  const store = await openStore(join(dir, 'parallel.db'));
  try {
    const devices = lab.phones.map((phone) => lab.device(phone, '/data/local/tmp/prunelab-parallel'));
    const runId = 'parallel';
    const queues = await prepareIdleRun(
      store.db,
      devices,
      { runId, cases: 12, durationUs: 20_000, batchCases: 4 },
      {
        ...DEFAULT_LAB,
        thermal: { thresholdC: 40, pollMs: 100, maxWaitMs: 5_000, batchLimitC: 60 },
      },
    );
    const busy = new Map<string, number>();
    let overlap = false;
    const outcomes = await runQueues(queues, {
      db: store.db,
      runId,
      retries: 1,
      maxConsecutiveFailures: 3,
      caseTimeoutMs: 30_000,
      stop: new AbortController().signal,
      hardStop: new AbortController().signal,
      emit: (event) => {
        // Both devices between their first and last case at the same moment: the queues ran in parallel.
        if (event.type === 'batch-start') busy.set(event.deviceId, (busy.get(event.deviceId) ?? 0) + 1);
        if (event.type === 'case-done' && busy.size === 2) overlap = true;
      },
    });
    assert.ok(overlap, 'both phones were busy at once');
    for (const outcome of outcomes) {
      assert.equal(outcome.stoppedReason, undefined);
      assert.equal(outcome.counts.done, 12);
    }
    const rows = await store.db
      .selectFrom('measurements')
      .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
      .innerJoin('run_devices', (join) =>
        join
          .onRef('run_devices.device_id', '=', 'tasks.device_id')
          .onRef('run_devices.run_id', '=', 'tasks.run_id'),
      )
      .select(['tasks.device_id', 'tasks.case_key', 'measurements.cpus_json', 'run_devices.big_cpus_json'])
      .execute();
    assert.equal(rows.length, 24);
    assert.equal(new Set(rows.map((r) => `${r.device_id}/${r.case_key}`)).size, 24, 'none twice');
    for (const row of rows) assert.equal(row.cpus_json, row.big_cpus_json, 'pinned to the big cluster');
  } finally {
    await store.close();
  }
});

test('sweep.backends [cpu, gpu] over adb: the x86_64 phone runs the GPU cases through its vendor OpenCL', async () => {
  const config = await writeConfig('sweep-gpu.yaml');
  const db = join(dir, 'sweep-gpu.db');
  const [x86] = lab.phones;
  assert.ok(x86 !== undefined);
  const result = await cli([
    'sweep',
    '--config',
    config,
    '--db',
    db,
    '--json',
    '--device',
    x86.serial,
    '--backends',
    'cpu,gpu',
  ]);
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  const store = await openStore(db);
  try {
    const rows = await store.db
      .selectFrom('measurements')
      .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
      .select(['tasks.backend', 'measurements.kernel', 'tasks.plan_line_json'])
      .execute();
    const gpu = rows.filter((r) => r.backend === 'gpu');
    assert.ok(gpu.length > 0, 'GPU cases were measured');
    assert.equal(gpu.length, rows.length - gpu.length, 'each dense layer on both backends');
    assert.ok(
      gpu.every((r) => r.kernel.startsWith('gpu-')),
      gpu.map((r) => r.kernel).join(', '),
    );
    assert.ok(gpu.every((r) => JSON.parse(r.plan_line_json).backend === 'gpu'));
  } finally {
    await store.close();
  }
});
