import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentLineSplitter } from './line-splitter.ts';
import { parseAgentInfo, parseAgentOutputLine } from './parse-output.ts';
import { readAgentRunOutput } from './read-stream.ts';

const telemetry = {
  before: {
    timeNs: 1000,
    thermalMilliC: { 'cpu-big': 45000, battery: null },
    cpuFreqKhz: { cpu0: 1800000, cpu1: null },
  },
  after: {
    timeNs: 2000,
    thermalMilliC: { 'cpu-big': 46000, battery: null },
    cpuFreqKhz: { cpu0: 1800000, cpu1: null },
  },
};

const okLine = {
  type: 'result',
  id: 'c1',
  line: 1,
  status: 'ok',
  op: 'conv',
  scheme: 'bcr',
  block: '8x4',
  sparsity: 0.75,
  seed: 1,
  density: 0.25,
  keptBlocks: 512,
  keptEnergy: 0.61,
  flops: 1.2e8,
  kernel: 'bcr-panel',
  threads: 1,
  cpus: [4, 5],
  reps: 3,
  stop: 'minReached',
  medianCiRelWidth: null,
  sampling: { warmup: 2, minReps: 3, minTimeMs: 0, maxReps: 100000, maxTimeMs: 10000, ciRelWidth: 0 },
  samplesNs: [1200, 1100, 1300],
  telemetry,
  futureField: 'ignored',
};

test('an ok result line parses into a typed record, unknown fields dropped', () => {
  const parsed = parseAgentOutputLine(JSON.stringify(okLine));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  assert.equal(parsed.value.type, 'result');
  assert.ok(parsed.value.type === 'result' && parsed.value.status === 'ok');
  assert.deepEqual(parsed.value.samplesNs, [1200, 1100, 1300]);
  assert.equal(parsed.value.telemetry.before.thermalMilliC.battery, null);
  assert.equal('futureField' in parsed.value, false);
});

test('error and done lines parse; a trailing \\r\\n is ignored', () => {
  const error = parseAgentOutputLine(
    '{"type":"result","id":"line-3","line":3,"status":"error","error":"bad JSON"}\r\n',
  );
  assert.ok(error.ok);
  assert.deepEqual(error.value, {
    type: 'result',
    id: 'line-3',
    line: 3,
    status: 'error',
    error: 'bad JSON',
  });
  const done = parseAgentOutputLine('{"type":"done","cases":3,"ok":2,"errors":1}');
  assert.ok(done.ok);
  assert.deepEqual(done.value, { type: 'done', cases: 3, ok: 2, errors: 1 });
});

test('every prefix of a valid line (a crashed agent) is a not-json error, never a throw', () => {
  const text = JSON.stringify(okLine);
  for (let cut = 0; cut < text.length; cut++) {
    const parsed = parseAgentOutputLine(text.slice(0, cut));
    assert.equal(parsed.ok, false, `prefix of ${cut} characters parsed`);
    if (!parsed.ok) {
      assert.equal(parsed.error.name, 'AgentOutputParseError');
      assert.equal(parsed.error.data.problem, cut === 0 ? 'empty' : 'not-json');
      assert.match(parsed.error.message, /^expected a JSON object with type result\|done, got /);
    }
  }
});

test('garbage lines get a named problem and keep the cause', () => {
  const cases: [string, string][] = [
    ['   ', 'empty'],
    ['Segmentation fault', 'not-json'],
    ['[1,2]', 'not-object'],
    ['null', 'not-object'],
    ['42', 'not-object'],
    ['{"type":"selftest","ok":true}', 'unknown-type'],
    ['{"id":"c1"}', 'unknown-type'],
    ['{"type":"result","id":"c1","status":"maybe"}', 'invalid-fields'],
  ];
  for (const [text, problem] of cases) {
    const parsed = parseAgentOutputLine(text);
    assert.equal(parsed.ok, false, text);
    if (!parsed.ok) assert.equal(parsed.error.data.problem, problem, text);
  }
  const notJson = parseAgentOutputLine('{"type":');
  assert.ok(!notJson.ok && notJson.error.cause instanceof SyntaxError);
});

test('bad fields are named with their path, what was expected and what was found', () => {
  const withBadSample = { ...okLine, samplesNs: [1200, -5, 1300] };
  const parsed = parseAgentOutputLine(JSON.stringify(withBadSample));
  assert.ok(!parsed.ok);
  assert.equal(parsed.error.data.problem, 'invalid-fields');
  assert.equal(parsed.error.data.issues.length, 1);
  assert.match(parsed.error.data.issues[0] ?? '', /^samplesNs\[1\]: .*got -5$/);
  assert.match(parsed.error.message, /ok result "c1" has bad fields/);

  const { density: _density, ...withoutDensity } = okLine;
  const missing = parseAgentOutputLine(JSON.stringify(withoutDensity));
  assert.ok(!missing.ok);
  assert.match(missing.error.data.issues.join(), /^density: .*got nothing$/);

  const badTelemetry = {
    ...okLine,
    telemetry: { ...telemetry, after: { ...telemetry.after, cpuFreqKhz: { cpu0: '1.8GHz' } } },
  };
  const tele = parseAgentOutputLine(JSON.stringify(badTelemetry));
  assert.ok(!tele.ok);
  assert.match(tele.error.data.issues.join(), /telemetry\.after\.cpuFreqKhz\.cpu0: .*got "1\.8GHz"/);

  const noSamples = parseAgentOutputLine(JSON.stringify({ ...okLine, samplesNs: [] }));
  assert.ok(!noSamples.ok);

  const unknownScheme = parseAgentOutputLine(JSON.stringify({ ...okLine, scheme: 'magic' }));
  assert.ok(!unknownScheme.ok);
  assert.match(unknownScheme.error.data.issues.join(), /^scheme: /);
});

test('a done line whose counts do not add up is rejected', () => {
  const parsed = parseAgentOutputLine('{"type":"done","cases":3,"ok":2,"errors":2}');
  assert.ok(!parsed.ok);
  assert.match(parsed.error.message, /ok \+ errors to equal cases/);
});

test('the line splitter keeps half lines until their newline, and hands back a dangling tail', () => {
  const splitter = new AgentLineSplitter();
  assert.deepEqual(splitter.push('{"a":'), []);
  assert.deepEqual(splitter.push('1}\r\n{"b":2}\n{"c"'), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(splitter.push(':3'), []);
  assert.equal(splitter.end(), '{"c":3');
  assert.equal(splitter.end(), undefined);
});

test('a whole captured stdout: results, garbage with line numbers, and completeness', () => {
  const error = '{"type":"result","id":"line-2","status":"error","error":"x"}';
  const full = [JSON.stringify(okLine), error, '{"type":"done","cases":2,"ok":1,"errors":1}', ''].join('\n');
  const read = readAgentRunOutput(full);
  assert.equal(read.results.length, 2);
  assert.equal(read.complete, true);
  assert.deepEqual(read.garbage, []);

  const crashed = readAgentRunOutput(
    `${JSON.stringify(okLine)}\nwarning: oops\n{"type":"result","id":"c2","sta`,
  );
  assert.equal(crashed.results.length, 1);
  assert.equal(crashed.done, undefined);
  assert.equal(crashed.complete, false);
  assert.deepEqual(
    crashed.garbage.map((g) => [g.lineNumber, g.error.data.problem]),
    [
      [2, 'not-json'],
      [3, 'not-json'],
    ],
  );

  const miscounted = readAgentRunOutput(`${error}\n{"type":"done","cases":2,"ok":1,"errors":1}\n`);
  assert.equal(miscounted.complete, false);
});

test('an info line parses; a run line is not an info line', () => {
  const info = {
    type: 'info',
    protocolVersion: 1,
    abi: 'arm64-v8a',
    arch: 'aarch64',
    buildHash: '0123456789abcdef',
    compiler: 'aarch64-linux-gnu-gcc 12.2.0',
    cflags: '-O3',
    sysfsRoot: '/sys',
    cpus: [
      { id: 0, online: true, maxFreqKhz: 1785600, capacity: 325, cluster: 1 },
      { id: 1, online: null, maxFreqKhz: 2841600, capacity: 1024, cluster: 0 },
    ],
    clusters: [
      { index: 0, role: 'big', maxFreqKhz: 2841600, cpus: [1] },
      { index: 1, role: 'little', maxFreqKhz: 1785600, cpus: [0] },
    ],
    bigCluster: 0,
    simd: { asimd: true, sve: false },
    simdCompiled: ['asimd'],
    clockResolutionNs: 1,
    clockOverheadNs: 40,
    pageSizeBytes: 4096,
    onlineCpuCount: 2,
    affinity: [0, 1],
    cpuModel: null,
    uname: { sysname: 'Linux', release: '4.14', machine: 'aarch64' },
  };
  const parsed = parseAgentInfo(JSON.stringify(info));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  assert.equal(parsed.value.clusters[0]?.role, 'big');
  const wrong = parseAgentInfo(JSON.stringify(okLine));
  assert.ok(!wrong.ok);
  assert.equal(wrong.error.data.problem, 'unknown-type');
});
