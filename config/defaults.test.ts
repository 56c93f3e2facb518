import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_CONFIG, DEFAULT_MEASUREMENT, DEFAULT_SWEEP } from './defaults.ts';
import { loadConfig } from './load.ts';
import { checkConfig } from './schema.ts';
import { SCHEMES } from './vocabulary.ts';

test('the embedded default config passes its own schema unchanged', () => {
  const result = checkConfig({});
  assert.ok(result.ok);
  assert.deepEqual(result.config, DEFAULT_CONFIG);
});

test('measurement defaults are the lab anchors: warm-up 2, 10 reps, 100 ms, capped', () => {
  assert.deepEqual(
    [DEFAULT_MEASUREMENT.warmup, DEFAULT_MEASUREMENT.minReps, DEFAULT_MEASUREMENT.minTimeMs],
    [2, 10, 100],
  );
  assert.ok(DEFAULT_MEASUREMENT.maxTimeMs >= DEFAULT_MEASUREMENT.minTimeMs);
  assert.ok(DEFAULT_MEASUREMENT.maxReps >= DEFAULT_MEASUREMENT.minReps);
});

test('default sweep: every scheme over the ResNet-18 CIFAR-10 shapes, single thread', () => {
  assert.deepEqual(DEFAULT_SWEEP.models, ['resnet18-cifar10']);
  assert.deepEqual([...DEFAULT_SWEEP.schemes].sort(), [...SCHEMES].sort());
  assert.deepEqual(DEFAULT_SWEEP.threads, [1]);
});

test("config/README.md's example file is valid and spells out exactly the defaults", () => {
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(example, 'README has a yaml example');
  assert.deepEqual(loadConfig(example, 'config/README.md'), DEFAULT_CONFIG);
});
