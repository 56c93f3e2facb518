import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitDevices, lutFileName } from './fit-devices.ts';
import { dropDisturbed, type FitRow, groupPointsByDevice, pointFromRow } from './points.ts';
import { suggestedSweep } from './suggest-sweep.ts';

function row(overrides: Partial<FitRow>): FitRow {
  return {
    device_id: 'host:vm',
    device_model: 'AMD EPYC',
    abi: 'host',
    build_fingerprint: 'linux',
    agent_hash: 'aaaa',
    op: 'conv',
    scheme: 'unstructured',
    block: null,
    sparsity: 0.75,
    threads: 1,
    backend: 'cpu',
    cin: 64,
    cout: 64,
    h: 32,
    w: 32,
    k: 3,
    stride: 1,
    pad: 1,
    model: 'net',
    onnx_node: null,
    weights: 'seeded',
    density: 0.25,
    kept_blocks: 9216,
    flops: 18874368,
    n: 40,
    median_ns: 100_000,
    ci_low_ns: 99_000,
    ci_high_ns: 101_000,
    measured_at: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

test('a store row becomes a measured point; idle rows are not layer timings', () => {
  const point = pointFromRow(row({}));
  assert.deepEqual(point?.shape, { op: 'conv', cin: 64, cout: 64, h: 32, w: 32, k: 3, stride: 1, pad: 1 });
  assert.equal(point?.block, undefined);
  assert.equal(point?.medianNs, 100_000);
  assert.deepEqual(point?.device, {
    id: 'host:vm',
    model: 'AMD EPYC',
    abi: 'host',
    buildFingerprint: 'linux',
  });
  assert.equal(pointFromRow(row({ op: 'idle', scheme: null, cin: null })), undefined);
});

test('each device is fitted from its most recently measured agent build; older builds are counted', () => {
  const rows = [
    row({ agent_hash: 'old', measured_at: '2025-01-01T00:00:00.000Z' }),
    row({ agent_hash: 'old', density: 0.5, sparsity: 0.5, measured_at: '2025-01-01T00:00:01.000Z' }),
    row({ agent_hash: 'new', measured_at: '2025-01-02T00:00:00.000Z' }),
    row({ device_id: 'adb:pixel', agent_hash: 'arm', measured_at: '2024-12-31T00:00:00.000Z' }),
  ];
  const groups = groupPointsByDevice(rows);
  assert.deepEqual(
    groups.map((g) => [g.deviceId, g.agentHash, g.points.length, g.skippedBuilds]),
    [
      ['adb:pixel', 'arm', 1, {}],
      ['host:vm', 'new', 1, { old: 2 }],
    ],
  );
  assert.equal(groupPointsByDevice(rows, 'old').find((g) => g.deviceId === 'host:vm')?.points.length, 2);
  const fitted = fitDevices(rows, { createdAt: '2025-01-03T00:00:00.000Z' });
  assert.deepEqual(
    fitted.map((f) => f.fileName),
    ['lut-adb_pixel.json', 'lut-host_vm.json'],
  );
  assert.equal(fitted[1]?.lut.agentHash, 'new');
});

test('a measurement still disturbed is left out when another run measured the same case calm, never otherwise', () => {
  const probes = (run: string, before: number, after: number) => ({
    run_id: run,
    probe_before_ns: before,
    probe_after_ns: after,
  });
  const rows = [
    // Run r1: fastest probe 100. Case a ran disturbed (1.5x) there and calm in r2; case b only ever disturbed.
    row({ case_key: 'a', median_ns: 150_000, ...probes('r1', 100, 150) }),
    row({ case_key: 'b', median_ns: 90_000, ...probes('r1', 112, 104) }),
    row({ case_key: 'c', median_ns: 80_000, ...probes('r1', 100, 101) }),
    // Run r2: its own fastest (200, a slower day): a at 1.05x of it is calm there.
    row({ case_key: 'a', median_ns: 100_000, ...probes('r2', 210, 205) }),
    row({ case_key: 'b', median_ns: 95_000, ...probes('r2', 200, 260) }),
    // No probes (an older agent): never judged.
    row({ case_key: 'd', median_ns: 70_000 }),
  ];
  const { kept, dropped } = dropDisturbed(rows, 0.1);
  assert.equal(dropped, 1);
  assert.deepEqual(
    kept.map((r) => [r.case_key, r.run_id, r.median_ns]),
    [
      ['b', 'r1', 90_000],
      ['c', 'r1', 80_000],
      ['a', 'r2', 100_000],
      ['b', 'r2', 95_000],
      ['d', undefined, 70_000],
    ],
  );
  // Looser, b's r1 run (1.12x) is calm, so its disturbed r2 run (1.3x) goes too. Tighter, a's r2 run (1.05x) is
  // disturbed as well: no case has a calm measurement left, so nothing is left out.
  assert.equal(dropDisturbed(rows, 0.2).dropped, 2);
  assert.equal(dropDisturbed(rows, 0.005).dropped, 0);
  assert.equal(groupPointsByDevice(rows)[0]?.disturbedDropped, 1);
});

test('file names keep only portable characters', () => {
  assert.equal(lutFileName('host:vm'), 'lut-host_vm.json');
  assert.equal(lutFileName('adb:192.168.1.5:5555/x y'), 'lut-adb_192.168.1.5_5555_x_y.json');
});

test('the suggested sweep is the smallest cross product holding the cases, with them listed in its header', () => {
  const base = { shape: { op: 'conv', cin: 64, cout: 64, h: 32, w: 32, k: 3, stride: 1, pad: 1 } as const };
  const next = suggestedSweep(
    [
      {
        ...base,
        shapeKey: 'conv 64->64 k3 s1 p1 @32x32',
        scheme: 'bcr',
        block: '8x4',
        sparsity: 0.9,
        threads: 1,
        layers: ['vgg16-cifar10/conv2', 'resnet18-cifar10/layer1.0.conv1'],
        relativeWidth: null,
        distance: null,
        reason: 'family-not-measured: the LUT has no measurement of family conv3x3 bcr 8x4 t1',
      },
      {
        ...base,
        shapeKey: 'conv 64->64 k3 s1 p1 @32x32',
        scheme: 'dense',
        block: null,
        sparsity: 0,
        threads: 2,
        layers: ['vgg16-cifar10/conv2'],
        relativeWidth: 0.3,
        distance: 0,
        reason: 'predicted: linear predictor of conv3x3 dense t2',
      },
    ],
    { sparsities: [0.5], blocks: ['4x1'] },
    'test',
  );
  assert.deepEqual(next.sweep, {
    models: ['resnet18-cifar10', 'vgg16-cifar10'],
    schemes: ['bcr', 'dense'],
    blocks: ['8x4'],
    sparsities: [0.9],
    threads: [1, 2],
  });
  assert.match(next.yaml, /^# test\n/);
  assert.match(next.yaml, /# {3}1\. conv 64->64 k3 s1 p1 @32x32 \| bcr 8x4 \| sparsity 0\.9 \| t1/);
  assert.match(next.yaml, /cannot answer \(family-not-measured\)/);
  assert.match(next.yaml, /interval ±15%, predicted: linear predictor/);
  assert.match(next.yaml, /\nsweep:\n {2}models:\n {4}- resnet18-cifar10\n/);
});
