/**
 * The virtual phone's pure core and its protocol state machines, driven with literal bytes: wire formats,
 * the byte queue, the connection's flow control (through an in-memory link), the sync service (on real
 * files in a temporary folder), the thermal model, sysfs layout, sandbox argv, control commands, faults.
 * The real adb server end to end is test/virtual-phone.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ByteQueue, concatBytes } from '../device-agent/virtual/byte-queue.ts';
import { AdbDeviceConnection } from '../device-agent/virtual/connection.ts';
import { runControlCommand, splitControlCommand } from '../device-agent/virtual/control-command.ts';
import { createHostDeviceFiles } from '../device-agent/virtual/device-files.ts';
import { PhoneOptionError } from '../device-agent/virtual/errors.ts';
import { PhoneFaults, type TemperatureControl } from '../device-agent/virtual/faults.ts';
import { resolveDevicePath } from '../device-agent/virtual/mounts.ts';
import { resolvePhoneOptions } from '../device-agent/virtual/options.ts';
import type { StreamEnd, StreamService } from '../device-agent/virtual/ports.ts';
import { defaultProperties, deviceBanner, propertyFile } from '../device-agent/virtual/properties.ts';
import { bwrapArgs, isAarch64ElfHeader, prefixAarch64Commands } from '../device-agent/virtual/sandbox.ts';
import { SyncService } from '../device-agent/virtual/sync-service.ts';
import { cpuMaskText, cpuTopology, sysfsFiles } from '../device-agent/virtual/sysfs.ts';
import {
  advanceThermal,
  DEFAULT_THERMAL_PARAMS,
  initialThermalState,
  setThermal,
} from '../device-agent/virtual/thermal.ts';
import {
  AdbCommand,
  type AdbPacket,
  decodePacketHeader,
  encodePacket,
  fourCc,
  fourCcName,
  PACKET_HEADER_BYTES,
  SyncId,
} from '../device-agent/virtual/wire.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const empty = new Uint8Array(0);

/** Splits a byte string into packets the way the host would read them. */
function parsePackets(bytes: Uint8Array): AdbPacket[] {
  const packets: AdbPacket[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    const header = decodePacketHeader(bytes.subarray(offset, offset + PACKET_HEADER_BYTES));
    assert.equal(
      header.magic,
      (header.command ^ 0xffffffff) >>> 0,
      'every packet carries command ^ 0xffffffff',
    );
    const payload = bytes.slice(
      offset + PACKET_HEADER_BYTES,
      offset + PACKET_HEADER_BYTES + header.dataLength,
    );
    packets.push({ command: header.command, arg0: header.arg0, arg1: header.arg1, payload });
    offset += PACKET_HEADER_BYTES + header.dataLength;
  }
  return packets;
}

/** The host's end of an in-memory link: what the phone wrote, as packets. */
class HostEnd {
  written: Uint8Array[] = [];
  destroyed = false;
  readonly link = {
    write: (bytes: Uint8Array) => {
      this.written.push(bytes);
    },
    destroy: () => {
      this.destroyed = true;
    },
  };
  take(): AdbPacket[] {
    const packets = parsePackets(concatBytes(this.written));
    this.written = [];
    return packets;
  }
}

const flushMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const packet = (command: number, arg0: number, arg1: number, payload: Uint8Array = empty): Uint8Array =>
  encodePacket({ command, arg0, arg1, payload });

describe('wire formats', () => {
  test('four-character ids are little-endian ASCII', () => {
    assert.equal(fourCc('CNXN'), 0x4e584e43);
    assert.equal(fourCc('WRTE'), 0x45545257);
    assert.equal(fourCcName(SyncId.Dent), 'DENT');
  });

  test('a packet round-trips through its 24-byte header', () => {
    const bytes = packet(AdbCommand.Write, 7, 9, text('hello'));
    assert.equal(bytes.byteLength, 24 + 5);
    const [decoded] = parsePackets(bytes);
    assert.deepEqual(decoded, { command: AdbCommand.Write, arg0: 7, arg1: 9, payload: text('hello') });
  });
});

describe('ByteQueue', () => {
  test('takes frames that straddle pushed pieces', () => {
    const queue = new ByteQueue();
    queue.push(Uint8Array.of(1, 2));
    queue.push(Uint8Array.of(3));
    queue.push(Uint8Array.of(4, 5, 6));
    assert.deepEqual([...queue.take(4)], [1, 2, 3, 4]);
    assert.equal(queue.length, 2);
    assert.deepEqual([...queue.take(2)], [5, 6]);
    assert.throws(() => queue.take(1), RangeError);
  });
});

/** A service that writes `sizeBytes` bytes and closes, or echoes what it gets: test services, not mocks. */
function testServices(destination: string, stream: StreamEnd): StreamService | undefined {
  const writer = /^write:(\d+)$/.exec(destination);
  if (writer !== null) {
    const size = Number(writer[1]);
    void stream.write(new Uint8Array(size).fill(0x61)).then(() => stream.close());
    return { receive: async () => undefined, hostClosed: () => undefined };
  }
  if (destination === 'slow-echo:') {
    return {
      receive: async (bytes) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await stream.write(bytes);
      },
      hostClosed: () => undefined,
    };
  }
  return undefined;
}

function connect(
  maxPayloadBytes = 4096,
  hostMaxPayloadBytes = 1024 * 1024,
): { host: HostEnd; connection: AdbDeviceConnection } {
  const host = new HostEnd();
  const connection = new AdbDeviceConnection(host.link, {
    banner: 'device::ro.product.name=p;ro.product.model=M;ro.product.device=d;features=',
    maxPayloadBytes,
    openService: testServices,
  });
  // The host's CNXN, delivered one byte at a time: parsing must not depend on read boundaries.
  const cnxn = packet(AdbCommand.Connect, 0x01000001, hostMaxPayloadBytes, text('host::features=shell_v2\0'));
  for (const byte of cnxn) connection.receive(Uint8Array.of(byte));
  return { host, connection };
}

describe('AdbDeviceConnection', () => {
  test('answers CNXN with version 0x01000001, its maxdata and the banner, no AUTH', () => {
    const { host } = connect(8192);
    const [reply, ...rest] = host.take();
    assert.equal(rest.length, 0);
    assert.equal(reply?.command, AdbCommand.Connect);
    assert.equal(reply?.arg0, 0x01000001);
    assert.equal(reply?.arg1, 8192);
    assert.equal(
      new TextDecoder().decode(reply?.payload),
      'device::ro.product.name=p;ro.product.model=M;ro.product.device=d;features=',
    );
  });

  test('keeps one WRTE in flight per stream, each within the smaller maxdata, then closes', async () => {
    const { host, connection } = connect(8192, 4096);
    host.take();
    connection.receive(packet(AdbCommand.Open, 100, 0, text('write:10000\0')));
    await flushMicrotasks();
    const [okay, first, ...more] = host.take();
    assert.equal(okay?.command, AdbCommand.Okay);
    assert.equal(okay?.arg1, 100);
    const localId = okay?.arg0 ?? -1;
    assert.equal(first?.command, AdbCommand.Write);
    assert.equal(first?.payload.byteLength, 4096, 'the host said 4096: never more');
    assert.deepEqual(more, [], 'nothing more until the host acknowledges');

    const sizes = [first?.payload.byteLength ?? 0];
    let closed = false;
    for (let round = 0; round < 5 && !closed; round++) {
      connection.receive(packet(AdbCommand.Okay, 100, localId));
      await flushMicrotasks();
      const packets = host.take();
      assert.ok(packets.length <= 2, 'at most one WRTE (plus CLSE) per OKAY');
      for (const p of packets) {
        if (p.command === AdbCommand.Write) sizes.push(p.payload.byteLength);
        if (p.command === AdbCommand.Close) closed = true;
      }
    }
    assert.deepEqual(sizes, [4096, 4096, 1808]);
    assert.ok(closed, 'CLSE after the last acknowledged WRTE');
    assert.equal(connection.openStreamCount, 0);
  });

  test('acknowledges a host WRTE only once its service has taken it', async () => {
    const { host, connection } = connect();
    host.take();
    connection.receive(packet(AdbCommand.Open, 5, 0, text('slow-echo:')));
    const localId = host.take()[0]?.arg0 ?? -1;
    connection.receive(packet(AdbCommand.Write, 5, localId, text('ping')));
    await flushMicrotasks();
    assert.deepEqual(host.take(), [], 'no OKAY while the service is still busy');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const packets = host.take();
    assert.deepEqual(
      packets.map((p) => fourCcName(p.command)),
      ['WRTE', 'OKAY'],
    );
    assert.equal(new TextDecoder().decode(packets[0]?.payload), 'ping');
  });

  test('refuses an unknown service with CLSE(0, host id)', () => {
    const { host, connection } = connect();
    host.take();
    connection.receive(packet(AdbCommand.Open, 42, 0, text('jdwp:1234\0')));
    assert.deepEqual(host.take(), [{ command: AdbCommand.Close, arg0: 0, arg1: 42, payload: empty }]);
  });

  test('tears the link down on a packet with a bad magic', () => {
    const { host, connection } = connect();
    const bad = packet(AdbCommand.Open, 1, 0);
    bad.set([(bad[20] ?? 0) ^ 0xff], 20);
    connection.receive(bad);
    assert.ok(host.destroyed);
  });
});

/** A StreamEnd that records what a service sends. */
class RecordingStream implements StreamEnd {
  chunks: Uint8Array[] = [];
  closed = false;
  write(bytes: Uint8Array): Promise<void> {
    if (!this.closed) this.chunks.push(bytes);
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
  bytes(): Uint8Array {
    return concatBytes(this.chunks);
  }
}

function syncRequest(id: number, value: number, trailer: Uint8Array = empty): Uint8Array {
  const bytes = new Uint8Array(8 + trailer.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, id, true);
  view.setUint32(4, value, true);
  bytes.set(trailer, 8);
  return bytes;
}

function syncPath(id: number, path: string): Uint8Array {
  const pathBytes = text(path);
  return syncRequest(id, pathBytes.byteLength, pathBytes);
}

/** Sync responses: id, then u32 words; DATA/FAIL carry their payload. */
function parseSyncResponses(bytes: Uint8Array): Array<{ id: string; words: number[]; payload?: Uint8Array }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Array<{ id: string; words: number[]; payload?: Uint8Array }> = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    const id = fourCcName(view.getUint32(offset, true));
    const wordCount =
      id === 'STAT' ? 3 : id === 'DENT' ? 4 : id === 'DONE' && bytes.byteLength - offset === 20 ? 4 : 1;
    const words = Array.from({ length: wordCount }, (_, i) => view.getUint32(offset + 4 + i * 4, true));
    offset += 4 + wordCount * 4;
    const payloadBytes =
      id === 'DATA' || id === 'FAIL' ? (words[0] ?? 0) : id === 'DENT' ? (words[3] ?? 0) : 0;
    out.push({
      id,
      words,
      ...(payloadBytes > 0 ? { payload: bytes.slice(offset, offset + payloadBytes) } : {}),
    });
    offset += payloadBytes;
  }
  return out;
}

describe('SyncService on real files', async () => {
  const root = await mkdtemp(join(tmpdir(), 'prunelab-sync-test-'));
  after(() => rm(root, { recursive: true, force: true }));
  let diskFull = false;
  const files = createHostDeviceFiles({
    mounts: [{ devicePath: '/data/local/tmp', hostPath: root, writable: true }],
    isDiskFull: () => diskFull,
  });

  test('SEND parses a stream cut into single bytes, sets the mode, answers OKAY', async () => {
    const stream = new RecordingStream();
    const service = new SyncService(stream, files);
    const content = text('#!/bin/sh\necho hi\n');
    const request = concatBytes([
      syncPath(SyncId.Send, `/data/local/tmp/dir/run.sh,${0o100755}`),
      syncRequest(SyncId.Data, 5, content.subarray(0, 5)),
      syncRequest(SyncId.Data, content.byteLength - 5, content.subarray(5)),
      syncRequest(SyncId.Done, 1_700_000_000),
    ]);
    for (const byte of request) await service.receive(Uint8Array.of(byte));
    assert.deepEqual(parseSyncResponses(stream.bytes()), [{ id: 'OKAY', words: [0] }]);
    assert.deepEqual(await readFile(join(root, 'dir/run.sh')), Buffer.from(content));
    const stat = await files.stat('/data/local/tmp/dir/run.sh');
    assert.equal((stat?.mode ?? 0) & 0o777, 0o755);
    assert.equal(stat?.mtimeS, 1_700_000_000);
  });

  test('RECV sends DATA chunks of at most 64 KiB, then DONE; STAT and LIST describe the file', async () => {
    const content = new Uint8Array(150_000).map((_, i) => i % 251);
    await writeFile(join(root, 'blob.bin'), content);
    const stream = new RecordingStream();
    const service = new SyncService(stream, files);
    await service.receive(
      concatBytes([
        syncPath(SyncId.Recv, '/data/local/tmp/blob.bin'),
        syncPath(SyncId.Stat, '/data/local/tmp/blob.bin'),
      ]),
    );
    await service.receive(syncPath(SyncId.List, '/data/local/tmp'));
    const responses = parseSyncResponses(stream.bytes());
    const data = responses.filter((r) => r.id === 'DATA');
    assert.deepEqual(
      data.map((r) => r.words[0]),
      [65536, 65536, 150_000 - 131072],
    );
    assert.deepEqual(concatBytes(data.map((r) => r.payload ?? empty)), content);
    const stat = responses.find((r) => r.id === 'STAT');
    assert.equal(stat?.words[1], 150_000);
    const names = responses.filter((r) => r.id === 'DENT').map((r) => new TextDecoder().decode(r.payload));
    assert.ok(names.includes('blob.bin') && names.includes('dir') && names.includes('.'));
    assert.equal(responses.at(-1)?.id, 'DONE');
  });

  test('RECV of a missing file fails the way adbd says it, and STAT answers zeros', async () => {
    const stream = new RecordingStream();
    const service = new SyncService(stream, files);
    await service.receive(syncPath(SyncId.Stat, '/data/local/tmp/missing'));
    await service.receive(syncPath(SyncId.Recv, '/data/local/tmp/missing'));
    const [stat, fail] = parseSyncResponses(stream.bytes());
    assert.deepEqual(stat, { id: 'STAT', words: [0, 0, 0] });
    assert.equal(fail?.id, 'FAIL');
    assert.equal(new TextDecoder().decode(fail?.payload), 'open failed: No such file or directory');
    assert.ok(stream.closed, 'adbd ends the sync session after a failed RECV');
  });

  test('a full disk fails the first write with ENOSPC, drops the rest until DONE, then closes', async () => {
    diskFull = true;
    try {
      const stream = new RecordingStream();
      const service = new SyncService(stream, files);
      await service.receive(syncPath(SyncId.Send, `/data/local/tmp/full.bin,${0o100644}`));
      assert.equal(stream.chunks.length, 0, 'adbd opens the file fine; the write is what fails');
      await service.receive(syncRequest(SyncId.Data, 3, text('abc')));
      const [fail] = parseSyncResponses(stream.bytes());
      assert.equal(new TextDecoder().decode(fail?.payload), 'write failed: No space left on device');
      assert.equal(stream.closed, false, 'still reading the file the host is sending');
      await service.receive(
        concatBytes([syncRequest(SyncId.Data, 3, text('def')), syncRequest(SyncId.Done, 0)]),
      );
      assert.ok(stream.closed);
      await assert.rejects(readFile(join(root, 'full.bin')), { code: 'ENOENT' });
    } finally {
      diskFull = false;
    }
  });

  test('SEND reads the mode as strtoul(…, 0) does and refuses a bad one', async () => {
    const stream = new RecordingStream();
    const service = new SyncService(stream, files);
    await service.receive(
      concatBytes([syncPath(SyncId.Send, '/data/local/tmp/octal.sh,0700'), syncRequest(SyncId.Done, 0)]),
    );
    assert.equal(((await files.stat('/data/local/tmp/octal.sh'))?.mode ?? 0) & 0o777, 0o700);
    await service.receive(syncPath(SyncId.Send, '/data/local/tmp/bad,rwx'));
    assert.equal(new TextDecoder().decode(parseSyncResponses(stream.bytes()).at(-1)?.payload), 'bad mode');
  });
});

describe('device paths', () => {
  const mounts = [
    { devicePath: '/data/local/tmp', hostPath: '/tmp/phone/sandbox', writable: true },
    { devicePath: '/sys', hostPath: '/tmp/phone/sys', writable: false },
  ];
  test('resolve through the mount table, with virtual parents and the host elsewhere', () => {
    assert.deepEqual(resolveDevicePath(mounts, '/data/local/tmp/a/../b'), {
      kind: 'host',
      hostPath: '/tmp/phone/sandbox/b',
      writable: true,
      devicePath: '/data/local/tmp/b',
    });
    assert.deepEqual(resolveDevicePath(mounts, '/data/'), {
      kind: 'virtual-dir',
      devicePath: '/data',
      children: ['local'],
    });
    assert.equal(resolveDevicePath(mounts, '/data/local/tmp/../../../etc/passwd').kind, 'host');
    assert.deepEqual(resolveDevicePath(mounts, '/proc/cpuinfo'), {
      kind: 'host',
      hostPath: '/proc/cpuinfo',
      writable: false,
      devicePath: '/proc/cpuinfo',
    });
  });
});

describe('thermal model', () => {
  const params = { ...DEFAULT_THERMAL_PARAMS, restingC: 25, heatingCPerS: 1, coolingTauS: 10 };

  test('an idle phone cools exponentially towards rest', () => {
    const hot = setThermal(params, 0, 45, false);
    const later = advanceThermal(params, hot, 10_000, 0);
    assert.ok(Math.abs(later.tempC - (25 + 20 / Math.E)) < 1e-9);
  });

  test('a busy phone warms towards rest + heating * commands * tau', () => {
    const start = initialThermalState(params, 0);
    const long = advanceThermal(params, start, 1_000_000, 2);
    assert.ok(Math.abs(long.tempC - 45) < 1e-6);
  });

  test('a held temperature neither heats nor cools', () => {
    const held = setThermal(params, 0, 50, true);
    assert.equal(advanceThermal(params, held, 60_000, 4).tempC, 50);
  });
});

describe('fake sysfs', () => {
  test('splits the host CPUs into little and big halves by max frequency', () => {
    assert.deepEqual(
      cpuTopology(2).map((cpu) => cpu.cluster),
      ['little', 'big'],
    );
    assert.deepEqual(
      cpuTopology(1).map((cpu) => cpu.cluster),
      ['big'],
    );
    const eight = cpuTopology(8);
    assert.equal(eight.filter((cpu) => cpu.cluster === 'big').length, 4);
    assert.ok((eight[7]?.maxKhz ?? 0) > (eight[0]?.maxKhz ?? 0));
  });

  test('cpu topology masks as the kernel prints them (hwloc, and so PoCL, needs them)', () => {
    assert.equal(cpuMaskText([0, 1]), '3');
    assert.equal(cpuMaskText([4]), '10');
    assert.equal(cpuMaskText([0, 33]), '2,00000001');
    const files = sysfsFiles({
      cpus: cpuTopology(2),
      tempC: 30,
      thermal: DEFAULT_THERMAL_PARAMS,
      power: { screenOn: false, charging: false, batteryLevel: 40 },
      governor: 'schedutil',
    });
    assert.equal(files.get('devices/system/cpu/cpu1/topology/package_cpus'), '3\n');
    assert.equal(files.get('devices/system/cpu/cpu1/topology/thread_siblings'), '2\n');
    assert.equal(files.get('devices/system/cpu/cpu1/topology/core_cpus_list'), '1\n');
    assert.equal(files.get('devices/system/cpu/cpu0/topology/package_cpus_list'), '0-1\n');
  });

  test('publishes zones in millidegrees and caps the big cluster when hot', () => {
    const cpus = cpuTopology(2);
    const power = { screenOn: false, charging: false, batteryLevel: 40 };
    const cool = sysfsFiles({
      cpus,
      tempC: 30,
      thermal: DEFAULT_THERMAL_PARAMS,
      power,
      governor: 'schedutil',
    });
    const hot = sysfsFiles({
      cpus,
      tempC: 50,
      thermal: DEFAULT_THERMAL_PARAMS,
      power,
      governor: 'schedutil',
    });
    assert.equal(cool.get('class/thermal/thermal_zone1/type'), 'cpu-big\n');
    assert.equal(hot.get('class/thermal/thermal_zone1/temp'), '50000\n');
    assert.equal(
      cool.get('devices/system/cpu/cpu1/cpufreq/scaling_cur_freq'),
      cool.get('devices/system/cpu/cpu1/cpufreq/cpuinfo_max_freq'),
    );
    assert.ok(
      Number(hot.get('devices/system/cpu/cpu1/cpufreq/scaling_cur_freq')) <
        Number(hot.get('devices/system/cpu/cpu1/cpufreq/cpuinfo_max_freq')),
    );
    assert.equal(
      hot.get('devices/system/cpu/cpu0/cpufreq/scaling_cur_freq'),
      hot.get('devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq'),
    );
    assert.equal(cool.get('devices/system/cpu/online'), '0-1\n');
    assert.equal(cool.get('class/power_supply/battery/status'), 'Discharging\n');
    assert.equal(cool.get('class/backlight/panel0-backlight/brightness'), '0\n');
  });
});

describe('properties and banner', () => {
  test('the banner names the product from the property table', () => {
    const properties = defaultProperties({ model: 'Pixel 7 Pro', abi: 'arm64-v8a', serialNumber: 'v-1' });
    assert.equal(
      deviceBanner(properties),
      'device::ro.product.name=pixel_7_pro;ro.product.model=Pixel 7 Pro;ro.product.device=pixel_7_pro;features=',
    );
    assert.equal(properties['ro.product.cpu.abi'], 'arm64-v8a');
    assert.match(propertyFile(properties), /^ro\.board\.platform=virtual-arm64$/m);
  });
});

describe('sandbox argv', () => {
  const paths = { sandboxDir: '/tmp/p/sb', sysfsDir: '/tmp/p/sys', systemDir: '/tmp/p/system' };
  const rootEntries = [
    { name: 'usr', kind: 'dir' as const },
    { name: 'bin', kind: 'symlink' as const, target: 'usr/bin' },
    { name: 'proc', kind: 'dir' as const },
    { name: '.dockerenv', kind: 'file' as const },
  ];

  test('binds the host root except what the phone replaces, and the phone folders', () => {
    const args = bwrapArgs({ rootEntries, paths, commandLine: 'echo hi' });
    const joined = args.join(' ');
    assert.match(joined, /--bind \/usr \/usr/);
    assert.match(joined, /--symlink usr\/bin \/bin/);
    assert.match(joined, /--ro-bind \/\.dockerenv \/\.dockerenv/);
    assert.doesNotMatch(joined, /--bind \/proc/);
    assert.match(joined, /--ro-bind \/tmp\/p\/sys \/sys/);
    assert.match(joined, /--bind \/tmp\/p\/sb \/data\/local\/tmp/);
    assert.deepEqual(args.slice(-3), ['/bin/sh', '-c', 'exec 2>&1\necho hi']);
  });

  test('a full disk is a filled one-page tmpfs with the sandbox entries bound read-only', () => {
    const args = bwrapArgs({
      rootEntries,
      paths,
      commandLine: 'true',
      diskFull: { sandboxEntries: [{ name: 'agent', kind: 'file' }], fillFd: 3 },
    }).join(' ');
    assert.match(
      args,
      /--size 4096 --tmpfs \/data\/local\/tmp --ro-bind \/tmp\/p\/sb\/agent \/data\/local\/tmp\/agent --file 3 /,
    );
  });

  test('OpenCL: the host ICD loader at /vendor/lib64 first, then the host names hidden behind /dev/null', () => {
    const library = '/usr/lib/x86_64-linux-gnu/libOpenCL.so.1.0.0';
    const args = bwrapArgs({
      rootEntries: [...rootEntries, { name: 'vendor', kind: 'dir' as const }],
      paths,
      commandLine: 'true',
      vendorOpenCl: { library, hidden: [library] },
    }).join(' ');
    assert.doesNotMatch(args, /--bind \/vendor \/vendor/, "the host's own /vendor is not the phone's");
    assert.match(
      args,
      /--ro-bind \/usr\/lib\/x86_64-linux-gnu\/libOpenCL\.so\.1\.0\.0 \/vendor\/lib64\/libOpenCL\.so --ro-bind \/dev\/null \/usr\/lib\/x86_64-linux-gnu\/libOpenCL\.so\.1\.0\.0 /,
    );
    assert.doesNotMatch(bwrapArgs({ rootEntries, paths, commandLine: 'true' }).join(' '), /libOpenCL/);
  });

  test('the qemu fallback prefixes aarch64 binaries in command position only', () => {
    const arm = new Set(['/data/local/tmp/agent']);
    const rewritten = prefixAarch64Commands(
      'cd /data/local/tmp && ./agent run < plan; echo ./agent; /data/local/tmp/agent info | cat',
      '/usr/bin/qemu-aarch64-static',
      (path) => arm.has(path),
    );
    assert.equal(
      rewritten,
      'cd /data/local/tmp && /usr/bin/qemu-aarch64-static ./agent run < plan; echo ./agent; /usr/bin/qemu-aarch64-static /data/local/tmp/agent info | cat',
    );
  });

  test('recognises an aarch64 ELF header', () => {
    const header = new Uint8Array(20);
    header.set([0x7f, 0x45, 0x4c, 0x46]);
    header[18] = 183;
    assert.ok(isAarch64ElfHeader(header));
    header[18] = 62; // x86-64
    assert.ok(!isAarch64ElfHeader(header));
  });
});

function fakeTimers() {
  const pending: Array<{ callback: () => void; atMs: number }> = [];
  let nowMs = 0;
  return {
    timers: {
      setTimeout: (callback: () => void, delayMs: number) => {
        const entry = { callback, atMs: nowMs + delayMs };
        pending.push(entry);
        return entry;
      },
      clearTimeout: (handle: unknown) => {
        const index = pending.indexOf(handle as (typeof pending)[number]);
        if (index >= 0) pending.splice(index, 1);
      },
    },
    advance(ms: number) {
      nowMs += ms;
      for (const entry of pending.filter((e) => e.atMs <= nowMs)) {
        pending.splice(pending.indexOf(entry), 1);
        entry.callback();
      }
    },
  };
}

function temperatureHolder(): TemperatureControl & { value: { tempC: number; held: boolean } } {
  const value = { tempC: 25, held: false };
  return {
    value,
    set: (tempC, hold) => Object.assign(value, { tempC, held: hold }),
    release: () => Object.assign(value, { held: false }),
    current: () => ({ ...value }),
  };
}

describe('faults', () => {
  test('a byte budget resets every live link once, then disarms', () => {
    const clock = fakeTimers();
    const faults = new PhoneFaults(temperatureHolder(), clock.timers, { dropAfterBytes: 100 });
    let resets = 0;
    const watch = faults.attach({ destroy: () => resets++ });
    watch.countBytes(60);
    assert.equal(resets, 0);
    watch.countBytes(60);
    assert.equal(resets, 1);
    assert.equal(faults.snapshot().dropAfterBytes, null);
    const again = faults.attach({ destroy: () => resets++ });
    again.countBytes(1000);
    assert.equal(resets, 1, 'one-shot: the reconnected link stays up');
  });

  test('a time drop armed before any link starts counting at the first link', () => {
    const clock = fakeTimers();
    const faults = new PhoneFaults(temperatureHolder(), clock.timers, { dropAfterMs: 500 });
    let resets = 0;
    clock.advance(10_000);
    assert.equal(resets, 0);
    faults.attach({ destroy: () => resets++ });
    clock.advance(499);
    assert.equal(resets, 0);
    clock.advance(1);
    assert.equal(resets, 1);
  });

  test('offline resets links and refuses new ones until set back', () => {
    const faults = new PhoneFaults(temperatureHolder(), fakeTimers().timers);
    let resets = 0;
    faults.attach({ destroy: () => resets++ });
    faults.setOffline(true);
    assert.equal(resets, 1);
    assert.equal(faults.acceptsConnections(), false);
    faults.setOffline(false);
    assert.equal(faults.acceptsConnections(), true);
  });

  test('hang patterns match command lines, g flag or not', () => {
    const faults = new PhoneFaults(temperatureHolder(), fakeTimers().timers, { hangCommands: /agent run/g });
    assert.ok(faults.shouldHang('cd /data/local/tmp && ./prunelab-agent run'));
    assert.ok(faults.shouldHang('./prunelab-agent run'), 'same answer the second time');
    assert.ok(!faults.shouldHang('./prunelab-agent info'));
  });
});

describe('prunelab-fault control command', () => {
  test('splits the verb from the rest of the line, respecting quotes', () => {
    assert.deepEqual(splitControlCommand(`prunelab-fault hang 'agent|bench'; echo M$?`), {
      args: ['hang', 'agent|bench'],
      rest: '; echo M$?',
    });
    assert.deepEqual(splitControlCommand('  prunelab-fault status'), { args: ['status'], rest: '' });
    assert.equal(splitControlCommand('echo prunelab-fault'), undefined);
    assert.equal(splitControlCommand('prunelab-faulty'), undefined);
  });

  test('applies verbs to a real fault controller and reports bad ones with usage', () => {
    const temperature = temperatureHolder();
    const faults = new PhoneFaults(temperature, fakeTimers().timers);
    const changes: string[] = [];
    const settings = {
      setProperty: (key: string, value: string) => changes.push(`${key}=${value}`),
      setPower: (change: object) => changes.push(JSON.stringify(change)),
      goOfflineFor: (ms: number) => changes.push(`offline ${ms}`),
    };
    assert.equal(runControlCommand(['temperature', '48.5', 'hold'], faults, settings).exitCode, 0);
    assert.deepEqual(temperature.value, { tempC: 48.5, held: true });
    assert.equal(runControlCommand(['disk-full', 'on'], faults, settings).exitCode, 0);
    assert.equal(runControlCommand(['screen', 'off'], faults, settings).exitCode, 0);
    const status = JSON.parse(runControlCommand(['status'], faults, settings).output) as Record<
      string,
      unknown
    >;
    assert.equal(status.diskFull, true);
    assert.equal(status.temperatureC, 48.5);
    assert.deepEqual(changes, ['{"screenOn":false}']);
    const bad = runControlCommand(['drop-after-ms', 'soon'], faults, settings);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.output, /expected a whole number, got "soon"/);
    assert.equal(runControlCommand(['hang', '('], faults, settings).exitCode, 1);
  });
});

describe('options', () => {
  test('name the option and its flag, what was expected and what was found', () => {
    assert.throws(
      () => resolvePhoneOptions({ abi: 'mips', model: 'X' }),
      (error: unknown) =>
        error instanceof PhoneOptionError &&
        /abi \(--abi\): expected one of x86_64, arm64-v8a, got "mips"/.test(error.message),
    );
    assert.throws(
      () => resolvePhoneOptions({ abi: 'x86_64', model: 'X', port: 70000 }),
      /port \(--port\): expected an integer from 0 to 65535, got 70000/,
    );
    assert.throws(
      () => resolvePhoneOptions({ abi: 'x86_64', model: 'X', faults: { hangCommands: '(' } }),
      /--hang-commands.*expected a JavaScript regular expression/,
    );
    const resolved = resolvePhoneOptions({ abi: 'x86_64', model: ' Pixel 7 ' });
    assert.equal(resolved.model, 'Pixel 7');
    assert.equal(resolved.port, 0);
    assert.ok(Object.isFrozen(resolved));
  });
});
