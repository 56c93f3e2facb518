/**
 * The CLI as a user meets it (the real entry point and adapters, in this process with captured output; the
 * SIGKILL test drives it as a child process): help with examples, --json output, and the
 * messages and exit codes for bad input (2) — unknown scheme, malformed block, a block that divides no
 * layer, malformed YAML, a database from a newer schema, an unknown run, a virtual phone option.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { openStore } from '../orchestrator/store/open.ts';
import { runPrunelab } from './support/cli.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const prunelab = (...args: string[]) => runPrunelab(args);

test('every command has --help with examples, and exits 0', async () => {
  for (const command of ['sweep', 'export', 'devices', 'build', 'doctor']) {
    const result = await prunelab(command, '--help');
    assert.equal(result.exitCode, 0, `${command} --help: ${result.stderr}`);
    assert.match(result.stdout, /Examples:/, `${command} --help shows examples`);
    assert.match(result.stdout, /--json/);
  }
});

test('an unknown scheme is bad input (exit 2) naming the flag and listing the valid schemes', async () => {
  const result = await prunelab('sweep', '--dry-run', '--schemes', 'dense,blocky');
  assert.equal(result.exitCode, 2);
  assert.match(
    result.stderr,
    /--schemes\[1\]: expected one of unstructured, pattern, bcr, block-punched, channel, filter, dense; got 'blocky'/,
  );
});

test('a malformed block size is bad input, and --json puts the error on stdout as JSON', async () => {
  const result = await prunelab('sweep', '--dry-run', '--json', '--blocks', '8by4');
  assert.equal(result.exitCode, 2);
  assert.match(result.stderr, /--blocks\[0\]: expected a block size BRxBC/);
  const parsed = JSON.parse(result.stdout) as {
    error: { name: string; data: { issues: { path: string }[] } };
  };
  assert.equal(parsed.error.name, 'ConfigError');
  assert.equal(parsed.error.data.issues[0]?.path, '--blocks[0]');
});

test('a block that divides no layer: the dry run lists the drops, a real sweep refuses the empty plan', async () => {
  const args = [
    '--models',
    'resnet18-cifar10',
    '--schemes',
    'bcr',
    '--blocks',
    '7x3',
    '--db',
    join(dir, 'empty.db'),
  ];
  const dry = await prunelab('sweep', '--dry-run', '--json', ...args);
  assert.equal(dry.exitCode, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout) as {
    cases: number;
    dropped: number;
    droppedReasons: Record<string, number>;
  };
  assert.equal(plan.cases, 0);
  assert.ok(plan.dropped > 0);
  assert.ok(Object.keys(plan.droppedReasons).some((reason) => /block 7x3 does not divide/.test(reason)));
  const real = await prunelab('sweep', ...args);
  assert.equal(real.exitCode, 2);
  assert.match(real.stderr, /no case to run/);
  assert.match(real.stderr, /block 7x3 does not divide/);
});

test('a malformed YAML file is bad input with its line number', async () => {
  const path = join(dir, 'bad.yaml');
  writeFileSync(path, 'sweep:\n  schemes: [dense, bcr\n  blocks: [8x4]\n');
  const result = await prunelab('sweep', '--dry-run', '--config', path);
  assert.equal(result.exitCode, 2);
  assert.match(result.stderr, /invalid configuration in .*bad\.yaml/);
  assert.match(result.stderr, /line \d+/);
});

test('a database written by a newer schema is refused by export and by sweep --resume (exit 2)', async () => {
  const path = join(dir, 'newer.db');
  const store = await openStore(path);
  await store.close();
  const raw = new BetterSqlite3(path);
  raw
    .prepare('insert into kysely_migration (name, timestamp) values (?, ?)')
    .run('0042_later', new Date().toISOString());
  raw.close();
  for (const args of [
    ['export', '--db', path],
    ['sweep', '--db', path, '--resume'],
  ]) {
    const result = await prunelab(...args);
    assert.equal(result.exitCode, 2, args.join(' '));
    assert.match(result.stderr, /written by a newer prunelab \(schema migrations 0042_later/);
  }
});

test('export of an unknown run or a missing file is bad input naming what exists', async () => {
  const path = join(dir, 'runs.db');
  const store = await openStore(path);
  await store.db
    .insertInto('runs')
    .values({
      id: 'r-one',
      created_at: '2025-01-01T00:00:00Z',
      config_json: '{}',
      config_hash: 'h',
      git_revision: null,
      host: 'h',
      status: 'done',
      finished_at: null,
    })
    .execute();
  await store.close();
  const unknownRun = await prunelab('export', '--db', path, '--run', 'r-two');
  assert.equal(unknownRun.exitCode, 2);
  assert.match(unknownRun.stderr, /no run 'r-two'.*expected one of r-one/);
  const missing = await prunelab('export', '--db', join(dir, 'nope.db'));
  assert.equal(missing.exitCode, 2);
  assert.match(missing.stderr, /no database at/);
  const unknownFormat = await prunelab('export', '--db', path, '--format', 'xlsx');
  assert.equal(unknownFormat.exitCode, 2);
  assert.match(unknownFormat.stderr, /Choices: "csv", "jsonl"/);
});

test('an unknown command or option is bad input; --resume with sweep flags is refused', async () => {
  assert.equal((await prunelab('swep')).exitCode, 2);
  assert.equal((await prunelab('sweep', '--dry-run', '--no-such-flag')).exitCode, 2);
  const resume = await prunelab('sweep', '--resume', '--schemes', 'dense');
  assert.equal(resume.exitCode, 2);
  assert.match(resume.stderr, /--resume continues a run with the configuration stored with it/);
});

test('devices and doctor print JSON with --json', async () => {
  const devices = await prunelab('devices', '--json');
  assert.equal(devices.exitCode, 0, devices.stderr);
  const listed = JSON.parse(devices.stdout) as { devices: { identity: { kind: string } }[] };
  assert.ok(listed.devices.some((device) => device.identity.kind === 'host'));
  const doctor = await prunelab('doctor', '--json');
  const report = JSON.parse(doctor.stdout) as { ok: boolean; tools: { name: string; present: boolean }[] };
  assert.equal(doctor.exitCode, report.ok ? 0 : 1);
  assert.ok(report.tools.some((tool) => tool.name === 'cc' && tool.present));
  assert.ok(report.tools.some((tool) => tool.name === 'android-ndk'));
});

test('a virtual phone option that cannot describe a phone is bad input (exit 2), not an unexpected error', async () => {
  const result = await prunelab('virtual-phone', '--model', 'a;b', '--abi', 'x86_64', '--port', '0');
  assert.equal(result.exitCode, 2);
  assert.match(result.stderr, /^prunelab: virtual phone option model \(--model\): expected .*got "a;b"/);
  assert.doesNotMatch(result.stderr, /unexpected|\n\s+at /, 'a named input error prints no stack trace');
  const json = await prunelab('virtual-phone', '--json', '--model', 'a;b', '--abi', 'x86_64', '--port', '0');
  assert.equal(json.exitCode, 2);
  const parsed = JSON.parse(json.stdout) as { error: { name: string; data: { option: string } } };
  assert.equal(parsed.error.name, 'PhoneOptionError');
  assert.equal(parsed.error.data.option, 'model');
});
