/**
 * The agent's hand-written JSON reader, fuzzed a little through the real binary: hand-picked malformed
 * lines, then seeded random mutations of valid plan lines checked against JSON.parse as the oracle.
 * Whatever a line holds, the agent answers it with exactly one record and carries on.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ResultLine } from '../config/agent-protocol.ts';
import { parseAgentOutputLine } from '../orchestrator/agent/parse-output.ts';
import { buildAgent, planText, runAgent } from './agent-harness.ts';

before(() => {
  buildAgent('host');
});

/** Runs a plan and returns its result records (all stdout lines must be protocol records). */
function runPlan(lines: readonly string[]): ResultLine[] {
  const run = runAgent('host', ['run'], { input: planText(lines) });
  assert.equal(run.status, 0, run.stderr);
  const records = run.lines.map((line) => {
    const parsed = parseAgentOutputLine(line);
    assert.ok(parsed.ok, `not a protocol record: ${line.slice(0, 300)}`);
    return parsed.value;
  });
  const done = records.pop();
  assert.equal(done?.type, 'done');
  assert.equal(records.length, lines.length, 'one result per plan line');
  assert.equal(done.type === 'done' && done.cases, lines.length);
  return records as ResultLine[];
}

const IDLE = '"op":"idle","durationUs":10,"warmup":0,"minReps":1,"minTimeMs":0,"maxTimeMs":50';

test('malformed lines each get an error record naming the problem, and the run goes on', () => {
  const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
  const cases: [string, RegExp][] = [
    ['{', /invalid JSON at byte 1: expected a quoted key/],
    ['}', /invalid JSON at byte 0: expected a value/],
    [`{"id":"a",${IDLE},}`, /expected a quoted key, found '}'/],
    [`{"id":"a" ${IDLE}}`, /expected ':' after key "id"|expected ',' or '}'/],
    [`{"id":"a",${IDLE}} x`, /trailing characters/],
    ['{"id":01}', /leading zero/],
    ['{"id":1.}', /digit after '\.'/],
    ['{"id":+1}', /expected a value/],
    ['{"id":NaN}', /expected a value/],
    ['{"id":"a\\x"}', /unknown escape/],
    ['{"id":"a\\ud800"}', /lone high surrogate/],
    ['{"id":"\u0001"}', /control character 0x01/],
    [`{"id":"a","id":"b",${IDLE}}`, /duplicate key "id"/],
    ['{"id":"a","n":1e999}', /number out of range/],
    [deep, /nesting deeper than 32/],
    ['nul', /expected a value/],
    ['"just a string"', /must be a JSON object, got a string/],
    [`{${IDLE}}`, /missing field "id"/],
    [`{"id":7,${IDLE}}`, /field "id" must be a non-empty string/],
    ['{"id":"a"}', /missing field "op"/],
    ['{"id":"a","op":"sleep"}', /unknown op "sleep"/],
    ['{"id":"a","op":"conv","cin":8}', /missing field "cout" \(a conv line needs/],
    [
      '{"id":"a","op":"fc","in":8,"out":8.5,"scheme":"dense","sparsity":0}',
      /field "out" must be an integer .* got 8\.5/,
    ],
    [
      '{"id":"a","op":"fc","in":8,"out":8,"scheme":"dense","sparsity":1}',
      /field "sparsity" must be a number in \[0, 1\), got 1/,
    ],
    ['{"id":"a","op":"fc","in":8,"out":8,"scheme":"bcr","sparsity":0.5}', /scheme bcr needs field "block"/],
    ['{"id":"a","op":"fc","in":8,"out":8,"scheme":"bcr","block":"8by4","sparsity":0.5}', /must be BRxBC/],
    ['{"id":"a","op":"fc","in":8,"out":8,"scheme":"bcr","block":"0x4","sparsity":0.5}', /must be BRxBC/],
    [
      '{"id":"a","op":"dwconv","cin":8,"cout":16,"h":4,"w":4,"k":3,"stride":1,"pad":1,"scheme":"dense","sparsity":0}',
      /dwconv needs cout == cin/,
    ],
    [
      '{"id":"a","op":"conv","cin":8,"cout":8,"h":2,"w":2,"k":7,"stride":1,"pad":0,"scheme":"dense","sparsity":0}',
      /larger than the padded input/,
    ],
    [`{"id":"a",${IDLE},"cpus":[]}`, /"cpus" must be an array of 1 to/],
    [`{"id":"a",${IDLE},"cpus":[0,0]}`, /lists cpu 0 twice/],
    [`{"id":"a","op":"idle","durationUs":-1}`, /durationUs" must be an integer/],
  ];
  const lines = [...cases.map(([line]) => line), `{"id":"still-running",${IDLE}}`];
  const results = runPlan(lines);
  cases.forEach(([line, pattern], index) => {
    const result = results[index];
    assert.equal(result?.status, 'error', `line ${index + 1} (${line.slice(0, 60)}) was accepted`);
    if (result?.status === 'error')
      assert.match(result.error, pattern, `line ${index + 1}: ${line.slice(0, 60)}`);
  });
  assert.equal(results.at(-1)?.status, 'ok');
  assert.equal(results.at(-1)?.id, 'still-running');
});

test('strings round-trip: escapes, \\u surrogate pairs and raw UTF-8 in ids come back intact', () => {
  const ids = [
    'caf\u00e9 \u{1F600}',
    'quote " backslash \\ slash / tab \t',
    'ctl \u0001\u001f',
    'x'.repeat(255),
  ];
  const results = runPlan(ids.map((id) => `{"id":${JSON.stringify(id)},${IDLE}}`));
  assert.deepEqual(
    results.map((r) => r.id),
    ids,
  );
  const escaped = runPlan([`{"id":"\\u00e9\\ud83d\\ude00\\/",${IDLE}}`]);
  assert.equal(escaped[0]?.id, '\u00e9\u{1F600}/');
  const tooLong = runPlan([`{"id":"${'x'.repeat(256)}",${IDLE}}`]);
  assert.equal(tooLong[0]?.id, 'line-1');
});

/** mulberry32: a tiny seeded PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('seeded mutations of valid lines: the agent rejects exactly what JSON.parse rejects', () => {
  const random = prng(20240611);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const bases = [
    `{"id":"z1",${IDLE}}`,
    `{"id":"z2",${IDLE},"cpus":[0],"note":"caf\\u00e9 \\"q\\" \\\\ \\/ é","list":[1,-2.5e-3,true,false,null,{}]}`,
  ];
  const alphabet = [
    '{',
    '}',
    '[',
    ']',
    '"',
    '\\',
    ',',
    ':',
    '0',
    '1',
    '-',
    '.',
    'e',
    'E',
    '+',
    ' ',
    '\t',
    'é',
    '\u0001',
    'u',
    'n',
    't',
  ];
  const mutate = (text: string): string => {
    const at = Math.floor(random() * (text.length + 1));
    switch (Math.floor(random() * 5)) {
      case 0:
        return text.slice(0, at) + text.slice(at + 1);
      case 1:
        return text.slice(0, at) + pick(alphabet) + text.slice(at);
      case 2:
        return text.slice(0, at) + pick(alphabet) + text.slice(at + 1);
      case 3:
        return text.slice(0, at);
      default: {
        const end = Math.min(text.length, at + 1 + Math.floor(random() * 8));
        return text.slice(0, end) + text.slice(at, end) + text.slice(end);
      }
    }
  };
  const lines: string[] = [];
  while (lines.length < 300) {
    let text = pick(bases);
    const rounds = 1 + Math.floor(random() * 2);
    for (let i = 0; i < rounds; i++) text = mutate(text);
    if (text.trim() !== '') lines.push(text);
  }
  const results = runPlan(lines);
  // Constructs JSON.parse accepts but the agent's stricter reader refuses on purpose.
  const stricter = /duplicate key|number out of range|\\u0000|surrogate/;
  const tally = { invalid: 0, refusedPlan: 0, ran: 0 };
  lines.forEach((line, index) => {
    const result = results[index];
    let parsed: unknown;
    let jsonOk = true;
    try {
      parsed = JSON.parse(line);
    } catch {
      jsonOk = false;
    }
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    const agentSaysInvalid = result?.status === 'error' && result.error.startsWith('invalid JSON');
    if (!jsonOk) {
      assert.ok(
        agentSaysInvalid,
        `${where}: JSON.parse rejects it, the agent said ${JSON.stringify(result)}`,
      );
      assert.equal(result?.id, `line-${index + 1}`);
      tally.invalid++;
      return;
    }
    if (agentSaysInvalid) {
      assert.match(result.status === 'error' ? result.error : '', stricter, `${where}: valid JSON refused`);
      return;
    }
    const id = (parsed as { id?: unknown } | null)?.id;
    const usable = typeof id === 'string' && id !== '' && Buffer.byteLength(id) < 256;
    assert.equal(result?.id, usable ? id : `line-${index + 1}`, where);
    if (result?.status === 'ok') tally.ran++;
    else tally.refusedPlan++;
  });
  // The mutations must exercise every path, or this test proves little.
  for (const [path, n] of Object.entries(tally))
    assert.ok(n >= 20, `only ${n} mutated lines took the ${path} path`);
});
