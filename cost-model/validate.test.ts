import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LutFormatError, LutVersionError } from './errors.ts';
import { syntheticLut } from './test-support.ts';
import { parseLut, parseLutText, pointerToPath, serializeLut } from './validate.ts';

/** A fitted LUT as a file would hold it, to be broken on purpose. */
function lutJson(): Record<string, unknown> {
  return JSON.parse(serializeLut(syntheticLut()));
}

test('a fitted LUT survives the round trip through its JSON text and the schema', () => {
  const lut = syntheticLut();
  assert.deepEqual(parseLutText(serializeLut(lut), 'lut-test.json'), JSON.parse(JSON.stringify(lut)));
});

test('another schema version is refused with the version found and the one supported', () => {
  const raw = { ...lutJson(), schema: 'prunelab.lut/v2' };
  assert.throws(
    () => parseLut(raw, 'luts/lut-pixel.json'),
    (error: unknown) => {
      assert.ok(error instanceof LutVersionError);
      assert.equal(error.name, 'LutVersionError');
      assert.deepEqual(error.data, {
        source: 'luts/lut-pixel.json',
        found: 'prunelab.lut/v2',
        supported: 'prunelab.lut/v1',
      });
      assert.match(error.message, /has schema "prunelab.lut\/v2"; this build reads only "prunelab.lut\/v1"/);
      assert.match(error.message, /prunelab fit/);
      return true;
    },
  );
});

test('a missing field and a wrong type are reported with their paths, all at once', () => {
  const raw = lutJson();
  delete raw.agentHash;
  const entries = raw.entries as Record<string, unknown>[];
  const first = entries[0] as Record<string, unknown>;
  delete (first.curve as Record<string, unknown>).knots;
  first.threads = 'one';
  assert.throws(
    () => parseLut(raw, 'lut-x.json'),
    (error: unknown) => {
      assert.ok(error instanceof LutFormatError);
      const lines = error.data.issues.map((i) => `${i.path}: ${i.message}`);
      assert.ok(lines.includes('lut.agentHash: missing required field'), lines.join('\n'));
      assert.ok(lines.includes('lut.entries[0].curve.knots: missing required field'), lines.join('\n'));
      assert.ok(
        lines.includes('lut.entries[0].threads: expected integer; got string "one"'),
        lines.join('\n'),
      );
      assert.match(error.message, /^invalid LUT in lut-x\.json: 3 problems\n/);
      assert.match(error.message, /cost-model\/lut\.schema\.json/);
      return true;
    },
  );
});

test('a file without a schema field, or not JSON at all, is a format error', () => {
  const raw = lutJson();
  delete raw.schema;
  assert.throws(() => parseLut(raw, 'a.json'), /lut\.schema: missing required field/);
  assert.throws(
    () => parseLutText('{"schema": ', 'b.json'),
    (error: unknown) => {
      assert.ok(error instanceof LutFormatError);
      assert.ok(error.cause instanceof SyntaxError);
      return true;
    },
  );
  assert.throws(() => parseLut([], 'c.json'), /expected a JSON object; got an array/);
});

test('a curve that goes down with density breaks an invariant the schema cannot state', () => {
  const raw = lutJson();
  const entries = raw.entries as { curve: { knots: { latencyNs: number; lowNs: number }[] } }[];
  const index = entries.findIndex((e) => e.curve.knots.length === 3);
  const last = entries[index]?.curve.knots[2];
  if (last === undefined) assert.fail('fixture has no 3-knot curve');
  last.latencyNs = 1;
  last.lowNs = 1;
  assert.throws(
    () => parseLut(raw, 'd.json'),
    (error: unknown) => {
      assert.ok(error instanceof LutFormatError);
      assert.equal(error.data.issues.length, 1);
      assert.equal(error.data.issues[0]?.path, `lut.entries[${index}].curve.knots[2].latencyNs`);
      assert.match(error.message, /expected a curve non-decreasing in density; got \d+(\.\d+)? then 1\n/);
      return true;
    },
  );
});

test('JSON pointers become readable paths', () => {
  assert.equal(pointerToPath(''), 'lut');
  assert.equal(pointerToPath('/entries/3/curve/knots/0'), 'lut.entries[3].curve.knots[0]');
});
