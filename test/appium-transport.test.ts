/**
 * The appium transport against a real Appium 3 server and real webdriverio: the server (in this process,
 * 127.0.0.1) runs the project's own driver (test/appium-driver/: UiAutomator2's push/pull/`mobile: shell`
 * semantics), which reaches an x86_64 virtual phone through Debian's real adb server. Only the phone is a
 * double. Covers identity, exact bytes through push/pull, exit codes and stderr, stdin (inline and pushed),
 * lines delivered while a command runs, a timeout that leaves nothing running, an abort, a command that
 * outlives the HTTP call timeout without being run twice, and sessions deleted at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectAppiumDevice } from '../orchestrator/transport/appium/connect.ts';
import type { AppiumDevice } from '../orchestrator/transport/appium/device.ts';
import { CommandStartError, DeviceUnavailableError } from '../orchestrator/transport/errors.ts';
import { type AppiumLab, isRunning, startAppiumLab } from './appium-lab.ts';

let lab: AppiumLab;
let device: AppiumDevice;
let dir: string;
const WORK = '/data/local/tmp/appium-test';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunelab-appium-transport-'));
  lab = await startAppiumLab({ phones: [{ abi: 'x86_64', model: 'Virtual X86' }], allowShell: true });
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  // HTTP calls bounded at 3 s: a command that runs longer must not need a long call (nor be re-sent).
  device = await connectAppiumDevice({
    entry: lab.entry(phone, { workDir: WORK, commandTimeoutMs: 3_000 }),
    index: 0,
  });
});

after(async () => {
  await device?.close();
  await lab?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('identity and info come from getprop and sysfs over `mobile: shell`', async () => {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  assert.equal(device.identity.id, `appium:lab:${phone.serial}`);
  assert.equal(device.identity.kind, 'appium');
  assert.equal(device.identity.abi, process.arch === 'x64' ? 'host' : 'x86_64');
  const info = await device.info();
  const fingerprint = await lab.adb.adb(['-s', phone.serial, 'shell', 'getprop', 'ro.build.fingerprint']);
  assert.equal(info.model, 'Virtual X86');
  assert.equal(info.buildFingerprint, fingerprint.stdout.trim());
  assert.ok(info.cpuCount > 0);
  assert.equal(info.workDir, WORK);
  const details = info.details as { clusters: { role: string }[]; abiList: string[] };
  assert.equal(details.clusters[0]?.role, 'big');
  assert.equal(details.abiList[0], 'x86_64');
});

test('push then pull gives back the exact bytes, with the mode asked for', async () => {
  const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(300_000)]);
  const local = join(dir, 'blob.bin');
  await writeFile(local, bytes);
  await device.push(local, `${WORK}/blob.bin`, { mode: 0o755 });
  const mode = await device.shell(`stat -c %a ${WORK}/blob.bin`, { timeoutMs: 10_000 });
  assert.equal(mode.stdout.trim(), '755');
  const back = join(dir, 'back', 'blob.bin');
  await device.pull(`${WORK}/blob.bin`, back);
  assert.ok((await readFile(back)).equals(bytes), 'identical bytes');
  // Same content again: no upload, the mode is still fixed.
  await device.shell(`chmod 644 ${WORK}/blob.bin`, { timeoutMs: 10_000 });
  await device.push(local, `${WORK}/blob.bin`, { mode: 0o755 });
  assert.equal(
    (await device.shell(`stat -c %a ${WORK}/blob.bin`, { timeoutMs: 10_000 })).stdout.trim(),
    '755',
  );
});

test('a non-zero exit code and stderr come back apart from stdout', async () => {
  const result = await device.shell('echo out; echo err >&2; exit 3', { timeoutMs: 10_000 });
  assert.equal(result.exitCode, 3);
  assert.equal(result.signal, null);
  assert.equal(result.stdout, 'out\n');
  assert.equal(result.stderr, 'err\n');
  assert.equal(result.timedOut, false);
  const argv = await device.shell(['sh', '-c', 'printf "%s|" "$@"', 'x', 'a b', "it's"], {
    timeoutMs: 10_000,
  });
  assert.equal(argv.stdout, "a b|it's|");
  await assert.rejects(device.shell([`${WORK}/no-such-binary`], { timeoutMs: 10_000 }), CommandStartError);
});

test('stdin small (inline) and large (pushed), a long command line; env reaches the command', async () => {
  const small = await device.shell('cat; echo "$GREETING"', {
    timeoutMs: 10_000,
    stdin: 'one\ntwo\n',
    env: { GREETING: "hello 'quoted'" },
  });
  assert.equal(small.stdout, "one\ntwo\nhello 'quoted'\n");
  const large = `${'x'.repeat(99)}\n`.repeat(1_000);
  const counted = await device.shell('wc -c', { timeoutMs: 10_000, stdin: large });
  assert.equal(Number(counted.stdout.trim()), large.length);
  // A command line over adb's ~4 KiB limit for one shell request: the job file is pushed instead.
  const long = await device.shell(`echo ${'y'.repeat(5_000)} | wc -c`, { timeoutMs: 10_000, stdin: 'z' });
  assert.equal(long.stdout.trim(), '5001');
});

test('stdout lines are delivered while the command runs, the last one without a newline too', async () => {
  const seen: { line: string; atMs: number }[] = [];
  const startedMs = performance.now();
  const result = await device.shell('echo first; sleep 1.5; echo second; printf last', {
    timeoutMs: 20_000,
    onStdoutLine: (line) => seen.push({ line, atMs: performance.now() - startedMs }),
  });
  assert.equal(result.exitCode, 0);
  assert.equal(result.stdout, '');
  assert.deepEqual(
    seen.map((entry) => entry.line),
    ['first', 'second', 'last'],
  );
  assert.ok(
    (seen[0]?.atMs ?? Number.POSITIVE_INFINITY) < result.durationMs - 1_000,
    `first line at ${seen[0]?.atMs} ms, command took ${result.durationMs} ms`,
  );
});

test('a command that outlives its timeout is killed with its children; nothing is left on the phone', async () => {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  const startedMs = performance.now();
  const result = await device.shell(
    `echo $$ > ${WORK}/timeout.pid; sleep 60 & echo $! > ${WORK}/timeout.child; echo started; wait`,
    { timeoutMs: 1_500 },
  );
  assert.equal(result.timedOut, true);
  assert.equal(result.exitCode, null);
  assert.equal(result.signal, 'SIGKILL');
  assert.equal(result.stdout, 'started\n');
  assert.ok(performance.now() - startedMs < 6_000, 'the timeout is honoured within a poll');
  const pids = await Promise.all(
    ['timeout.pid', 'timeout.child'].map(async (name) =>
      Number((await readFile(join(phone.sandboxDir, 'appium-test', name), 'utf8')).trim()),
    ),
  );
  for (const pid of pids) assert.equal(await isRunning(pid), false, `process ${pid} still runs`);
  // Looked at from the host: a listing through the transport would see its own job's folder.
  const left = (await readdir(join(phone.sandboxDir, 'appium-test'))).filter((name) =>
    name.startsWith('.pl-job-'),
  );
  assert.deepEqual(left, [], 'no job folder left');
});

test('an abort kills the command and says so', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 500);
  const result = await device.shell('sleep 30', { timeoutMs: 60_000, signal: controller.signal });
  assert.equal(result.aborted, true);
  assert.equal(result.timedOut, false);
  assert.equal(result.exitCode, null);
});

test('a command longer than one HTTP call timeout runs once, to the end', async () => {
  const result = await device.shell(`echo run >> ${WORK}/runs.txt; sleep 5; echo done`, {
    timeoutMs: 30_000,
  });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.stdout, 'done\n');
  assert.ok(result.durationMs >= 5_000);
  const runs = await device.shell(`cat ${WORK}/runs.txt`, { timeoutMs: 10_000 });
  assert.equal(runs.stdout, 'run\n', 'executed exactly once');
});

test('close deletes the session on the server', async () => {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  const second = await connectAppiumDevice({ entry: lab.entry(phone, { name: 'second' }), index: 1 });
  assert.equal(await lab.server.sessionCount(), 2);
  await second.close();
  await second.close();
  assert.equal(await lab.server.sessionCount(), 1);
});

test('a session the server ended is opened again: waitUntilReachable gives a new one, commands run on it', async () => {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  const third = await connectAppiumDevice({
    entry: lab.entry(phone, { name: 'third', workDir: WORK }),
    index: 2,
  });
  try {
    const before = ((await third.info()).details as { appium: { sessionId: string } }).appium.sessionId;
    // What an idle timeout or a server restart does: the server forgets the session.
    const deleted = await fetch(`${lab.server.url}/session/${before}`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    await assert.rejects(third.shell('echo hi', { timeoutMs: 10_000 }), (error: unknown) => {
      assert.ok(error instanceof DeviceUnavailableError, String(error));
      assert.match(error.message, /session was ended by the server/);
      return true;
    });
    assert.equal(await third.waitUntilReachable(20_000), true);
    const after = ((await third.info()).details as { appium: { sessionId: string } }).appium.sessionId;
    assert.notEqual(after, before);
    assert.equal((await third.shell('echo hi', { timeoutMs: 10_000 })).stdout, 'hi\n');
  } finally {
    await third.close();
  }
  assert.equal(await lab.server.sessionCount(), 1, 'only the first device keeps a session');
});
