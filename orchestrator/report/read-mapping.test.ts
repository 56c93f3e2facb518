import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReportInputError } from './errors.ts';
import { mappingFromJson } from './read-mapping.ts';

/** A `prunelab.mapping/v1` document as orchestrator/map/mapping-file.ts writes it (figures invented). */
const v1 = {
  schema: 'prunelab.mapping/v1',
  lut: { path: 'lut-host.json', device: { id: 'host:vm', model: 'AMD EPYC' }, agentHash: 'abc' },
  model: { name: 'resnet18-cifar10', source: 'built-in', weightsFrom: 'seeded' },
  mapper: 'search',
  proxy: { definition: 'mean kept energy', value: 0.91 },
  totals: { latencyNs: 3000, proxy: 0.91, sparsity: 0.6 },
  layers: [
    {
      name: 'conv1',
      scheme: 'dense',
      block: null,
      sparsity: 0,
      proxy: 1,
      predictedLatencyNs: 1000,
      predictedSource: 'measured',
    },
    {
      name: 'fc',
      scheme: 'bcr',
      block: '4x1',
      sparsity: 0.75,
      proxy: 0.8,
      predictedLatencyNs: 2000,
      predictedSource: 'predicted',
    },
  ],
  baselines: [
    { name: 'all dense', latencyNs: 5000, sparsity: 0 },
    { name: 'all pattern', latencyNs: null, sparsity: null, note: 'cannot reach the proxy' },
  ],
  verification: {
    device: 'host:vm',
    layers: [
      { name: 'conv1', predictedNs: 1000, measuredNs: 1100 },
      { name: 'fc', predictedNs: 2000, measuredNs: 1900 },
    ],
    measuredTotalNs: 3000,
    predictedTotalNs: 3000,
  },
};

test('a prunelab.mapping/v1 file becomes the report view, with its verification per layer', () => {
  const mapping = mappingFromJson(v1, 'mapping.json');
  assert.equal(mapping.model, 'resnet18-cifar10');
  assert.equal(mapping.deviceId, 'host:vm');
  assert.equal(mapping.mapper, 'search');
  assert.equal(mapping.totalPredictedNs, 3000);
  assert.equal(mapping.totalMeasuredNs, 3000);
  assert.equal(mapping.proxy, 0.91);
  assert.deepEqual(
    mapping.layers.map((l) => [l.layer, l.scheme, l.block, l.predictedNs, l.source, l.measuredNs, l.proxy]),
    [
      ['conv1', 'dense', null, 1000, 'measured', 1100, 1],
      ['fc', 'bcr', '4x1', 2000, 'predicted', 1900, 0.8],
    ],
  );
  assert.deepEqual(
    mapping.baselines,
    [{ name: 'all dense', predictedNs: 5000, proxy: null }],
    'null latency left out',
  );
});

test('a mapping without a required field fails with the field path and how to fix it', () => {
  const broken = { ...v1, layers: [{ name: 'conv1', scheme: 'dense', sparsity: 0 }] };
  assert.throws(
    () => mappingFromJson(broken, 'bad.json'),
    (error: unknown) =>
      error instanceof ReportInputError &&
      /bad\.json: layers\[0\]\.predictedLatencyNs: expected a number/.test(error.message) &&
      /prunelab map --out FILE/.test(error.message),
  );
  assert.throws(() => mappingFromJson([], 'x.json'), /expected a JSON object/);
});
