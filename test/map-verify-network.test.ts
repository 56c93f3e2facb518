/**
 * `prunelab map --verify-on` with the network op, on an ONNX model the test writes (orchestrator/models/
 * test-support.ts branchyNet: a side branch that feeds nothing, a pooled map between two layers, ResNet-18
 * CIFAR-10 shapes): on the host through the CLI, and through the same use case on an adb virtual phone (x86_64,
 * Debian's adb server) and on an Appium phone (a real Appium server in front of such a phone). The LUT comes
 * from a small real host sweep of ResNet-18 (every layer of the model has a measured shape). Checks behaviour
 * (which networks ran, which layers chained, which weights), not figures.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import { runMap } from '../orchestrator/map/run-map.ts';
import { parseOnnxModel } from '../orchestrator/models/onnx.ts';
import { branchyNet } from '../orchestrator/models/test-support.ts';
import { blobBytes } from '../orchestrator/models/weights-blob.ts';
import { connectAppiumDevice } from '../orchestrator/transport/appium/connect.ts';
import type { Device } from '../orchestrator/transport/port.ts';
import { type AdbLab, startAdbLab } from './adb-lab.ts';
import { type AppiumLab, startAppiumLab } from './appium-lab.ts';
import { runPrunelab } from './support/cli.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-verify-net-'));
const modelPath = join(dir, 'branchy.onnx');
let lutPath = '';
let lab: AdbLab | undefined;
let appium: AppiumLab | undefined;
let appiumDevice: (Device & { close(): Promise<void> }) | undefined;
after(async () => {
  await lab?.stop();
  await appiumDevice?.close();
  await appium?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Verification {
  weights: string;
  networks: { id: string; label: string; measuredNs: number; predictedNs: number; reps: number }[];
  layers: { name: string; measuredNs: number; chained: boolean }[];
  measuredTotalNs: number;
  predictedTotalNs: number;
  sumIsolatedNs: number;
  interLayerEffect: number | null;
  speedupOverDense: number | null;
  speedupOverUniform: number | null;
  notRun: string | null;
}

before(async () => {
  writeFileSync(modelPath, branchyNet());
  const db = join(dir, 'lut.db');
  const sweep = await runPrunelab([
    'sweep',
    '--device',
    'host',
    '--db',
    db,
    '--models',
    'resnet18-cifar10',
    '--schemes',
    'dense,unstructured,bcr',
    '--blocks',
    '4x1',
    '--sparsities',
    '0.5,0.75',
    '--warmup',
    '0',
    '--min-reps',
    '2',
    '--min-time-ms',
    '0',
    '--no-report',
  ]);
  assert.equal(sweep.exitCode, 0, sweep.stderr);
  const fit = await runPrunelab(['fit', '--json', '--db', db, '--out', dir]);
  assert.equal(fit.exitCode, 0, fit.stderr);
  lutPath = (JSON.parse(fit.stdout) as { luts: { path: string }[] }).luts[0]?.path ?? '';
});

/** The blob the orchestrator must have pushed: every layer's GEMM-view weights, computed here on its own. */
function expectedBlobSha(): string {
  const model = parseOnnxModel(new Uint8Array(readFileSync(modelPath)), modelPath);
  return createHash('sha256').update(blobBytes(model.layers).bytes).digest('hex');
}

function checkVerification(v: Verification): void {
  assert.equal(v.weights, expectedBlobSha(), 'every line ran on the model blob');
  assert.deepEqual(
    v.networks.map((n) => n.id),
    ['net-mapped', 'net-dense', 'net-uniform'],
  );
  for (const n of v.networks)
    assert.ok(n.measuredNs > 0 && n.reps >= 1 && n.predictedNs > 0, JSON.stringify(n));
  // c2 reads c1's output; side feeds nothing and c3 reads c2's, not side's; c4 reads c3's; fc a pooled map.
  assert.deepEqual(
    v.layers.map((l) => [l.name, l.chained]),
    [
      ['c1', false],
      ['c2', true],
      ['side', false],
      ['c3', false],
      ['c4', true],
      ['fc', false],
    ],
  );
  assert.equal(v.measuredTotalNs, v.networks[0]?.measuredNs);
  assert.equal(
    v.sumIsolatedNs,
    v.layers.reduce((s, l) => s + l.measuredNs, 0),
  );
  assert.ok(v.interLayerEffect !== null && Number.isFinite(v.interLayerEffect));
  assert.ok(v.speedupOverDense !== null && v.speedupOverDense > 0);
  assert.ok(v.speedupOverUniform !== null && v.speedupOverUniform > 0);
  assert.match(v.notRun ?? '', /activations, pooling, element-wise add/);
}

test('--verify-on host: the mapped, dense and uniform networks end to end with the model weights, then each layer alone', async () => {
  const out = join(dir, 'host.json');
  const run = await runPrunelab([
    'map',
    '--lut',
    lutPath,
    '--model',
    modelPath,
    '--mapper',
    'rule',
    '--sparsity',
    '0.75',
    '--out',
    out,
    '--verify-on',
    'host',
  ]);
  assert.equal(run.exitCode, 0, run.stderr);
  assert.match(
    run.stdout,
    /verified on host:\S+ .*mapped network end to end measured [\d.]+ ms, predicted [\d.]+ ms/,
  );
  assert.match(
    run.stdout,
    /end to end \(network op: 6 layers back to back, 2 reading the previous layer's output/,
  );
  assert.match(run.stdout, /^ {4}all dense +measured [\d.]+ ms {2}predicted [\d.]+ ms/m);
  assert.match(run.stdout, /measured speedup of the mapping: [\d.]+x over all dense, [\d.]+x over all /);
  assert.match(run.stdout, /^ {4}c2 +measured .*\(reads previous\)$/m);
  const mapping = JSON.parse(readFileSync(out, 'utf8')) as { verification: Verification };
  checkVerification(mapping.verification);
});

/** The map use case with --verify-on a device the test connected (the CLI's device listing is not involved). */
async function verifyThrough(
  device: Device,
  out: string,
): Promise<{ text: string; verification: Verification }> {
  const agentDir = fileURLToPath(new URL('../device-agent', import.meta.url));
  const outcome = await runMap(
    {
      progress: () => {},
      note: () => {},
      findDevice: async (selector) => (selector === device.identity.id ? device : undefined),
      buildAgent: (abi) => buildAgent(abi, { agentDir, env: process.env }),
    },
    {
      lutPath,
      model: modelPath,
      mapper: 'rule',
      sparsity: 0.75,
      outPath: join(dir, out),
      threads: 1,
      seed: 1,
      tolerance: 0.05,
      resolution: 200,
      verifyOn: device.identity.id,
    },
  );
  return {
    text: outcome.text,
    verification: (outcome.json as unknown as { verification: Verification }).verification,
  };
}

test('--verify-on an adb virtual phone: the same verification, the blob pushed beside the agent', async () => {
  lab = await startAdbLab([{ abi: 'x86_64', model: 'Virtual X86' }]);
  const phone = lab.phones[0];
  assert.ok(phone !== undefined);
  const { text, verification } = await verifyThrough(
    lab.device(phone, '/data/local/tmp/prunelab-verify'),
    'adb.json',
  );
  assert.match(text, new RegExp(`verified on ${phone.serial} .*mapped network end to end measured`));
  checkVerification(verification);
  const onPhone = join(phone.sandboxDir, 'prunelab-verify', `prunelab-weights-${verification.weights}.bin`);
  assert.ok(existsSync(onPhone), `expected the blob at ${onPhone}`);
});

test('--verify-on an Appium phone: the same verification through Appium push and shell', async () => {
  appium = await startAppiumLab({ phones: [{ abi: 'x86_64', model: 'Virtual X86' }], allowShell: true });
  const phone = appium.phones[0];
  assert.ok(phone !== undefined);
  appiumDevice = await connectAppiumDevice({
    entry: appium.entry(phone, { workDir: '/data/local/tmp/prunelab-verify-appium' }),
    index: 0,
  });
  const { text, verification } = await verifyThrough(appiumDevice, 'appium.json');
  assert.match(text, /verified on appium:lab:\S+ .*mapped network end to end measured/);
  checkVerification(verification);
  const onPhone = join(
    phone.sandboxDir,
    'prunelab-verify-appium',
    `prunelab-weights-${verification.weights}.bin`,
  );
  assert.ok(existsSync(onPhone), `expected the blob at ${onPhone}`);
});
