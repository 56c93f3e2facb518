/**
 * The real host agent, end to end: info, selftest, and `run` with real small cases, plan errors, the idle
 * op, pinning, and telemetry read from a fake sysfs tree. Every line of stdout must be a protocol record.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AgentOutputLine, OkResultLine, ResultLine } from '../config/agent-protocol.ts';
import { parseAgentInfo, parseAgentOutputLine } from '../orchestrator/agent/parse-output.ts';
import { readAgentRunOutput } from '../orchestrator/agent/read-stream.ts';
import { buildAgent, planText, QUICK, runAgent } from './agent-harness.ts';

before(() => {
  buildAgent('host');
});

/** Parses every stdout line with the orchestrator's parser: anything that is not a record fails the test. */
function records(lines: readonly string[]): AgentOutputLine[] {
  return lines.map((line, index) => {
    const parsed = parseAgentOutputLine(line);
    assert.ok(
      parsed.ok,
      `stdout line ${index + 1} is not a protocol record: ${parsed.ok ? '' : parsed.error.message}`,
    );
    return parsed.value;
  });
}

function okResult(line: AgentOutputLine | undefined, id: string): OkResultLine {
  assert.ok(line?.type === 'result', `expected a result for ${id}, got ${JSON.stringify(line)}`);
  assert.equal(line.id, id);
  assert.equal(line.status, 'ok', `case ${id}: ${line.status === 'error' ? line.error : ''}`);
  return line as OkResultLine;
}

function errorResult(line: AgentOutputLine | undefined, id: string): string {
  assert.ok(line?.type === 'result', `expected a result for ${id}`);
  assert.equal(line.id, id);
  assert.equal(line.status, 'error', `case ${id} should have been refused`);
  return (line as Extract<ResultLine, { status: 'error' }>).error;
}

const conv1x1 = { op: 'conv', cin: 16, cout: 16, h: 8, w: 8, k: 1, stride: 1, pad: 0, ...QUICK };

test('info: one JSON line with sane build and CPU fields', () => {
  const run = runAgent('host', ['info']);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.lines.length, 1);
  const parsed = parseAgentInfo(run.lines[0] ?? '');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  const info = parsed.value;
  assert.equal(info.abi, 'host');
  assert.match(info.buildHash, /^[0-9a-f]{16}$/);
  assert.match(info.cflags, /-std=gnu11/);
  assert.ok(info.cpus.length >= 1 && info.onlineCpuCount >= 1);
  assert.ok(info.affinity.length >= 1);
  assert.ok(
    info.clockOverheadNs >= 0 && info.clockOverheadNs < 1_000_000,
    `clock overhead ${info.clockOverheadNs} ns`,
  );
  assert.equal(info.pageSizeBytes & (info.pageSizeBytes - 1), 0, 'page size is a power of two');
  assert.equal(info.bigCluster, 0);
  assert.equal(info.clusters[0]?.role, 'big');
  const clustered = info.clusters.flatMap((c) => c.cpus).sort((a, b) => a - b);
  assert.deepEqual(
    clustered,
    info.cpus.map((c) => c.id).sort((a, b) => a - b),
    'every CPU is in exactly one cluster',
  );
  if (info.arch === 'x86_64') assert.equal(typeof info.simd.avx2, 'boolean');
});

test('selftest exits 0', () => {
  const run = runAgent('host', ['selftest'], { timeoutMs: 300_000 });
  assert.equal(run.status, 0, `selftest failed:\n${run.stdout.slice(-2000)}\n${run.stderr}`);
});

test('run: one result per plan line, in order, then done with the right counts', () => {
  const plan = planText([
    { id: 'dense', ...conv1x1, k: 3, pad: 1, scheme: 'dense', sparsity: 0 },
    { id: 'bcr', ...conv1x1, scheme: 'bcr', block: '4x4', sparsity: 0.5 },
    { id: 'no-divide', ...conv1x1, scheme: 'bcr', block: '3x4', sparsity: 0.5 },
    '{"id":"broken","op":"conv",',
    { id: 'unknown-scheme', ...conv1x1, scheme: 'magic', sparsity: 0.5 },
    { id: 'idle', op: 'idle', durationUs: 1000, ...QUICK },
  ]);
  const run = runAgent('host', ['run'], { input: plan });
  assert.equal(run.status, 0, run.stderr);
  const out = records(run.lines);
  assert.equal(out.length, 7);
  assert.deepEqual(out.at(-1), { type: 'done', cases: 6, ok: 3, errors: 3 });
  assert.equal(readAgentRunOutput(run.stdout).complete, true);

  const dense = okResult(out[0], 'dense');
  assert.equal(dense.op, 'conv');
  assert.equal(dense.density, 1);
  assert.ok(dense.flops > 0);
  assert.ok(dense.samplesNs.length >= QUICK.minReps);
  assert.ok(dense.samplesNs.every((ns) => Number.isInteger(ns) && ns > 0));
  assert.equal(dense.reps, dense.samplesNs.length);

  const bcr = okResult(out[1], 'bcr');
  assert.ok(bcr.density > 0 && bcr.density < 1, `bcr density ${bcr.density}`);
  assert.ok(Math.abs(bcr.density - 0.5) <= 0.25, `bcr at sparsity 0.5 kept density ${bcr.density}`);
  assert.ok(
    bcr.keptEnergy > bcr.density && bcr.keptEnergy < 1,
    'magnitude pruning keeps more energy than weights',
  );
  assert.ok(bcr.keptBlocks > 0);
  assert.equal(bcr.block, '4x4');
  assert.ok(bcr.samplesNs.length >= QUICK.minReps);

  assert.match(errorResult(out[2], 'no-divide'), /3x4|divide/);
  assert.match(errorResult(out[3], 'line-4'), /invalid JSON/);
  assert.match(errorResult(out[4], 'unknown-scheme'), /unknown scheme "magic"/);

  const idle = okResult(out[5], 'idle');
  assert.equal(idle.op, 'idle');
  assert.equal(idle.density, 1);
  assert.equal(idle.flops, 0);
  assert.ok(idle.samplesNs.length >= QUICK.minReps);
  for (const ns of idle.samplesNs)
    assert.ok(ns >= 1_000_000, `an idle sample of ${ns} ns is shorter than 1000 us`);
});

test('run: pruning keeps at least one unit, even when the nearest count to the target is zero', () => {
  // A CIFAR stem conv has 3 input channels: 90% channel pruning is nearest to keeping none of them.
  const stem = { op: 'conv', cin: 3, cout: 64, h: 32, w: 32, k: 3, stride: 1, pad: 1, ...QUICK };
  const run = runAgent('host', ['run'], {
    input: planText([
      { id: 'channel', ...stem, scheme: 'channel', sparsity: 0.9 },
      { id: 'filter', ...stem, cout: 2, scheme: 'filter', sparsity: 0.9 },
    ]),
  });
  assert.equal(run.status, 0, run.stderr);
  const out = records(run.lines);
  const channel = okResult(out[0], 'channel');
  assert.equal(channel.keptBlocks, 1);
  assert.ok(Math.abs(channel.density - 1 / 3) < 1e-12, `density ${channel.density}`);
  const filter = okResult(out[1], 'filter');
  assert.equal(filter.keptBlocks, 1);
  assert.ok(Math.abs(filter.density - 1 / 2) < 1e-12, `density ${filter.density}`);
});

test('run: sampling policy from the plan line (minReps, minTimeMs, maxTimeMs cap, maxReps)', () => {
  const run = runAgent('host', ['run'], {
    input: planText([
      { id: 'min-time', op: 'idle', durationUs: 100, warmup: 0, minReps: 2, minTimeMs: 30 },
      { id: 'capped', op: 'idle', durationUs: 2000, warmup: 0, minReps: 1000, minTimeMs: 0, maxTimeMs: 20 },
      {
        id: 'max-reps',
        op: 'idle',
        durationUs: 10,
        warmup: 0,
        minReps: 5,
        minTimeMs: 10000,
        maxReps: 7,
        maxTimeMs: 10000,
      },
      { id: 'ci', op: 'idle', durationUs: 1000, warmup: 0, minReps: 6, minTimeMs: 10000, ciRelWidth: 0.9 },
      { id: 'contradiction', op: 'idle', durationUs: 10, minReps: 10, maxReps: 5 },
    ]),
  });
  assert.equal(run.status, 0, run.stderr);
  const out = records(run.lines);
  const minTime = okResult(out[0], 'min-time');
  assert.equal(minTime.stop, 'minReached');
  const totalNs = minTime.samplesNs.reduce((a, b) => a + b, 0);
  assert.ok(totalNs >= 30e6 * 0.95, `min-time ran ${totalNs} ns of samples for minTimeMs 30`);

  const capped = okResult(out[1], 'capped');
  assert.equal(capped.stop, 'maxTime');
  assert.ok(capped.samplesNs.length < 1000 && capped.samplesNs.length >= 1);

  const maxReps = okResult(out[2], 'max-reps');
  assert.equal(maxReps.stop, 'maxReps');
  assert.equal(maxReps.samplesNs.length, 7);

  const ci = okResult(out[3], 'ci');
  assert.equal(ci.stop, 'ci', 'a +-45% interval on 1 ms sleeps is reached at once');
  assert.ok(ci.samplesNs.length >= 6 && ci.samplesNs.length < 100);
  assert.equal(typeof ci.medianCiRelWidth, 'number');

  assert.match(errorResult(out[4], 'contradiction'), /maxReps 5 is below minReps 10/);
});

test('run: pinning to cpu 0 reads back [0]; an offline cpu is refused; unpinned cases get the start-up mask back', () => {
  const startup = parseAgentInfo(runAgent('host', ['info']).lines[0] ?? '');
  assert.ok(startup.ok);
  const offline = 1000; // beyond any online CPU of a test machine
  const run = runAgent('host', ['run'], {
    input: planText([
      { id: 'pinned', op: 'idle', durationUs: 10, cpus: [0], ...QUICK },
      { id: 'offline', op: 'idle', durationUs: 10, cpus: [offline], ...QUICK },
      { id: 'unpinned', op: 'idle', durationUs: 10, ...QUICK },
      { id: 'pinned-conv', ...conv1x1, scheme: 'dense', sparsity: 0, threads: 1, cpus: [0] },
    ]),
  });
  assert.equal(run.status, 0, run.stderr);
  const out = records(run.lines);
  assert.deepEqual(okResult(out[0], 'pinned').cpus, [0]);
  assert.match(errorResult(out[1], 'offline'), /cpu 1000 is not online/);
  assert.deepEqual(okResult(out[2], 'unpinned').cpus, startup.value.affinity);
  assert.deepEqual(okResult(out[3], 'pinned-conv').cpus, [0]);
});

test('run: --plan FILE works, an unreadable plan file is fatal (exit 1, nothing on stdout)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prunelab-plan-'));
  try {
    const path = join(dir, 'plan.jsonl');
    writeFileSync(path, planText([{ id: 'a', op: 'idle', durationUs: 10, ...QUICK }, '', '   ']));
    const ok = runAgent('host', ['run', '--plan', path]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(
      records(ok.lines).at(-1),
      { type: 'done', cases: 1, ok: 1, errors: 0 },
      'blank lines are not cases',
    );

    const missing = runAgent('host', ['run', '--plan', join(dir, 'nope.jsonl')]);
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /cannot open plan file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage: no command or a bad one exits 2 with usage on stderr only', () => {
  for (const args of [[], ['frobnicate'], ['run', '--bogus']]) {
    const run = runAgent('host', args);
    assert.equal(run.status, 2, `args ${args.join(' ')}`);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /usage: prunelab-agent/);
  }
  const help = runAgent('host', ['--help']);
  assert.equal(help.status, 0);
  assert.equal(help.stdout, '');
});

/** A fake sysfs: two thermal zones with temperatures, one without; two CPUs with frequencies, one without. */
let sysfsRoot = '';
before(() => {
  sysfsRoot = mkdtempSync(join(tmpdir(), 'prunelab-sysfs-'));
  const put = (path: string, text: string) => {
    const full = join(sysfsRoot, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, text);
  };
  put('class/thermal/thermal_zone0/type', 'cpu-big\n');
  put('class/thermal/thermal_zone0/temp', '45000\n');
  put('class/thermal/thermal_zone1/type', 'battery\n');
  put('class/thermal/thermal_zone1/temp', '31500\n');
  put('class/thermal/thermal_zone2/type', 'modem\n'); // no temp file: reported as null
  put('devices/system/cpu/online', '0-2\n');
  put('devices/system/cpu/cpu0/cpufreq/scaling_cur_freq', '1785600\n');
  put('devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq', '1785600\n');
  put('devices/system/cpu/cpu1/cpufreq/scaling_cur_freq', '2841600\n');
  put('devices/system/cpu/cpu1/cpufreq/cpuinfo_max_freq', '2841600\n');
  put('devices/system/cpu/cpu2/cpufreq/cpuinfo_max_freq', '2841600\n'); // no scaling_cur_freq: null
});
after(() => {
  if (sysfsRoot) rmSync(sysfsRoot, { recursive: true, force: true });
});

test('telemetry: exact values from a fake sysfs tree, null (not 0) for missing files', () => {
  const run = runAgent('host', ['run'], {
    input: planText([{ id: 'idle', op: 'idle', durationUs: 100, ...QUICK }]),
    env: { PRUNELAB_SYSFS_ROOT: sysfsRoot },
  });
  assert.equal(run.status, 0, run.stderr);
  const result = okResult(records(run.lines)[0], 'idle');
  const expectedThermal = { 'cpu-big': 45000, battery: 31500, modem: null };
  const expectedFreq = { cpu0: 1785600, cpu1: 2841600, cpu2: null };
  for (const snapshot of [result.telemetry.before, result.telemetry.after]) {
    assert.deepEqual(snapshot.thermalMilliC, expectedThermal);
    assert.deepEqual(snapshot.cpuFreqKhz, expectedFreq);
  }
  assert.ok(result.telemetry.after.timeNs > result.telemetry.before.timeNs);
});

test('info: CPUs and clusters come from the sysfs root, fastest cluster is big', () => {
  const run = runAgent('host', ['info'], { env: { PRUNELAB_SYSFS_ROOT: sysfsRoot } });
  const parsed = parseAgentInfo(run.lines[0] ?? '');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  const info = parsed.value;
  assert.equal(info.sysfsRoot, sysfsRoot);
  assert.deepEqual(
    info.cpus.map((c) => [c.id, c.online, c.maxFreqKhz, c.cluster]),
    [
      [0, true, 1785600, 1],
      [1, true, 2841600, 0],
      [2, true, 2841600, 0],
    ],
  );
  assert.deepEqual(info.clusters, [
    { index: 0, role: 'big', maxFreqKhz: 2841600, cpus: [1, 2] },
    { index: 1, role: 'little', maxFreqKhz: 1785600, cpus: [0] },
  ]);
});

/** A sysfs tree with only cache sizes for cpu0 (what probe.c reads to size its stream phase). */
function cacheSysfs(sizes: readonly string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'prunelab-cache-'));
  sizes.forEach((size, index) => {
    const dir = join(root, 'devices/system/cpu/cpu0/cache', `index${index}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'size'), `${size}\n`);
  });
  return root;
}

test('probe: core and stream phases reported apart, probeNs the core phase (what is judged); stream size from sysfs caches, else 8 MB', () => {
  const MB = 1 << 20;
  const cases: readonly { sizes: readonly string[]; bytes: number; why: string }[] = [
    { sizes: [], bytes: 8 * MB, why: 'no cache info: the fixed 8 MB' },
    { sizes: ['32K', '512K', '6144K'], bytes: 12 * MB, why: 'twice the largest cache (6 MB L3)' },
    { sizes: ['32K', '1M'], bytes: 4 * MB, why: 'twice a 1 MB last level, raised to the 4 MB floor' },
    { sizes: ['48K', '64M'], bytes: 32 * MB, why: 'twice a 64 MB last level, capped at 32 MB' },
  ];
  for (const { sizes, bytes, why } of cases) {
    const root = cacheSysfs(sizes);
    try {
      const run = runAgent('host', ['run'], {
        input: planText([{ id: 'idle', op: 'idle', durationUs: 100, ...QUICK }]),
        env: { PRUNELAB_SYSFS_ROOT: root },
      });
      assert.equal(run.status, 0, run.stderr);
      const result = okResult(records(run.lines)[0], 'idle');
      assert.equal(result.probeStreamBytes, bytes, why);
      const [core, stream, total] = [result.probeCoreNs, result.probeStreamNs, result.probeNs];
      assert.ok(core && stream && total, 'all three probe fields are present');
      for (const i of [0, 1]) {
        assert.ok((core[i] ?? 0) > 0 && (stream[i] ?? 0) > 0, `phase times are positive (${i})`);
        assert.equal(total[i], core[i], 'probeNs = the core phase: the stream phase is reported, not judged');
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
});
