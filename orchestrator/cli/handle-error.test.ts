import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, PrunelabError } from '../../config/errors.ts';
import { LutFormatError, LutLookupError } from '../../cost-model/index.ts';
import { UsageError } from '../errors.ts';
import { describeError, EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_LAB_TROUBLE } from './handle-error.ts';

test('every layer extends the one error base declared in config/', () => {
  const config = new ConfigError('lab.yaml', [{ path: 'sweep.seed', expected: 'an integer', found: "'x'" }]);
  const lut = new LutFormatError('a.json', [{ path: 'lut.device', message: 'missing required field' }]);
  const usage = new UsageError('bad flag', { option: '--db' });
  for (const error of [config, lut, usage]) assert.ok(error instanceof PrunelabError, error.name);
  assert.equal(config.kind, 'input');
  assert.deepEqual(config.data, { source: 'lab.yaml', issues: config.issues });
  assert.equal(lut.kind, 'input');
});

test('the CLI maps each kind to its exit code and prints the data of any layer', () => {
  const config = describeError(
    new ConfigError('lab.yaml', [{ path: 'sweep.seed', expected: 'an integer', found: "'x'" }]),
  );
  assert.equal(config.exitCode, EXIT_BAD_INPUT);
  assert.equal(config.json.error.name, 'ConfigError');
  assert.deepEqual(config.json.error.data, {
    source: 'lab.yaml',
    issues: [{ path: 'sweep.seed', expected: 'an integer', found: "'x'" }],
  });
  assert.doesNotMatch(config.text, /unexpected/);

  const query = { shapeKey: 'conv', scheme: 'bcr', block: '8x4', density: 0.25, threads: 1 };
  const lookup = describeError(new LutLookupError('bad-query', 'no such shape', query, null));
  assert.equal(lookup.exitCode, EXIT_BAD_INPUT);
  assert.equal(lookup.json.error.name, 'LutLookupError');
  assert.deepEqual(lookup.json.error.data, { reason: 'bad-query', query, family: null });
  assert.equal(lookup.text, 'prunelab: no such shape');

  assert.equal(describeError(new PrunelabError('work failed', {})).exitCode, EXIT_FAILURE);
  assert.equal(describeError(new PrunelabError('lab', {}, { kind: 'lab' })).exitCode, EXIT_LAB_TROUBLE);
  const unknown = describeError(new TypeError('boom'));
  assert.equal(unknown.exitCode, EXIT_FAILURE);
  assert.match(unknown.text, /^prunelab: unexpected TypeError: boom/);
});
