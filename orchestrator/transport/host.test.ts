/** The host transport against real processes: streaming lines, stderr, exit codes, timeouts, aborts, push. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CommandStartError } from './errors.ts';
import { createHostDevice } from './host.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-host-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const device = createHostDevice({ workDir: join(dir, 'work'), id: 'host:test' });

test('stdout lines stream to the callback as they come, stdin is fed, stderr and exit code are kept', async () => {
  const lines: string[] = [];
  const result = await device.shell(
    ['sh', '-c', 'while read -r l; do echo "got $l"; done; echo oops >&2; printf tail; exit 7'],
    {
      timeoutMs: 10_000,
      stdin: 'a\nb\n',
      onStdoutLine: (line) => lines.push(line),
    },
  );
  assert.deepEqual(lines, ['got a', 'got b', 'tail']);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, 'oops\n');
  assert.equal(result.exitCode, 7);
  assert.equal(result.timedOut, false);
});

test('without a line callback stdout is collected; a shell string runs through /bin/sh', async () => {
  const result = await device.shell('echo one; echo two', { timeoutMs: 10_000 });
  assert.equal(result.stdout, 'one\ntwo\n');
  assert.equal(result.exitCode, 0);
});

/** 'gone' when the process no longer runs: reaped, or a zombie waiting for a (container) init to reap it. */
function processState(pid: number): 'running' | 'gone' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name in parentheses: "123 (sleep) S ...".
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? 'gone' : 'running';
  } catch {
    return 'gone';
  }
}

test('a timeout kills the whole process group, children included', async () => {
  const pidFile = join(dir, 'grandchild.pid');
  const startedMs = performance.now();
  const result = await device.shell(['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], {
    timeoutMs: 300,
  });
  assert.equal(result.timedOut, true);
  assert.equal(result.signal, 'SIGKILL');
  assert.ok(performance.now() - startedMs < 5_000);
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(processState(grandchild), 'gone', 'the background sleep died with its group');
});

test('an abort signal stops the command and says so', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const result = await device.shell(['sleep', '30'], { timeoutMs: 10_000, signal: controller.signal });
  assert.equal(result.aborted, true);
  assert.equal(result.timedOut, false);
});

test('a command that does not exist is a stable CommandStartError', async () => {
  await assert.rejects(device.shell(['/no/such/agent', 'run'], { timeoutMs: 1_000 }), (error: unknown) => {
    assert.ok(error instanceof CommandStartError);
    assert.equal(error.transient, false);
    assert.match(error.message, /could not start \/no\/such\/agent on host:test/);
    return true;
  });
});

test('push copies with the requested mode into the work folder; pull copies back', async () => {
  const source = join(dir, 'tool.sh');
  writeFileSync(source, '#!/bin/sh\necho pushed\n');
  const info = await device.info();
  const remote = join(info.workDir, 'bin', 'tool.sh');
  await device.push(source, remote, { mode: 0o755 });
  assert.equal(statSync(remote).mode & 0o777, 0o755);
  assert.equal((await device.shell([remote], { timeoutMs: 5_000 })).stdout, 'pushed\n');
  const back = join(dir, 'back.sh');
  await device.pull(remote, back);
  assert.equal(readFileSync(back, 'utf8'), readFileSync(source, 'utf8'));
  assert.equal(info.identity.kind, 'host');
  assert.ok(info.cpuCount >= 1);
});
