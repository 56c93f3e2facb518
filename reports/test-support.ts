/**
 * Literal report inputs for the rendering tests: small hand-written runs (and a synthetic large one built
 * from a seeded generator). Nothing here is a measurement; the figures only exercise the renderer.
 */
import type {
  ReportAssets,
  ReportCase,
  ReportInput,
  ReportNightlyDevice,
  ReportNightlyNight,
  ReportTelemetryPoint,
} from './types.ts';

export const XSS_NAME = '<img src=x onerror=alert(1)>';

/** Stand-ins for the inlined libraries: the rendering tests check the page around them, not Plot itself. */
export const STUB_ASSETS: ReportAssets = {
  d3Js: '/* d3 */',
  plotJs: '/* plot */',
  clientJs: '/* client */',
};

function literalCase(overrides: Partial<ReportCase>): ReportCase {
  return {
    deviceId: 'host:test',
    caseKey: 'k',
    op: 'conv',
    shapeKey: 'conv 64->64 k3 s1 p1 @32x32',
    scheme: 'dense',
    block: null,
    sparsity: 0,
    density: 1,
    threads: 1,
    backend: 'cpu',
    layers: ['resnet18-cifar10/layer1.0.conv1'],
    medianNs: 1_000_000,
    p10Ns: 950_000,
    p90Ns: 1_100_000,
    ciLowNs: 980_000,
    ciHighNs: 1_020_000,
    n: 10,
    kernel: 'dense-direct',
    agentHash: 'abc123',
    measuredAt: '2026-01-01T00:00:01.000Z',
    ...overrides,
  };
}

export function literalInput(overrides: Partial<ReportInput> = {}): ReportInput {
  const cases = [
    literalCase({ caseKey: 'd' }),
    literalCase({
      caseKey: 'b',
      scheme: 'bcr',
      block: '4x1',
      sparsity: 0.75,
      density: 0.25,
      medianNs: 400_000,
    }),
    literalCase({ caseKey: 'u', scheme: 'unstructured', sparsity: 0.75, density: 0.25, medianNs: 800_000 }),
    literalCase({
      caseKey: 'x',
      deviceId: XSS_NAME,
      shapeKey: 'fc 512->10',
      layers: [`${XSS_NAME}/${XSS_NAME}`],
      medianNs: 2000,
    }),
  ];
  return {
    generatedAt: '2026-01-01T00:10:00.000Z',
    run: {
      id: 'run-1',
      status: 'done',
      createdAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:05:00.000Z',
      host: 'lab-host',
      gitRevision: 'deadbeef',
      configHash: 'cafe',
      config: { sweep: { models: ['resnet18-cifar10'] }, note: '</script><script>alert(2)</script>' },
      counts: { pending: 0, running: 0, done: 4, failed: 1, skipped: 1 },
    },
    devices: [
      {
        id: 'host:test',
        kind: 'host',
        model: 'Test CPU',
        abi: 'host',
        buildFingerprint: 'Linux test',
        cpuCount: 2,
        agentHashes: ['abc123'],
        hosts: ['lab-host-1'],
        firstMeasuredAt: '2026-01-01T00:00:01.000Z',
        lastMeasuredAt: '2026-01-01T00:04:00.000Z',
        samplingMs: 1234,
        thermalWaitMs: 0,
        remeasuredCases: 0,
        disturbedCases: 0,
        gaps: [],
        lab: null,
      },
      {
        id: XSS_NAME,
        kind: 'adb',
        model: XSS_NAME,
        abi: 'arm64-v8a',
        buildFingerprint: XSS_NAME,
        cpuCount: 8,
        agentHashes: ['abc123'],
        hosts: ['lab-host-1'],
        firstMeasuredAt: null,
        lastMeasuredAt: null,
        samplingMs: null,
        thermalWaitMs: 5000,
        remeasuredCases: 12,
        disturbedCases: 3,
        gaps: [
          {
            lostAt: '2026-01-01T00:01:00.000Z',
            backAt: '2026-01-01T00:01:12.500Z',
            reason: 'the connection ended before the command finished',
            flaps: 1,
            fingerprintBefore: 'vendor/phone:13/OLD/1:user/release-keys',
            fingerprintAfter: 'vendor/phone:14/NEW/2:user/release-keys',
          },
        ],
        lab: { screenOn: false, charging: false, batteryLevel: 80, root: 'su', bigCpus: [4, 5, 6, 7] },
      },
    ],
    agentBuilds: [{ hash: 'abc123', abi: 'host', compiler: 'cc 12', flags: '-O3 -std=gnu11' }],
    cases,
    failures: [
      {
        deviceId: 'host:test',
        caseKey: 'f',
        caseLabel: 'conv 3->64 | bcr 8x4',
        status: 'failed',
        reason: 'agent-error',
        message: `block 8x4 does not divide cin*k*k=27 ${XSS_NAME}`,
        attempts: 1,
        at: '2026-01-01T00:03:00.000Z',
      },
      {
        deviceId: XSS_NAME,
        caseKey: 's',
        caseLabel: 'fc 512->10 | dense',
        status: 'skipped',
        reason: 'skipped',
        message: 'device lost: disconnected',
        attempts: 0,
        at: '2026-01-01T00:04:00.000Z',
      },
    ],
    failuresTotal: 2,
    dropped: [
      { reason: 'block 4x1 does not divide cout=10', count: 3, example: 'resnet18-cifar10/fc: bcr 4x1' },
    ],
    telemetry: [
      {
        deviceId: 'host:test',
        atMs: Date.parse('2026-01-01T00:00:01.000Z'),
        temperatureC: 41.5,
        frequencyMhz: 2400,
      },
      {
        deviceId: 'host:test',
        atMs: Date.parse('2026-01-01T00:00:02.000Z'),
        temperatureC: 42,
        frequencyMhz: 2300,
      },
    ],
    batches: [],
    luts: [],
    mappings: [],
    modelNodes: [],
    modelLayers: { 'resnet18-cifar10': ['conv1', 'layer1.0.conv1'] },
    nightly: [],
    ...overrides,
  };
}

/** A deterministic pseudo-random sequence in [0, 1) (mulberry32), so the large input is the same every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A synthetic run of `count` cases over 4 devices, 50 shapes, 4 models, 7 series, 5 sparsities and 2 thread
 * counts, with one telemetry point per case: the size of a large lab run, to test aggregation and timing.
 */
export function largeInput(count: number): ReportInput {
  const random = seeded(7);
  const devices = ['adb:a', 'adb:b', 'adb:c', 'adb:d'];
  const series: [string, string | null][] = [
    ['dense', null],
    ['unstructured', null],
    ['bcr', '4x1'],
    ['bcr', '8x4'],
    ['block-punched', '4x4'],
    ['filter', null],
    ['pattern', null],
  ];
  const sparsities = [0.5, 0.6, 0.75, 0.8, 0.9];
  const models = ['vgg16-cifar10', 'resnet18-cifar10', 'resnet50-imagenet', 'mobilenetv2-imagenet'];
  const cases: ReportCase[] = [];
  const telemetry: ReportTelemetryPoint[] = [];
  const start = Date.parse('2026-01-01T00:00:00.000Z');
  for (let i = 0; i < count; i++) {
    const shape = i % 50;
    const [scheme, block] = series[Math.floor(i / 50) % series.length] as [string, string | null];
    const sparsity = scheme === 'dense' ? 0 : (sparsities[Math.floor(i / 350) % sparsities.length] as number);
    const deviceId = devices[Math.floor(i / 1750) % devices.length] as string;
    const medianNs = 1e5 + random() * 1e7;
    cases.push({
      deviceId,
      caseKey: `case-${i}`,
      op: 'conv',
      shapeKey: `conv ${shape}->${shape * 2} k3 s1 p1 @32x32`,
      scheme,
      block,
      sparsity,
      density: 1 - sparsity + random() * 0.001,
      threads: 1 + (Math.floor(i / 8750) % 2),
      backend: 'cpu',
      layers: [`${models[shape % 4]}/layer${shape}.conv`],
      medianNs,
      p10Ns: medianNs * 0.95,
      p90Ns: medianNs * 1.1,
      ciLowNs: medianNs * 0.98,
      ciHighNs: medianNs * 1.02,
      n: 10 + (i % 90),
      kernel: `${scheme}-kernel`,
      agentHash: 'abc123',
      measuredAt: new Date(start + i * 100).toISOString(),
    });
    telemetry.push({
      deviceId,
      atMs: start + i * 100,
      temperatureC: 30 + random() * 15,
      frequencyMhz: 1800 + random() * 600,
    });
  }
  return literalInput({ cases, telemetry, failures: [], failuresTotal: 0, modelLayers: {} });
}

/**
 * Five literal nights of one phone: no baseline on the first three, a confirmed regression of the bcr
 * case on the fifth (its finding's message carries an XSS payload), an update on the fourth.
 */
export function literalNightly(): ReportNightlyDevice[] {
  const night = (day: number, overrides: Partial<ReportNightlyNight> = {}): ReportNightlyNight => {
    const withBaseline = day >= 4;
    return {
      nightlyRunId: `n${day}`,
      night: `2026-11-0${day}`,
      status: 'clean',
      agentHash: 'abc123',
      fingerprint: 'acme/phone:14/AP1',
      sentinelFactor: withBaseline ? 1 + day / 100 : null,
      sentinelSpread: 0.01,
      usable: true,
      findings: [],
      cases: [
        {
          caseLabel: 'sentinel dense-conv',
          sentinel: true,
          ratio: withBaseline ? 1.01 : null,
          threshold: 0.05,
        },
        {
          caseLabel: 'conv 64->64 k3 | dense',
          sentinel: false,
          ratio: withBaseline ? 0.99 : null,
          threshold: 0.06,
        },
        {
          caseLabel: 'conv 64->64 k3 | bcr 4x1',
          sentinel: false,
          ratio: withBaseline ? 1.02 : null,
          threshold: 0.06,
        },
      ],
      ...overrides,
    };
  };
  const fifth = night(5);
  return [
    {
      deviceId: 'adb:PHONE1',
      model: 'Acme Phone',
      nights: [
        night(1),
        night(2),
        night(3),
        night(4, {
          findings: [
            {
              kind: 'updated',
              caseLabel: null,
              ratio: null,
              threshold: null,
              confirmed: true,
              message: 'build fingerprint changed: acme/phone:13 -> acme/phone:14',
            },
          ],
        }),
        {
          ...fifth,
          status: 'regression',
          cases: fifth.cases.map((c) => (c.caseLabel.includes('bcr') ? { ...c, ratio: 1.31 } : c)),
          findings: [
            {
              kind: 'regression',
              caseLabel: 'conv 64->64 k3 | bcr 4x1',
              ratio: 1.31,
              threshold: 0.06,
              confirmed: true,
              message: `slower again on re-measure; agent abc123 -> def456 ${XSS_NAME}`,
            },
          ],
        },
      ],
    },
  ];
}
