/**
 * The static arm64 agent under qemu-aarch64-static: it builds, passes its selftest, says it is arm64-v8a,
 * and runs a small plan. qemu timings mean nothing for a phone; this checks the pipeline and the code.
 * The test command's preflight fails the run (not skips it) when qemu or the cross compiler is missing.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { parseAgentInfo } from '../orchestrator/agent/parse-output.ts';
import { readAgentRunOutput } from '../orchestrator/agent/read-stream.ts';
import { buildAgent, planText, QUICK, runAgent } from './agent-harness.ts';

before(() => {
  buildAgent('arm64');
});

test('arm64: selftest exits 0 under qemu', () => {
  const run = runAgent('arm64', ['selftest'], { timeoutMs: 600_000 });
  assert.equal(run.status, 0, `selftest failed:\n${run.stdout.slice(-2000)}\n${run.stderr}`);
});

test('arm64: info says arm64-v8a / aarch64 with Advanced SIMD', () => {
  const run = runAgent('arm64', ['info']);
  assert.equal(run.status, 0, run.stderr);
  const parsed = parseAgentInfo(run.lines[0] ?? '');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  assert.equal(parsed.value.abi, 'arm64-v8a');
  assert.equal(parsed.value.arch, 'aarch64');
  assert.equal(parsed.value.simd.asimd, true);
  assert.ok(parsed.value.simdCompiled.includes('asimd'));
  assert.match(parsed.value.compiler, /aarch64/);
});

test('arm64: a small run gives ok results, an error record, and a complete done line', () => {
  const run = runAgent('arm64', ['run'], {
    input: planText([
      {
        id: 'dense',
        op: 'conv',
        cin: 8,
        cout: 8,
        h: 6,
        w: 6,
        k: 3,
        stride: 1,
        pad: 1,
        scheme: 'dense',
        sparsity: 0,
        ...QUICK,
      },
      { id: 'fc', op: 'fc', in: 32, out: 16, scheme: 'dense', sparsity: 0, cpus: [0], ...QUICK },
      { id: 'idle', op: 'idle', durationUs: 500, ...QUICK },
      '{"id":"bad"',
    ]),
  });
  assert.equal(run.status, 0, run.stderr);
  const output = readAgentRunOutput(run.stdout);
  assert.deepEqual(output.garbage, []);
  assert.ok(output.complete);
  assert.deepEqual(output.done, { type: 'done', cases: 4, ok: 3, errors: 1 });
  const [dense, fc, idle, bad] = output.results;
  for (const result of [dense, fc, idle]) {
    assert.equal(result?.status, 'ok', JSON.stringify(result));
    if (result?.status === 'ok') assert.ok(result.samplesNs.length >= QUICK.minReps);
  }
  assert.deepEqual(fc?.status === 'ok' && fc.cpus, [0]);
  if (idle?.status === 'ok') for (const ns of idle.samplesNs) assert.ok(ns >= 500_000);
  assert.equal(bad?.status, 'error');
  assert.equal(bad?.id, 'line-4');
});
