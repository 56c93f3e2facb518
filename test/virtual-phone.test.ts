/**
 * Virtual phones on Debian's real `adb` server, nothing mocked: the server runs on a test port with HOME in
 * a temporary folder, `adb connect`s three phones (x86_64, arm64-v8a under qemu, and one for faults), and
 * the tests drive them through adbkit (as the transport will) and through the adb CLI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import adbkit, { type DeviceClient } from '@devicefarmer/adbkit';
import { startVirtualPhone, type VirtualPhone } from '../device-agent/virtual/phone.ts';
import { buildAgent } from './agent-harness.ts';

// adbkit is CommonJS: Node's ESM loader only offers its module.exports as the default import.
const { Adb } = adbkit;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const hostAgent = join(repoRoot, 'device-agent/build/host/prunelab-agent');
const arm64Agent = join(repoRoot, 'device-agent/build/arm64-v8a/prunelab-agent');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const workDir = await mkdtemp(join(tmpdir(), 'prunelab-vphone-test-'));
const adbEnv = { ...process.env, HOME: join(workDir, 'home') };
const adbPort = await freePort();

/** The adb CLI against the test server; stdin is closed so `adb shell` never waits on it. */
function adb(args: readonly string[], timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'adb',
      ['-P', String(adbPort), ...args],
      { env: adbEnv, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function connectPhone(phone: VirtualPhone): Promise<void> {
  const result = await adb(['connect', phone.serial]);
  assert.match(
    result.stdout,
    /connected to/,
    `adb connect ${phone.serial}: ${result.stdout}${result.stderr}`,
  );
  await waitFor(`${phone.serial} online`, async () => {
    const devices = await adb(['devices']);
    return new RegExp(`^${phone.serial.replace(/\./g, '\\.')}\\s+device$`, 'm').test(devices.stdout)
      ? true
      : undefined;
  });
}

/** adbkit shell, output read to the end. */
async function shell(device: DeviceClient, command: string): Promise<string> {
  const stream = await device.shell(command);
  return (await Adb.util.readAll(stream)).toString('utf8');
}

/**
 * adbkit push through a Sync session, settled on `end` or `error`. Not DeviceClient.push: it hands the
 * transfer over a tick late, and a FAIL the phone sends at once (full disk) is emitted before anyone
 * listens; what is seen then is adbkit's own later "write after end".
 */
async function push(
  device: DeviceClient,
  contents: string | Readable,
  remotePath: string,
  mode: number,
): Promise<void> {
  const sync = await device.syncService();
  try {
    const transfer = sync.push(contents, remotePath, mode);
    await new Promise<void>((resolve, reject) => {
      transfer.on('error', reject);
      transfer.once('end', () => setImmediate(resolve));
    });
  } finally {
    sync.end();
  }
}

/** adbkit pull into memory. Its transfer emits `end` before `error` on a FAIL reply: wait a little after end. */
async function pull(device: DeviceClient, remotePath: string): Promise<Buffer> {
  const sync = await device.syncService();
  try {
    const transfer = sync.pull(remotePath);
    const chunks: Buffer[] = [];
    transfer.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve, reject) => {
      transfer.on('error', reject);
      transfer.once('end', () => setTimeout(resolve, 20));
    });
    return Buffer.concat(chunks);
  } finally {
    sync.end();
  }
}

/** A byte stream of `bytes` (not object mode: adbkit reads it 64 KiB at a time, the sync DATA limit). */
const bytesStream = (bytes: Uint8Array | string): Readable =>
  Readable.from([Buffer.from(bytes)], { objectMode: false });

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Process ids whose process group is `pgid`, from /proc (the phone's commands are one group each). */
function processesInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Fields after the parenthesised command name: state ppid pgrp ...
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

let x86: VirtualPhone;
let arm: VirtualPhone;
let faulty: VirtualPhone;
let client: ReturnType<typeof Adb.createClient>;

before(async () => {
  await mkdir(adbEnv.HOME, { recursive: true });
  const started = await adb(['start-server']);
  assert.equal(started.code, 0, `adb start-server failed: ${started.stderr}`);
  [x86, arm, faulty] = await Promise.all([
    startVirtualPhone({ abi: 'x86_64', model: 'Virtual X86' }),
    startVirtualPhone({ abi: 'arm64-v8a', model: 'Virtual Arm64' }),
    startVirtualPhone({
      abi: 'x86_64',
      model: 'Faulty Phone',
      // Fast thermal dynamics so heating and cooling show within a test's time.
      thermal: { restingC: 25, heatingCPerS: 20, coolingTauS: 0.5 },
      thermalTickMs: 50,
    }),
  ]);
  for (const phone of [x86, arm, faulty]) await connectPhone(phone);
  client = Adb.createClient({ host: '127.0.0.1', port: adbPort });
});

after(async () => {
  // Always, even after a failure: no adb server or phone outlives the file.
  await adb(['kill-server']);
  await Promise.all([x86, arm, faulty].filter((phone) => phone !== undefined).map((phone) => phone.stop()));
  await rm(workDir, { recursive: true, force: true });
});

describe('virtual phones on a real adb server', () => {
  test('adb devices -l and adbkit listDevices show both phones with their models', async () => {
    const listing = await adb(['devices', '-l']);
    assert.match(
      listing.stdout,
      new RegExp(`${x86.serial}\\s+device product:virtual_x86 model:Virtual_X86 device:virtual_x86`),
    );
    assert.match(listing.stdout, new RegExp(`${arm.serial}\\s+device .*model:Virtual_Arm64`));
    const devices = await client.listDevices();
    for (const phone of [x86, arm]) {
      assert.deepEqual(
        devices.filter((device) => device.id === phone.serial).map((device) => device.type),
        ['device'],
      );
    }
  });

  test('getprop answers from the property table, through adbkit and the CLI', async () => {
    const properties = await client.getDevice(arm.serial).getProperties();
    assert.equal(properties['ro.product.model'], 'Virtual Arm64');
    assert.equal(properties['ro.product.cpu.abi'], 'arm64-v8a');
    assert.match(properties['ro.build.fingerprint'] ?? '', /^prunelab\/virtual_arm64\/virtual_arm64:13\//);
    const manufacturer = await adb(['-s', x86.serial, 'shell', 'getprop ro.product.manufacturer']);
    assert.equal(manufacturer.stdout.trim(), 'prunelab');
    x86.setProperty('ro.soc.model', 'SM8550');
    assert.equal((await shell(client.getDevice(x86.serial), 'getprop ro.soc.model')).trim(), 'SM8550');
  });

  test('shell gives stdout and stderr merged (v1) and the exit code through a marker', async () => {
    const device = client.getDevice(x86.serial);
    const output = await shell(device, 'echo out; echo err >&2; (exit 3); echo MARKER$?');
    assert.equal(output, 'out\nerr\nMARKER3\n');
    const cli = await adb(['-s', x86.serial, 'shell', 'false; echo MARKER$?']);
    assert.equal(cli.stdout, 'MARKER1\n');
    // exec: is the same raw stream without a shell wrapper on a phone; here both run /bin/sh -c.
    const execOut = await adb(['-s', x86.serial, 'exec-out', 'printf "%s" raw']);
    assert.equal(execOut.stdout, 'raw');
  });

  test('two phones answer at once', async () => {
    const [abiX86, abiArm] = await Promise.all([
      shell(client.getDevice(x86.serial), 'sleep 0.2; getprop ro.product.cpu.abi'),
      shell(client.getDevice(arm.serial), 'sleep 0.2; getprop ro.product.cpu.abi'),
    ]);
    assert.deepEqual([abiX86.trim(), abiArm.trim()], ['x86_64', 'arm64-v8a']);
  });

  test('push with mode 0755, then run the pushed host binary from /data/local/tmp', async () => {
    const device = client.getDevice(x86.serial);
    const local = existsSync(hostAgent) ? hostAgent : join(workDir, 'fallback-agent.sh');
    if (local !== hostAgent) await writeFile(local, '#!/bin/sh\necho \'{"type":"info","abi":"host"}\'\n');
    await push(device, local, '/data/local/tmp/prunelab-agent', 0o755);
    const stat = await device.stat('/data/local/tmp/prunelab-agent');
    assert.equal(stat.mode & 0o777, 0o755);
    assert.ok(stat.isFile());
    const output = await shell(device, 'cd /data/local/tmp && ./prunelab-agent info; echo MARKER$?');
    const [infoLine, marker] = output.trim().split('\n');
    assert.equal(marker, 'MARKER0');
    const info = JSON.parse(infoLine ?? '') as { abi: string; cpus?: Array<{ maxFreqKhz: number }> };
    assert.equal(info.abi, 'host');
    if (local === hostAgent) {
      // The agent read the phone's sysfs: as many CPUs as the host has, with a big/little split.
      assert.equal(info.cpus?.length, cpus().length);
      if (cpus().length > 1) assert.ok(new Set(info.cpus?.map((cpu) => cpu.maxFreqKhz)).size === 2);
    }
  });

  test('GPU through adb: the x86_64 phone has OpenCL only at /vendor/lib64, and a GPU case runs on it', async () => {
    const device = client.getDevice(x86.serial);
    await push(device, buildAgent('host'), '/data/local/tmp/gpu/prunelab-agent', 0o755);
    const hostNames = await shell(
      device,
      'ls /vendor/lib64; head -c 4 /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 2>/dev/null | grep -q ELF && echo visible || echo hidden',
    );
    assert.equal(
      hostNames,
      'libOpenCL.so\nhidden\n',
      "the vendor library only; the host's own name does not load",
    );
    const info = JSON.parse(await shell(device, 'cd /data/local/tmp/gpu && ./prunelab-agent info')) as {
      gpu: { openclLibrary: string | null; platforms: { name: string }[] };
    };
    assert.equal(info.gpu.openclLibrary, '/vendor/lib64/libOpenCL.so');
    assert.ok(info.gpu.platforms.some((p) => p.name === 'Portable Computing Language'));
    const line = JSON.stringify({
      id: 'g',
      op: 'fc',
      in: 37,
      out: 19,
      scheme: 'bcr',
      block: '1x1',
      sparsity: 0.5,
      backend: 'gpu',
      minReps: 2,
      minTimeMs: 0,
    });
    const output = await shell(device, `cd /data/local/tmp/gpu && echo '${line}' | ./prunelab-agent run`);
    const result = JSON.parse(output.split('\n')[0] ?? '') as {
      status: string;
      error?: string;
      backend?: string;
      gpu?: { openclLibrary: string };
    };
    assert.equal(result.status, 'ok', result.error);
    assert.equal(result.backend, 'gpu');
    assert.equal(result.gpu?.openclLibrary, '/vendor/lib64/libOpenCL.so');
    // The compiled program is cached in the work dir on the phone, beside the agent.
    assert.match(await shell(device, 'ls /data/local/tmp/gpu/gpu-cache'), /^[0-9a-f]{16}\.bin$/m);
  });

  test('an arm64 agent pushed to the arm64 phone runs under qemu', {
    skip:
      !existsSync(arm64Agent) &&
      'no device-agent/build/arm64-v8a/prunelab-agent (make -C device-agent arm64)',
  }, async () => {
    const device = client.getDevice(arm.serial);
    await push(device, arm64Agent, '/data/local/tmp/prunelab-agent', 0o755);
    // Through a pushed script too: the binary runs however it is started.
    await push(
      device,
      bytesStream('#!/bin/sh\nexec /data/local/tmp/prunelab-agent "$@"\n'),
      '/data/local/tmp/agent.sh',
      0o755,
    );
    const direct = await shell(device, '/data/local/tmp/prunelab-agent info');
    const viaScript = await shell(device, 'cd /data/local/tmp && ./agent.sh info');
    for (const output of [direct, viaScript]) {
      const info = JSON.parse(output.trim()) as { abi: string; arch: string };
      assert.equal(info.abi, 'arm64-v8a');
    }
  });

  test('pull, stat and readdir see what was pushed; pull of a missing file is an error', async () => {
    const device = client.getDevice(arm.serial);
    const content = Buffer.from('hello from the host\n');
    await push(device, bytesStream(content), '/data/local/tmp/dir/hello.txt', 0o644);
    assert.deepEqual(await pull(device, '/data/local/tmp/dir/hello.txt'), content);
    const stat = await device.stat('/data/local/tmp/dir/hello.txt');
    assert.equal(stat.size, content.byteLength);
    const entries = await device.readdir('/data/local/tmp/dir');
    assert.deepEqual(
      entries.map((entry) => entry.name),
      ['hello.txt'],
    );
    await assert.rejects(pull(device, '/data/local/tmp/no-such-file'), /No such file or directory/);
    const cli = await adb([
      '-s',
      arm.serial,
      'pull',
      '/data/local/tmp/dir/hello.txt',
      join(workDir, 'pulled.txt'),
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(await readFile(join(workDir, 'pulled.txt')), content);
  });

  test('a 16 MiB push and pull round trip keeps every byte', async (t) => {
    const device = client.getDevice(x86.serial);
    const content = randomBytes(16 * 1024 * 1024);
    const local = join(workDir, 'big.bin');
    await writeFile(local, content);
    const startedMs = Date.now();
    await push(device, local, '/data/local/tmp/big.bin', 0o644);
    const back = await pull(device, '/data/local/tmp/big.bin');
    const elapsedMs = Date.now() - startedMs;
    assert.equal(sha256(back), sha256(content));
    const onDevice = await shell(device, 'sha256sum /data/local/tmp/big.bin');
    assert.equal(onDevice.split(' ')[0], sha256(content));
    t.diagnostic(`16 MiB push + pull: ${elapsedMs} ms`);
  });
});

describe('faults', () => {
  test('a dropped connection is an error for the client; the phone can be reconnected', async () => {
    const device = client.getDevice(faulty.serial);
    await push(device, bytesStream(randomBytes(2 * 1024 * 1024)), '/data/local/tmp/payload.bin', 0o644);
    faulty.faults.dropAfterBytes(256 * 1024);
    await assert.rejects(pull(device, '/data/local/tmp/payload.bin'));
    assert.equal(faulty.faults.snapshot().dropAfterBytes, null, 'the fault fired and disarmed');
    await waitFor('the server to see the phone gone', async () => {
      const devices = await client.listDevices();
      return devices.some((d) => d.id === faulty.serial && d.type === 'device') ? undefined : true;
    });
    await adb(['disconnect', faulty.serial]);
    await connectPhone(faulty);
    assert.equal((await shell(device, 'echo back')).trim(), 'back');

    // A time drop in the middle of a command: shell v1 has no exit status, so the missing marker is what
    // tells the client the command did not finish.
    faulty.faults.dropAfterMs(300);
    const startedMs = Date.now();
    const cut = await shell(device, 'echo started; sleep 5; echo MARKER$?').catch(
      (error: Error) => `error: ${error.message}`,
    );
    assert.ok(Date.now() - startedMs < 4000, 'the link went down, not the command');
    assert.doesNotMatch(cut, /MARKER/);
    await waitFor('the server to see the phone gone', async () => {
      const devices = await client.listDevices();
      return devices.some((d) => d.id === faulty.serial && d.type === 'device') ? undefined : true;
    });
    await adb(['disconnect', faulty.serial]);
    await connectPhone(faulty);
  });

  test('an offline phone refuses connections until it is back', async () => {
    faulty.faults.setOffline(true);
    try {
      await waitFor('the server to lose the phone', async () => {
        const devices = await client.listDevices();
        return devices.some((d) => d.id === faulty.serial && d.type === 'device') ? undefined : true;
      });
      // A new link is reset before any CNXN answer (adb connect itself would wait 10 s to give up).
      const answered = await new Promise<number>((resolve) => {
        const socket = connectTcp(faulty.port, '127.0.0.1');
        let received = 0;
        socket.on('data', (chunk) => {
          received += chunk.byteLength;
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(received));
        socket.setTimeout(2000, () => socket.destroy());
      });
      assert.equal(answered, 0);
    } finally {
      faulty.faults.setOffline(false);
    }
    await adb(['disconnect', faulty.serial]);
    await connectPhone(faulty);
    assert.equal((await shell(client.getDevice(faulty.serial), 'echo back')).trim(), 'back');
  });

  test('a hung command never exits, and closing its stream kills its whole process group', async (t) => {
    x86.faults.hangCommands('HANG_TOKEN');
    try {
      const device = client.getDevice(x86.serial);
      const stream = await device.shell('echo HANG_TOKEN');
      const [pgid] = await waitFor('the hung command to start', () => {
        const groups = x86.liveProcessGroups();
        return groups.length === 1 ? groups : undefined;
      });
      assert.ok(pgid !== undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(processesInGroup(pgid).length > 0, 'still running after 300 ms');
      const closedAtMs = Date.now();
      stream.end();
      await waitFor('the hung command to be killed', () =>
        x86.liveProcessGroups().length === 0 ? true : undefined,
      );
      const killedMs = Date.now() - closedAtMs;
      await waitFor('no process left in its group', () =>
        processesInGroup(pgid).length === 0 ? true : undefined,
      );
      t.diagnostic(
        `killed ${killedMs} ms after the stream was closed, group empty after ${Date.now() - closedAtMs} ms`,
      );
    } finally {
      x86.faults.hangCommands(null);
    }
  });

  test('a full disk refuses pushes with a clear error, and shell writes in the sandbox', async () => {
    const device = client.getDevice(x86.serial);
    const local = join(workDir, 'small.bin');
    await writeFile(local, randomBytes(100_000));
    await push(device, bytesStream('kept\n'), '/data/local/tmp/before-full.txt', 0o644);
    x86.faults.setDiskFull(true);
    try {
      // adbd (and this phone) answer FAIL after the first DATA chunk. A file that fits one chunk is all
      // written before the FAIL comes back, so adbkit reports it; on a bigger one adbkit's writer can race
      // its own reader and report "write after end" instead: still an error, not the message.
      await assert.rejects(
        push(device, bytesStream(randomBytes(1000)), '/data/local/tmp/tiny.bin', 0o644),
        /No space left on device/,
      );
      await assert.rejects(
        push(device, local, '/data/local/tmp/small.bin', 0o644),
        /No space left on device|write after end/,
      );
      const cli = await adb(['-s', x86.serial, 'push', local, '/data/local/tmp/small-cli.bin']);
      assert.notEqual(cli.code, 0);
      assert.match(cli.stdout + cli.stderr, /No space left on device/);
      const write = await shell(device, 'cp /etc/hostname /data/local/tmp/new.txt; echo MARKER$?');
      assert.match(write, /No space left on device/);
      assert.match(write, /MARKER1$/m);
      assert.equal(
        await shell(device, 'cat /data/local/tmp/before-full.txt'),
        'kept\n',
        'what was there stays readable',
      );
    } finally {
      x86.faults.setDiskFull(false);
    }
    await push(device, local, '/data/local/tmp/small.bin', 0o644);
  });

  test('temperature: a set value shows in the fake sysfs and the agent telemetry, decays at rest, rises with work', async () => {
    const device = client.getDevice(faulty.serial);
    faulty.faults.setTemperatureC(47, { hold: true });
    const sysfs = await shell(
      device,
      'cat /sys/class/thermal/thermal_zone1/type /sys/class/thermal/thermal_zone1/temp /sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq',
    );
    assert.deepEqual(sysfs.trim().split('\n').slice(0, 2), ['cpu-big', '47000']);
    if (existsSync(hostAgent)) {
      await push(device, hostAgent, '/data/local/tmp/prunelab-agent', 0o755);
      const plan = '{"id":"t1","op":"idle","durationUs":1000,"minReps":1,"warmup":0,"minTimeMs":0}';
      const output = await shell(device, `echo '${plan}' | /data/local/tmp/prunelab-agent run`);
      const result = JSON.parse(output.split('\n')[0] ?? '') as {
        telemetry: { before: { thermalMilliC: Record<string, number> } };
      };
      assert.equal(result.telemetry.before.thermalMilliC['cpu-big'], 47000);
    }
    // The control channel a standalone phone offers, through the adb CLI.
    const control = await adb(['-s', faulty.serial, 'shell', 'prunelab-fault temperature 60; echo MARKER$?']);
    assert.equal(control.stdout, 'MARKER0\n');
    const hotC = faulty.temperatureC();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const cooledC = faulty.temperatureC();
    assert.ok(cooledC < hotC - 5, `decays at rest: ${hotC} -> ${cooledC}`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const restC = faulty.temperatureC();
    await shell(device, 'sleep 0.6');
    const workedC = faulty.temperatureC();
    assert.ok(workedC > restC + 2, `rises while a command runs: ${restC} -> ${workedC}`);
    const status = JSON.parse(await shell(device, 'prunelab-fault status')) as { temperatureHeld: boolean };
    assert.equal(status.temperatureHeld, false);
  });
});
