import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONFIG } from './defaults.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { applyOverrides, type ConfigOverrides, loadConfig } from './load.ts';
import { loadConfigFile } from './read.ts';

/** Loads and returns the ConfigError's issues; fails if the config is accepted. */
function issuesOf(text: string | undefined, overrides: ConfigOverrides = {}): readonly ConfigIssue[] {
  try {
    loadConfig(text, 'prunelab.yaml', overrides);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.name, 'ConfigError');
    return error.issues;
  }
  assert.fail('the config was accepted');
}

function messageOf(text: string | undefined, overrides: ConfigOverrides = {}): string {
  try {
    loadConfig(text, 'prunelab.yaml', overrides);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('the config was accepted');
}

test('no file and no flags: the embedded default config, deep-frozen', () => {
  const config = loadConfig(undefined, 'defaults');
  assert.deepEqual(config, DEFAULT_CONFIG);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.sweep.blocks));
  assert.ok(Object.isFrozen(config.sweep.blocks[0]));
  assert.ok(Object.isFrozen(config.sweep.measurement));
  assert.equal(
    Object.isFrozen(DEFAULT_CONFIG.sweep.blocks),
    false,
    'freezing a load never reaches the defaults',
  );
});

test('an empty file is all defaults; a partial file fills the rest from the defaults', () => {
  assert.deepEqual(loadConfig('', 'prunelab.yaml'), DEFAULT_CONFIG);
  const config = loadConfig(
    'sweep:\n  models: [vgg16-cifar10, mobilenetv2-imagenet]\n  blocks: ["8x4", 16x1]\n  measurement:\n    minReps: 20\n',
    'prunelab.yaml',
  );
  assert.deepEqual(config.sweep.models, ['vgg16-cifar10', 'mobilenetv2-imagenet']);
  assert.deepEqual(config.sweep.blocks, [
    { rows: 8, cols: 4 },
    { rows: 16, cols: 1 },
  ]);
  assert.equal(config.sweep.measurement.minReps, 20);
  assert.equal(config.sweep.measurement.warmup, DEFAULT_CONFIG.sweep.measurement.warmup);
  assert.deepEqual(config.sweep.schemes, DEFAULT_CONFIG.sweep.schemes);
  assert.deepEqual(config.scheduler, DEFAULT_CONFIG.scheduler);
});

test('unknown scheme: path, the valid choices, what was found, a suggestion and the line', () => {
  const issues = issuesOf('sweep:\n  schemes: [dense, bcrr]\n');
  assert.equal(issues.length, 1);
  const [issue] = issues;
  assert.equal(issue?.path, 'sweep.schemes[1]');
  assert.equal(issue?.expected, 'one of unstructured, pattern, bcr, block-punched, channel, filter, dense');
  assert.equal(issue?.found, "'bcrr'");
  assert.deepEqual(issue?.choices, [
    'unstructured',
    'pattern',
    'bcr',
    'block-punched',
    'channel',
    'filter',
    'dense',
  ]);
  assert.equal(issue?.suggestion, 'bcr');
  assert.deepEqual([issue?.line, issue?.column], [2, 20]);
  assert.match(
    messageOf('sweep:\n  schemes: [dense, bcrr]\n'),
    /sweep\.schemes\[1\] \(line 2, column 20\): expected one of unstructured, pattern, bcr, block-punched, channel, filter, dense; got 'bcrr' \(did you mean 'bcr'\?\)/,
  );
});

test('bad block text names the entry and the BRxBC form', () => {
  const issues = issuesOf('sweep:\n  blocks:\n    - 8x4\n    - 4x4\n    - 8by4\n    - 0x4\n    - 8\n');
  assert.deepEqual(
    issues.map((issue) => [issue.path, issue.found, issue.line]),
    [
      ['sweep.blocks[2]', "'8by4'", 5],
      ['sweep.blocks[3]', "'0x4' (YAML reads it as 4)", 6],
      ['sweep.blocks[4]', '8', 7],
    ],
  );
  assert.equal(issues[0]?.expected, 'a block size BRxBC (rows x columns, positive integers), e.g. 8x4');
});

test('sparsity 1.2 (and 1, and -0.1) is outside [0, 1)', () => {
  const issues = issuesOf('sweep:\n  sparsities: [0.5, 1.2, 1, -0.1]\n');
  assert.deepEqual(
    issues.map((issue) => [issue.path, issue.found]),
    [
      ['sweep.sparsities[1]', '1.2'],
      ['sweep.sparsities[2]', '1'],
      ['sweep.sparsities[3]', '-0.1'],
    ],
  );
  assert.equal(issues[0]?.expected, 'a sparsity in [0, 1) (the fraction of weights removed)');
});

test('YAML syntax error: line and column of the parser, no partial config', () => {
  const issues = issuesOf('sweep:\n  schemes: [dense, bcr\n  blocks: [8x4]\n');
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.expected, 'valid YAML');
  assert.deepEqual([issues[0]?.line, issues[0]?.column], [3, 3]);
  assert.match(issues[0]?.found ?? '', /Flow sequence .* \(BAD_INDENT\)$/);
  assert.match(
    messageOf('a: 1\na: 2\n'),
    /line 2, column 1: expected valid YAML; got Map keys must be unique/,
  );
});

test('unknown model lists the built-in models', () => {
  const issues = issuesOf('sweep:\n  models: [resnet18-cifar10, alexnet]\n');
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.path, 'sweep.models[1]');
  assert.equal(
    issues[0]?.expected,
    'a built-in model (one of vgg16-cifar10, resnet18-cifar10, resnet50-imagenet, mobilenetv2-imagenet, mobilenetv1-imagenet, mobilenetv2-0.75-imagenet) or a path to a .onnx file',
  );
  assert.deepEqual(issues[0]?.choices, [
    'vgg16-cifar10',
    'resnet18-cifar10',
    'resnet50-imagenet',
    'mobilenetv2-imagenet',
    'mobilenetv1-imagenet',
    'mobilenetv2-0.75-imagenet',
  ]);
  assert.equal(issues[0]?.found, "'alexnet'");
});

test('unknown field lists the known fields of its section and suggests the closest', () => {
  const issues = issuesOf('sweep:\n  sparsity: [0.5]\nstore:\n  file: x.db\n');
  assert.deepEqual(
    issues.map((issue) => [issue.path, issue.found, issue.suggestion]),
    [
      ['sweep.sparsity', "an unknown field 'sparsity'", 'sparsities'],
      ['store.file', "an unknown field 'file'", undefined],
    ],
  );
  assert.equal(
    issues[0]?.expected,
    'a known field of sweep: one of models, perLayer, schemes, blocks, sparsities, threads, backends, seed, measurement, batch',
  );
});

test('every problem is reported at once, in one ConfigError', () => {
  const issues = issuesOf(
    [
      'sweep:',
      '  threads: [0, 2, 2]',
      '  seed: -1',
      '  measurement: { minReps: 10, maxReps: 5, minTimeMs: 100, maxTimeMs: 50 }',
      '  batch: { maxCases: 0 }',
      'devices:',
      '  adb: { servers: ["127.0.0.1:5037", "phone:99999"] }',
      '  appium: [{ name: farm, url: not-a-url }]',
      'scheduler: { retries: -1 }',
      'store: 5',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    issues.map((issue) => `${issue.path}: ${issue.expected} / ${issue.found}`),
    [
      'sweep.threads[0]: an integer from 1 to 64 (worker threads) / 0',
      'sweep.threads[2]: no repeated thread counts / 2 again (already at index 1)',
      'sweep.seed: an integer >= 0 / -1',
      'sweep.measurement.maxReps: an integer >= minReps (10) / 5',
      'sweep.measurement.maxTimeMs: a number >= minTimeMs (100) / 50',
      'sweep.batch.maxCases: an integer >= 1 / 0',
      "devices.adb.servers[1]: host:port with a port from 1 to 65535, e.g. 127.0.0.1:5037 / 'phone:99999'",
      "devices.appium[0].url: an http(s) URL of an Appium server, e.g. http://127.0.0.1:4723 / 'not-a-url'",
      'scheduler.retries: an integer >= 0 / -1',
      'store: a mapping with the fields path, url / 5',
    ],
  );
});

test('a repeated entry is reported with the index of the first', () => {
  const issues = issuesOf('sweep:\n  schemes: [dense, bcr, dense]\n');
  assert.deepEqual(
    issues.map((issue) => [issue.path, issue.expected, issue.found]),
    [['sweep.schemes[2]', 'no repeated schemes', "'dense' again (already at index 0)"]],
  );
});

test('flags override the file and are validated the same way, under the flag name', () => {
  const config = loadConfig('sweep:\n  schemes: [dense]\n  threads: [1]\n', 'prunelab.yaml', {
    schemes: 'dense,bcr',
    blocks: ['8x4', '4x1,8x1'],
    sparsities: '0.5, 0.9',
    threads: 2,
    minReps: '20',
    db: 'out.db',
  });
  assert.deepEqual(config.sweep.schemes, ['dense', 'bcr']);
  assert.deepEqual(
    config.sweep.blocks.map((block) => `${block.rows}x${block.cols}`),
    ['8x4', '4x1', '8x1'],
  );
  assert.deepEqual(config.sweep.sparsities, [0.5, 0.9]);
  assert.deepEqual(config.sweep.threads, [2]);
  assert.equal(config.sweep.measurement.minReps, 20);
  assert.equal(config.store.path, 'out.db');

  const issues = issuesOf('sweep:\n  schemes: [dense]\n', {
    schemes: 'dense,bcrr',
    sparsities: '0.5,lots',
    minReps: '0',
    models: 'resnet50',
  });
  assert.deepEqual(
    issues.map((issue) => [issue.path, issue.found, issue.line]),
    [
      ['--models[0]', "'resnet50'", undefined],
      ['--schemes[1]', "'bcrr'", undefined],
      ['--sparsities[1]', "'lots'", undefined],
      ['--min-reps', '0', undefined],
    ],
  );
  assert.equal(issues[0]?.suggestion, 'resnet50-imagenet');
});

test('applyOverrides copies: the parsed file is never modified', () => {
  const parsed = { sweep: { schemes: ['dense'] } };
  const { raw, flagPaths } = applyOverrides(parsed, { schemes: 'bcr', retries: 5 });
  assert.deepEqual(parsed, { sweep: { schemes: ['dense'] } });
  assert.deepEqual(raw, { sweep: { schemes: ['bcr'] }, scheduler: { retries: 5 } });
  assert.deepEqual(
    [...flagPaths],
    [
      ['sweep.schemes', '--schemes'],
      ['scheduler.retries', '--retries'],
    ],
  );
});

test('loadConfigFile: reads a file; a missing file is a ConfigError with the OS error as cause', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'prunelab-config-'));
  try {
    const path = join(dir, 'prunelab.yaml');
    await writeFile(path, 'sweep:\n  schemes: [dense, filter]\n');
    const config = await loadConfigFile(path);
    assert.deepEqual(config.sweep.schemes, ['dense', 'filter']);
    assert.deepEqual(await loadConfigFile(undefined), DEFAULT_CONFIG);

    const missing = join(dir, 'nope.yaml');
    await assert.rejects(loadConfigFile(missing), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.source, missing);
      assert.equal(error.issues[0]?.path, '--config');
      assert.equal(error.issues[0]?.found, 'no such file (ENOENT)');
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT');
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an Appium phone: defaults fill workDir, pollMs and commandTimeoutMs; capabilities are kept as written', () => {
  const config = loadConfig(
    [
      'devices:',
      '  appium:',
      '    - name: farm-pixel',
      '      url: https://user:key@farm.example:443/wd/hub',
      '      capabilities: { platformName: Android, "appium:automationName": UiAutomator2, "appium:udid": R5CT }',
      '    - { name: grid, url: "http://127.0.0.1:4723", workDir: /data/local/tmp/pl, pollMs: 100 }',
      '',
    ].join('\n'),
    'prunelab.yaml',
  );
  assert.deepEqual(config.devices.appium, [
    {
      name: 'farm-pixel',
      url: 'https://user:key@farm.example:443/wd/hub',
      capabilities: {
        platformName: 'Android',
        'appium:automationName': 'UiAutomator2',
        'appium:udid': 'R5CT',
      },
      workDir: '/data/local/tmp/prunelab',
      pollMs: 500,
      commandTimeoutMs: 60_000,
    },
    {
      name: 'grid',
      url: 'http://127.0.0.1:4723',
      capabilities: {},
      workDir: '/data/local/tmp/pl',
      pollMs: 100,
      commandTimeoutMs: 60_000,
    },
  ]);
});

test('Appium phones: a non-http URL, a repeated name, a relative workDir and a zero pollMs are reported', () => {
  const issues = issuesOf(
    [
      'devices:',
      '  appium:',
      '    - { name: a, url: "ftp://farm.example/wd/hub" }',
      '    - { name: a, url: "http://127.0.0.1:4723", workDir: tmp/pl, pollMs: 0, retries: 3 }',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    issues.map((issue) => `${issue.path}: ${issue.expected}`),
    [
      'devices.appium[0].url: an http(s) URL of an Appium server, e.g. http://127.0.0.1:4723',
      'devices.appium[1].workDir: an absolute folder on the phone, e.g. /data/local/tmp/prunelab',
      'devices.appium[1].pollMs: a number of ms > 0',
      'devices.appium[1].retries: a known field of devices.appium[1]: one of name, url, capabilities, workDir, pollMs, commandTimeoutMs',
      'devices.appium[1].name: a name no other entry has',
    ],
  );
});

test('nightly: defaults, a partial section, and sentinels with their block', () => {
  const config = loadConfig(
    [
      'nightly:',
      '  historyNights: 7',
      '  sentinels:',
      '    - { name: tiny-bcr, op: conv, cin: 16, cout: 16, side: 8, k: 1, scheme: bcr, block: 4x1, sparsity: 0.5 }',
      '',
    ].join('\n'),
    'prunelab.yaml',
  );
  assert.equal(config.nightly.historyNights, 7);
  assert.equal(config.nightly.minHistoryNights, DEFAULT_CONFIG.nightly.minHistoryNights);
  assert.deepEqual(config.nightly.sentinels, [
    {
      name: 'tiny-bcr',
      op: 'conv',
      cin: 16,
      cout: 16,
      side: 8,
      k: 1,
      scheme: 'bcr',
      block: '4x1',
      sparsity: 0.5,
    },
  ]);
  assert.deepEqual(loadConfig('', 'prunelab.yaml').nightly, DEFAULT_CONFIG.nightly);
});

test('nightly: each bad field is named with its path and what was expected', () => {
  const issues = issuesOf(
    [
      'nightly:',
      '  historyNights: 2',
      '  minHistoryNights: 3',
      '  maxFailedShare: 1.5',
      '  noiseK: 0',
      '  sentinels:',
      '    - { name: "a b", op: pool, cin: 1, cout: 1, scheme: dense }',
      '  treshold: 0.1',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    issues.map((issue) => `${issue.path}: ${issue.expected}`),
    [
      'nightly.sentinels[0].name: a short name of letters, digits and -_.',
      'nightly.sentinels[0].op: conv or fc',
      'nightly.noiseK: a number > 0 (times the robust spread)',
      'nightly.maxFailedShare: a fraction in [0, 1]',
      'nightly.treshold: a known field of nightly: one of sentinels, sentinelEveryBatches, historyNights, minHistoryNights, noiseK, minThreshold, maxSentinelSpread, maxFailedShare, confirmRounds, expectDevices, schedule, keepBuilds',
    ],
  );
  const tooShort = issuesOf('nightly:\n  historyNights: 2\n  minHistoryNights: 3\n');
  assert.deepEqual(
    tooShort.map((issue) => `${issue.path}: ${issue.expected}`),
    ['nightly.minHistoryNights: an integer <= nightly.historyNights (2)'],
  );
});

test('sweep.backends: cpu by default; --backends cpu,gpu; an unknown backend named with the choices', () => {
  assert.deepEqual(loadConfig(undefined, 'defaults').sweep.backends, ['cpu']);
  assert.deepEqual(loadConfig(undefined, 'defaults', { backends: 'cpu,gpu' }).sweep.backends, ['cpu', 'gpu']);
  const issues = issuesOf('sweep:\n  backends: [cpu, npu]\n');
  assert.ok(
    issues.some((issue) => issue.path === 'sweep.backends[1]' && issue.expected.includes('one of cpu, gpu')),
    JSON.stringify(issues),
  );
});

test('sweep.models takes built-in names and .onnx paths; anything else names both choices', () => {
  const config = loadConfig(
    'sweep:\n  models: [resnet18-cifar10, ./nets/mine.onnx]\n  perLayer: true\n',
    'lab.yaml',
  );
  assert.deepEqual(config.sweep.models, ['resnet18-cifar10', './nets/mine.onnx']);
  assert.equal(config.sweep.perLayer, true);
  assert.equal(loadConfig(undefined, 'defaults').sweep.perLayer, false);
  assert.throws(
    () => loadConfig('sweep:\n  models: [mine.pt]\n', 'lab.yaml'),
    (error: unknown) =>
      error instanceof ConfigError &&
      /sweep\.models\[0\].*a built-in model \(one of .*\) or a path to a \.onnx file/s.test(error.message),
  );
});
