/**
 * The agent's preparation cache (device-agent/src/prepcache.h) must never change a result: a plan run in one
 * agent call, where later cases reuse the weights, masks and dense kernel choice of earlier ones, gives the
 * same density, keptBlocks, keptEnergy and flops, bit for bit, as each case run alone in its own agent call.
 * The plan revisits a shape after another one (the cache holds one shape) and repeats cases at 2 threads (mask
 * and dense-choice hits); the agent's cache counters (stderr) prove the reuse really happened.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { OkResultLine } from '../config/agent-protocol.ts';
import { parseAgentOutputLine } from '../orchestrator/agent/parse-output.ts';
import { buildAgent, planText, runAgent } from './agent-harness.ts';

before(() => {
  buildAgent('host');
});

const SAMPLING = { warmup: 0, minReps: 1, minTimeMs: 0, maxReps: 1 } as const;
const CONV = { op: 'conv', cin: 16, cout: 16, h: 9, w: 7, k: 3, stride: 1, pad: 1 } as const;
const FC = { op: 'fc', in: 64, out: 32 } as const;

/** Every scheme on one shape, with the block and row-share variants that make different masks. */
function shapeCases(shape: object, tag: string, threads: number): object[] {
  const variants: object[] = [
    { scheme: 'dense', sparsity: 0 },
    { scheme: 'unstructured', sparsity: 0.5 },
    { scheme: 'filter', sparsity: 0.75 },
    { scheme: 'channel', sparsity: 0.5 },
    { scheme: 'bcr', block: '4x1', sparsity: 0.75 },
    { scheme: 'bcr', block: '4x4', sparsity: 0.75, bcrRowShare: 0.5 },
    { scheme: 'block-punched', block: '8x4', sparsity: 0.5 },
  ];
  if ('k' in shape) variants.push({ scheme: 'pattern', sparsity: 0.75 });
  return variants.map((variant, index) => ({
    id: `${tag}-t${threads}-${index}`,
    ...shape,
    ...variant,
    seed: 7,
    threads,
    ...SAMPLING,
  }));
}

function okResults(lines: readonly string[]): OkResultLine[] {
  const results: OkResultLine[] = [];
  for (const line of lines) {
    const parsed = parseAgentOutputLine(line);
    assert.ok(parsed.ok, `not a protocol record: ${line}`);
    if (parsed.value.type !== 'result') continue;
    assert.equal(parsed.value.status, 'ok', line);
    results.push(parsed.value as OkResultLine);
  }
  return results;
}

test('a plan run with the preparation cache matches every case run alone, bit for bit', () => {
  const conv1 = shapeCases(CONV, 'conv', 1);
  const plan = [
    ...conv1,
    // The dense case again (as a re-measure in the same call would be): its kernel choice is reused.
    { ...conv1[0], id: 'conv-dense-again' },
    ...shapeCases(CONV, 'conv', 2),
    ...shapeCases(FC, 'fc', 1),
    // Back to the first shape after another one: the cache was cleared and must rebuild the same weights.
    ...shapeCases(CONV, 'conv-again', 1),
  ];
  const together = runAgent('host', ['run'], {
    input: planText(plan),
    env: { PRUNELAB_PREPARE_CACHE_STATS: '1' },
  });
  assert.equal(together.status, 0, together.stderr);
  const cached = okResults(together.lines);
  assert.equal(cached.length, plan.length);

  // The reuse happened: weights once per shape visit (conv, fc, conv again), masks and the dense choice
  // found again (the repeated dense case, and every case at 2 threads), the dense choice for the repeat.
  const counts =
    /data hits (\d+) misses (\d+), mask hits (\d+) misses (\d+), dense hits (\d+) misses (\d+)/.exec(
      together.stderr,
    );
  assert.ok(counts, `expected the cache counters on stderr, got: ${together.stderr}`);
  const [dataHits, dataMisses, maskHits, , denseHits] = counts.slice(1).map(Number);
  assert.equal(dataMisses, 3);
  assert.equal(dataHits, plan.length - 3);
  assert.equal(maskHits, 1 + shapeCases(CONV, 'conv', 2).length);
  assert.equal(denseHits, 1);

  for (const [index, planned] of plan.entries()) {
    const alone = runAgent('host', ['run'], { input: planText([planned]) });
    assert.equal(alone.status, 0, alone.stderr);
    const [fresh] = okResults(alone.lines);
    const reused = cached[index];
    assert.ok(fresh && reused);
    assert.equal(reused.id, fresh.id);
    for (const field of ['density', 'keptBlocks', 'keptEnergy', 'flops'] as const) {
      assert.equal(reused[field], fresh[field], `${fresh.id}: ${field} differs between cached and alone`);
    }
  }
});
