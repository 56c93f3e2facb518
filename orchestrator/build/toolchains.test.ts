/** `clinfo -l` parsing for `prunelab doctor`, on output captured from this machine and a two-platform sketch. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClinfoList } from './toolchains.ts';

test('clinfo -l: PoCL as Debian 12 prints it', () => {
  const captured =
    'Platform #0: Portable Computing Language\n `-- Device #0: pthread-skylake-avx512-AMD EPYC\n';
  assert.deepEqual(parseClinfoList(captured), [
    { name: 'Portable Computing Language', devices: ['pthread-skylake-avx512-AMD EPYC'] },
  ]);
});

test('clinfo -l: several platforms and devices, a platform with none, nothing at all', () => {
  const text = [
    'Platform #0: QUALCOMM Snapdragon(TM)',
    ' +-- Device #0: QUALCOMM Adreno(TM) 640',
    ' `-- Device #1: QUALCOMM Adreno(TM) 640 (second queue)',
    'Platform #1: Empty',
    '',
  ].join('\n');
  assert.deepEqual(parseClinfoList(text), [
    {
      name: 'QUALCOMM Snapdragon(TM)',
      devices: ['QUALCOMM Adreno(TM) 640', 'QUALCOMM Adreno(TM) 640 (second queue)'],
    },
    { name: 'Empty', devices: [] },
  ]);
  assert.deepEqual(parseClinfoList(''), []);
});
