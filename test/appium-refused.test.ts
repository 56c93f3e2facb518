/**
 * A real Appium 3 server started without `--allow-insecure ...:adb_shell` (as farms that forbid shell run
 * it): the transport refuses the phone at connect with an error that names the flag and says what such a
 * farm can and cannot do, deletes the session it opened, and the CLI says why the phone is not used.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { connectAppiumDevice } from '../orchestrator/transport/appium/connect.ts';
import { AppiumShellRefusedError } from '../orchestrator/transport/appium/errors.ts';
import { type AppiumLab, startAppiumLab } from './appium-lab.ts';

const CLI = fileURLToPath(new URL('../orchestrator/cli/main.ts', import.meta.url));

/** The CLI as a user runs it (its notes go to the process's stderr), which must also exit by itself. */
async function prunelab(args: readonly string[]) {
  const result = await execa('node', ['--import', 'tsx', CLI, ...args], { reject: false, timeout: 60_000 });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

let lab: AppiumLab;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunelab-appium-refused-'));
  lab = await startAppiumLab({ phones: [{ abi: 'x86_64', model: 'Virtual X86' }], allowShell: false });
});

after(async () => {
  await lab?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('connect refuses a server without adb_shell, names the flag, and deletes its session', async () => {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  await assert.rejects(connectAppiumDevice({ entry: lab.entry(phone), index: 0 }), (error: unknown) => {
    assert.ok(error instanceof AppiumShellRefusedError, String(error));
    assert.equal(error.transient, false);
    assert.match(
      error.message,
      /^devices\.appium\[0\] 'lab' at http:\/\/127\.0\.0\.1:\d+: the server refuses/,
    );
    assert.match(error.message, /--allow-insecure prunelabadb:adb_shell/);
    assert.match(error.message, /--relaxed-security/);
    assert.match(error.message, /BrowserStack.*cannot run native binaries/);
    return true;
  });
  assert.equal(await lab.server.sessionCount(), 0, 'the session opened for the check is deleted');
});

test('prunelab devices and sweep say why the Appium phone is not used', async () => {
  const [phone] = lab.phones;
  assert.ok(phone !== undefined);
  const entry = lab.entry(phone);
  const config = join(dir, 'refused.yaml');
  await writeFile(
    config,
    `devices:
  host: { enabled: false }
  adb: { enabled: false }
  appium:
    - name: refused
      url: ${entry.url}
      capabilities: ${JSON.stringify(entry.capabilities)}
`,
  );
  const listed = await prunelab(['devices', '--config', config]);
  assert.equal(listed.exitCode, 0, listed.stderr);
  assert.equal(listed.stdout, '');
  assert.match(
    listed.stderr,
    /note: appium phone refused is not used: .*--allow-insecure prunelabadb:adb_shell/,
  );

  const swept = await prunelab([
    'sweep',
    '--config',
    config,
    '--device',
    'appium',
    '--db',
    join(dir, 'x.db'),
  ]);
  assert.equal(swept.exitCode, 2, swept.stderr);
  assert.match(swept.stderr, /--allow-insecure prunelabadb:adb_shell/);
  assert.match(swept.stderr, /--device: expected a device id/);
  assert.equal(await lab.server.sessionCount(), 0);
});
