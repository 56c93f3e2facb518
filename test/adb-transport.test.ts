/**
 * The adb transport on a real adb server with a virtual phone: exit codes and separate stderr over shell
 * v1, stdin, streamed lines, a timeout that kills the remote command, push that skips identical content,
 * pull; and the pure parsers (wrapped output, getprop/sysfs identity, telemetry, dumpsys, lab policy)
 * against literal captures.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { detectRoot, lockGovernor } from '../orchestrator/lab/governor.ts';
import { batchFlag, bigClusterCpus, gateStep } from '../orchestrator/lab/policy.ts';
import { parsePowerState } from '../orchestrator/lab/power.ts';
import { cpuTemperatureC, parseTelemetry } from '../orchestrator/lab/telemetry.ts';
import { WrappedOutputParser } from '../orchestrator/transport/adb/shell-script.ts';
import { classifyAdbFailure } from '../orchestrator/transport/android/classify.ts';
import {
  clustersFromFreqs,
  parseCpuFreqs,
  parseCpuList,
} from '../orchestrator/transport/android/identity.ts';
import { type AdbLab, startAdbLab } from './adb-lab.ts';

describe('pure parts', () => {
  test('the wrapped output parser splits PID, stdout lines, exit code and stderr across any chunking', () => {
    const text = '__PLabcP4242\nline one\nline two\npartial__PLabcX3\nboom\n';
    for (const size of [1, 3, 7, text.length]) {
      const lines: [string, boolean][] = [];
      const parser = new WrappedOutputParser('__PLabc', (line, terminated) => lines.push([line, terminated]));
      for (let i = 0; i < text.length; i += size) parser.push(Buffer.from(text.slice(i, i + size)));
      parser.end();
      assert.equal(parser.pid, 4242);
      assert.equal(parser.exitCode, 3);
      assert.equal(parser.stderr, 'boom\n');
      assert.deepEqual(lines, [
        ['line one', true],
        ['line two', true],
        ['partial', false],
      ]);
    }
    const cut = new WrappedOutputParser('__PLabc', () => {});
    cut.push(Buffer.from('__PLabcP1\nstarted\n'));
    cut.end();
    assert.equal(cut.finished, false, 'no marker: the link dropped');
  });

  test('adb failures are split into transient and stable', () => {
    assert.equal(classifyAdbFailure("Failure: 'write failed: No space left on device'").kind, 'no-space');
    assert.equal(classifyAdbFailure('open failed: Permission denied').kind, 'permission');
    assert.equal(classifyAdbFailure("device '127.0.0.1:5555' not found").kind, 'unavailable');
    assert.equal(classifyAdbFailure('read ECONNRESET').kind, 'unavailable');
  });

  test('clusters from cpuinfo_max_freq, fastest first (a 4+3+1 phone)', () => {
    const khz = [1804800, 1804800, 1804800, 1804800, 2419200, 2419200, 2419200, 2841600];
    const output = [
      ...khz.map((_, cpu) => `/sys/devices/system/cpu/cpu${cpu}`),
      ...khz.map((freq, cpu) => `/sys/devices/system/cpu/cpu${cpu}/cpufreq/cpuinfo_max_freq:${freq}`),
    ].join('\n');

    const clusters = clustersFromFreqs(parseCpuFreqs(output));
    assert.deepEqual(
      clusters.map((c) => [c.role, c.cpus]),
      [
        ['big', [7]],
        ['mid', [4, 5, 6]],
        ['little', [0, 1, 2, 3]],
      ],
    );
    assert.deepEqual(parseCpuList('0-3,6'), [0, 1, 2, 3, 6]);
    assert.deepEqual(
      bigClusterCpus({
        bigCluster: 0,
        clusters: [
          { index: 0, role: 'big', maxFreqKhz: 2841600, cpus: [7] },
          { index: 1, role: 'little', maxFreqKhz: 1804800, cpus: [0, 1] },
        ],
      }),
      [7],
    );
    assert.equal(
      bigClusterCpus({
        bigCluster: 0,
        clusters: [{ index: 0, role: 'big', maxFreqKhz: null, cpus: [0, 1] }],
      }),
      undefined,
    );
  });

  test('telemetry, dumpsys and the thermal gate and batch flag', () => {
    const capture = (cpuMilliC: number, curKhz: number) =>
      [
        '/sys/class/thermal/thermal_zone0/type:cpu-big',
        '/sys/class/thermal/thermal_zone1/type:battery',
        `/sys/class/thermal/thermal_zone0/temp:${cpuMilliC}`,
        '/sys/class/thermal/thermal_zone1/temp:29000',
        `/sys/devices/system/cpu/cpu7/cpufreq/scaling_cur_freq:${curKhz}`,
        `/sys/devices/system/cpu/cpu7/cpufreq/scaling_max_freq:${curKhz}`,
      ].join('\n');
    const before = parseTelemetry(capture(31500, 2841600));
    const after = parseTelemetry(capture(46000, 1704960));
    assert.deepEqual(before.temperaturesC, { 'cpu-big': 31.5, battery: 29 });
    assert.equal(cpuTemperatureC(before), 31.5, 'the battery zone is not the CPU');
    const policy = {
      freqDropTolerance: 0.1,
      thermal: { thresholdC: 30, pollMs: 30_000, maxWaitMs: 1_200_000, batchLimitC: 45 },
    };
    assert.deepEqual(gateStep(31.5, 0, policy.thermal), { action: 'wait', delayMs: 30_000 });
    assert.deepEqual(gateStep(29, 60_000, policy.thermal), { action: 'start', reason: 'cool' });
    assert.deepEqual(gateStep(50, 1_200_000, policy.thermal), { action: 'start', reason: 'max-wait' });
    assert.equal(batchFlag(before, before, [7], policy), undefined);
    assert.match(
      batchFlag(before, after, [7], policy) ?? '',
      /46\.0 °C.*cpu7 capped from 2841600 to 1704960 kHz/,
    );
    const power = parsePowerState(
      '  AC powered: false\n  USB powered: true\n  level: 85\n__PL_POWER__\n  mWakefulness=Asleep\nDisplay Power: state=OFF\n',
    );
    assert.deepEqual(power, { screenOn: false, charging: true, batteryLevel: 85 });
  });
});

describe('on a virtual phone behind a real adb server', () => {
  let lab: AdbLab;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prunelab-adb-transport-'));
    lab = await startAdbLab([{ abi: 'x86_64', model: 'Transport Phone' }]);
  });
  after(async () => {
    await lab?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const device = () => {
    const phone = lab.phones[0];
    assert.ok(phone !== undefined);
    return { phone, device: lab.device(phone, '/data/local/tmp/prunelab-transport') };
  };

  test('shell: exit code, separate stderr, stdin, streamed lines', async () => {
    const { device: d } = device();
    const result = await d.shell('echo out; echo err >&2; printf tail; exit 3', { timeoutMs: 10_000 });
    assert.deepEqual(
      [result.stdout, result.stderr, result.exitCode, result.signal],
      ['out\ntail', 'err\n', 3, null],
    );
    const lines: string[] = [];
    const streamed = await d.shell(['sh', '-c', 'cat; echo "$1"', 'sh', "it's quoted"], {
      timeoutMs: 10_000,
      stdin: 'a\nb\n',
      onStdoutLine: (line) => lines.push(line),
    });
    assert.equal(streamed.exitCode, 0);
    assert.deepEqual(lines, ['a', 'b', "it's quoted"]);
    const killed = await d.shell(['sh', '-c', 'kill -9 $$'], { timeoutMs: 10_000 });
    assert.equal(killed.signal, 'SIGKILL');
  });

  test('a timeout returns at once and kills the command on the phone', async () => {
    const { phone, device: d } = device();
    const started = performance.now();
    const result = await d.shell('sleep 30; echo never', { timeoutMs: 400 });
    assert.ok(result.timedOut);
    assert.ok(performance.now() - started < 5_000);
    for (let i = 0; i < 40 && phone.liveProcessGroups().length > 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(phone.liveProcessGroups(), []);
  });

  test('push skips an upload whose content the phone already has; pull brings it back', async () => {
    const { phone, device: d } = device();
    const local = join(dir, 'blob.bin');
    await writeFile(local, randomBytes(200_000));
    await d.push(local, '/data/local/tmp/prunelab-transport/blob.bin', { mode: 0o755 });
    const onPhone = join(phone.sandboxDir, 'prunelab-transport', 'blob.bin');
    const first = await stat(onPhone);
    assert.equal(first.mode & 0o777, 0o755);
    await new Promise((r) => setTimeout(r, 1_100));
    await d.push(local, '/data/local/tmp/prunelab-transport/blob.bin', { mode: 0o755 });
    assert.equal((await stat(onPhone)).mtimeMs, first.mtimeMs, 'same content: not uploaded again');
    await writeFile(local, randomBytes(1000));
    await d.push(local, '/data/local/tmp/prunelab-transport/blob.bin', { mode: 0o755 });
    assert.equal((await stat(onPhone)).size, 1000, 'new content: uploaded');
    await d.pull('/data/local/tmp/prunelab-transport/blob.bin', join(dir, 'back.bin'));
    assert.deepEqual(await readFile(join(dir, 'back.bin')), await readFile(local));
    await assert.rejects(d.pull('/data/local/tmp/nope', join(dir, 'nope')), { name: 'FileTransferError' });
  });

  test('root: not on a user build; uid 0 on a debuggable build is; the governor lock skips what it cannot write', async () => {
    const { phone, device: d } = device();
    assert.equal(await detectRoot(d), 'none', 'the virtual phone is a user build (ro.debuggable=0)');
    phone.setProperty('ro.debuggable', '1');
    try {
      // The phone's commands run as the user running the test: root only when that is uid 0.
      const expected = process.getuid?.() === 0 ? 'adb-root' : 'none';
      const access = await detectRoot(d);
      assert.equal(access, expected);
      if (access !== 'none') {
        // The fake sysfs is read-only, as on a phone whose kernel refuses the write: nothing is locked.
        assert.deepEqual([...(await lockGovernor(d, access, [0]))], []);
      }
    } finally {
      phone.setProperty('ro.debuggable', '0');
    }
  });

  test('info: identity from getprop and sysfs', async () => {
    const { phone, device: d } = device();
    const info = await d.info();
    assert.equal(info.identity.id, phone.serial);
    assert.equal(info.model, 'Transport Phone');
    assert.match(info.buildFingerprint, /^prunelab\/transport_phone\//);
    const details = info.details as {
      manufacturer: string;
      soc: string;
      abiList: string[];
      clusters: { role: string }[];
    };
    assert.equal(details.manufacturer, 'prunelab');
    assert.equal(details.soc, 'virtual-x86_64');
    assert.deepEqual(details.abiList, ['x86_64', 'x86']);
    assert.equal(details.clusters[0]?.role, 'big');
  });
});
