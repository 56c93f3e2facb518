import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OkResultLine } from '../../config/agent-protocol.ts';
import { weightsMismatch, weightsUsed } from './measurement.ts';

const SHA = 'c'.repeat(64);
const snapshot = { timeNs: 1, thermalMilliC: {}, cpuFreqKhz: {} };
function result(weights?: string): OkResultLine {
  return {
    type: 'result',
    id: 't1',
    status: 'ok',
    op: 'conv',
    samplesNs: [10],
    density: 0.5,
    keptBlocks: 1,
    keptEnergy: 0.9,
    flops: 1,
    kernel: 'csr',
    cpus: [0],
    telemetry: { before: snapshot, after: snapshot },
    ...(weights === undefined ? {} : { weights }),
  };
}

test('a case asked with a weights file must be timed with that file: seeded or another file is a mismatch', () => {
  assert.equal(weightsMismatch(SHA, result(SHA)), undefined);
  assert.match(
    weightsMismatch(SHA, result('seeded')) ?? '',
    /asked for the weights file with sha256 c{64}, the agent reports seeded weights$/,
  );
  assert.match(weightsMismatch(SHA, result()) ?? '', /does not read weights files/);
  assert.match(weightsMismatch(SHA, result('d'.repeat(64))) ?? '', /reports weights d{64}/);
});

test('a seeded case is fine from an agent that does not say (older than weights files) and from one that says seeded', () => {
  assert.equal(weightsMismatch('seeded', result()), undefined);
  assert.equal(weightsMismatch('seeded', result('seeded')), undefined);
  assert.equal(weightsUsed(result()), 'seeded');
  assert.match(weightsMismatch('seeded', result(SHA)) ?? '', /asked for seeded weights/);
});
