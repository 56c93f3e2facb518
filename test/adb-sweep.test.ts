/**
 * A small sweep end to end through adbkit: Debian's adb server on a test port, two virtual phones (x86_64,
 * and arm64-v8a running the static aarch64 agent under qemu), the real CLI (`prunelab devices`, `prunelab
 * sweep --config ... --device SERIAL`) into a temporary SQLite file. Checks identity, pinning to the big
 * cluster, the lab records (screen, charging, thermal gate, telemetry) and that every planned case has
 * exactly one measurement.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { main, realContext } from '../orchestrator/cli/main.ts';
import type { Output } from '../orchestrator/cli/context.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { type AdbLab, startAdbLab } from './adb-lab.ts';

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
  measurement: { warmup: 0, minReps: 2, minTimeMs: 0, maxTimeMs: 200 }
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
  assert.match(text.stdout, new RegExp(`${x86.serial}  kind=adb  abi=x86_64 .*model=Virtual X86  manufacturer=prunelab  soc=virtual-x86_64  clusters=\\[big:`));
  assert.match(text.stdout, new RegExp(`${arm.serial}  kind=adb  abi=arm64-v8a .*fingerprint=prunelab/virtual_arm64/`));
  const json = await cli(['devices', '--config', config, '--json']);
  const listed = JSON.parse(json.stdout) as { devices: { identity: { id: string }; details: { clusters: { role: string }[] } }[] };
  assert.deepEqual(listed.devices.map((d) => d.identity.id).sort(), [x86.serial, arm.serial].sort());
  for (const device of listed.devices) assert.equal(device.details.clusters[0]?.role, 'big');
});

test('a sweep over both phones stores every case once, pinned to the big cluster, with lab records', async () => {
  const config = await writeConfig('sweep.yaml');
  const db = join(dir, 'sweep.db');
  const [x86, arm] = lab.phones;
  assert.ok(x86 !== undefined && arm !== undefined);
  const result = await cli(['sweep', '--config', config, '--db', db, '--json', '--device', x86.serial, '--device', arm.serial]);
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  const summary = JSON.parse(result.stdout) as { plannedCases: number; status: string; counts: Record<string, number> };
  assert.equal(summary.status, 'done');
  assert.ok(summary.plannedCases > 0);

  const store = await openStore(db);
  try {
    const rows = await store.db
      .selectFrom('measurements')
      .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
      .select(['tasks.device_id', 'tasks.case_key', 'measurements.cpus_json', 'measurements.n'])
      .execute();
    assert.equal(rows.length, summary.plannedCases * 2, 'one measurement per case and phone');
    assert.equal(new Set(rows.map((r) => `${r.device_id}/${r.case_key}`)).size, rows.length, 'none twice');
    // The virtual phones' big cluster is the upper half of the host's CPUs (device-agent/virtual/README.md).
    const devices = await store.db.selectFrom('run_devices').selectAll().execute();
    assert.equal(devices.length, 2);
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
    assert.ok(batches.length >= 2);
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
