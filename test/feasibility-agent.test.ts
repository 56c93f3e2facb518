/**
 * The planner's feasibility rules (orchestrator/plan/feasibility.ts) mirror the agent's refusals
 * (prune_validate in device-agent/src/prune.c) so that impossible cases are dropped up front with the
 * agent's own words. This pins the two together: every case of a grid that crosses the rules' edges is
 * planned in TypeScript and run by the real host agent, and the two must agree on feasible or not and,
 * when not, on the reason, word for word.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlanLine, ResultLine } from '../config/agent-protocol.ts';
import type { LayerShape } from '../config/types.ts';
import { parseBlockSize, SCHEMES, type Scheme } from '../config/vocabulary.ts';
import { parseAgentOutputLine } from '../orchestrator/agent/parse-output.ts';
import { infeasibleReason } from '../orchestrator/plan/feasibility.ts';
import { planText, runAgent } from './agent-harness.ts';

/** Small spatial sizes: the feasible cases are timed once each, so the grid stays cheap. */
const SHAPES: readonly LayerShape[] = [
  { op: 'conv', cin: 12, cout: 8, h: 4, w: 4, k: 3, stride: 1, pad: 1 },
  { op: 'conv', cin: 3, cout: 6, h: 4, w: 4, k: 3, stride: 2, pad: 1 },
  { op: 'conv', cin: 6, cout: 12, h: 4, w: 4, k: 1, stride: 1, pad: 0 },
  { op: 'conv', cin: 8, cout: 8, h: 5, w: 5, k: 5, stride: 1, pad: 2 },
  { op: 'dwconv', cin: 8, cout: 8, h: 4, w: 4, k: 3, stride: 1, pad: 1 },
  { op: 'fc', cin: 12, cout: 8, h: 1, w: 1, k: 1, stride: 1, pad: 0 },
];
const BLOCKS = ['4x1', '8x4', '3x3', '2x2', '1x12'] as const;
// Sparsity 1 is not here: the config schema refuses it before the planner sees it, as the agent's plan reader does.
const SPARSITIES = [0, 0.5, 0.5556, 0.75] as const;

interface GridCase {
  readonly id: string;
  readonly shape: LayerShape;
  readonly scheme: Scheme;
  readonly block: string | undefined;
  readonly sparsity: number;
}

function gridCases(): GridCase[] {
  const cases: GridCase[] = [];
  for (const [s, shape] of SHAPES.entries()) {
    for (const scheme of SCHEMES) {
      const blocks = scheme === 'bcr' || scheme === 'block-punched' ? BLOCKS : [undefined];
      for (const block of blocks) {
        for (const sparsity of SPARSITIES) {
          cases.push({ id: `${s}-${scheme}-${block ?? '-'}-${sparsity}`, shape, scheme, block, sparsity });
        }
      }
    }
  }
  return cases;
}

function planLine(c: GridCase): PlanLine {
  const sampling = { warmup: 0, minReps: 1, maxReps: 1, minTimeMs: 0 };
  const pruning = {
    scheme: c.scheme,
    sparsity: c.sparsity,
    ...(c.block === undefined ? {} : { block: c.block }),
  };
  if (c.shape.op === 'fc') {
    return { id: c.id, op: 'fc', in: c.shape.cin, out: c.shape.cout, ...pruning, ...sampling };
  }
  const { op, cin, cout, h, w, k, stride, pad } = c.shape;
  return { id: c.id, op, cin, cout, h, w, k, stride, pad, ...pruning, ...sampling };
}

test('the planner drops exactly the cases the agent refuses, with the agent reason word for word', () => {
  const cases = gridCases();
  const run = runAgent('host', ['run'], { input: planText(cases.map(planLine)), timeoutMs: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const results = new Map<string, ResultLine>();
  for (const line of run.lines) {
    const parsed = parseAgentOutputLine(line);
    assert.ok(parsed.ok, line);
    if (parsed.value.type === 'result') results.set(parsed.value.id, parsed.value);
  }
  assert.equal(results.size, cases.length, 'the agent answers every case');

  let refused = 0;
  const disagreements: string[] = [];
  for (const c of cases) {
    const result = results.get(c.id);
    assert.ok(result !== undefined, c.id);
    const planned = infeasibleReason(
      c.shape,
      c.scheme,
      c.block === undefined ? undefined : parseBlockSize(c.block),
      c.sparsity,
    );
    const agent = result.status === 'error' ? result.error : undefined;
    if (agent !== undefined) refused += 1;
    if (planned !== agent) disagreements.push(`${c.id}: planner ${planned ?? 'ok'} / agent ${agent ?? 'ok'}`);
  }
  assert.deepEqual(disagreements, []);
  // The grid must cross the rules' edges both ways, or the comparison proves little.
  assert.ok(
    refused > cases.length / 4 && refused < (cases.length * 3) / 4,
    `${refused}/${cases.length} refused`,
  );
});
