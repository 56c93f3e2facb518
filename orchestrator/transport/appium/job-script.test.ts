/**
 * The job scripts and their parsers. The scripts run here through the host's /bin/sh (dash; a phone has
 * mksh and toybox), each call a fresh shell as `mobile: shell` gives; the parsers are fed literal output.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRunning } from '../../../test/appium-lab.ts';
import { parseGetprop } from '../android/getprop.ts';
import { classifyAppiumFailure } from './errors.ts';
import {
  CHUNK_MAX_BYTES,
  collectScript,
  jobScript,
  parseCollected,
  startScript,
  takeLines,
} from './job-script.ts';

const M = '__PLabc123';
const sh = (script: string): string => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });

test('start, poll and end of a job through a real shell: output in pieces, exit status, stderr, cleanup', async () => {
  const root = await mkdtemp(join(tmpdir(), 'prunelab-job-script-'));
  try {
    const dir = join(root, 'job');
    const job = jobScript({
      dir,
      command: 'read a; echo "got $a"; sleep 0.4; echo late; echo oops >&2; exit 4',
      watchdogS: 30,
    });
    const first = parseCollected(
      sh(startScript({ dir, marker: M, job, stdinText: 'x\n', stdinPushed: false, waitMs: 100 })),
      M,
    );
    assert.deepEqual(first, {
      vanished: false,
      exitStatus: undefined,
      stdoutSizeBytes: 6,
      chunk: 'got x\n',
      cleaned: false,
      stderr: '',
    });
    const last = parseCollected(sh(collectScript({ dir, marker: M, offsetBytes: 6, waitMs: 2_000 })), M);
    assert.equal(last?.exitStatus, 4);
    assert.equal(last?.chunk, 'late\n');
    assert.equal(last?.cleaned, true);
    assert.equal(last?.stderr, 'oops\n');
    const gone = parseCollected(sh(collectScript({ dir, marker: M, offsetBytes: 11, waitMs: 0 })), M);
    assert.equal(gone?.vanished, true, 'the folder was removed by the last call');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a kill ends the whole process group of the job and cleans up', async () => {
  const root = await mkdtemp(join(tmpdir(), 'prunelab-job-script-'));
  try {
    const dir = join(root, 'job');
    const job = jobScript({ dir, command: 'sleep 30 & echo $!; wait', watchdogS: 60 });
    const started = parseCollected(
      sh(startScript({ dir, marker: M, job, stdinPushed: false, waitMs: 200 })),
      M,
    );
    const child = Number(started?.chunk.trim());
    assert.ok(child > 0);
    const killed = parseCollected(
      sh(collectScript({ dir, marker: M, offsetBytes: 0, waitMs: 0, kill: true })),
      M,
    );
    assert.equal(killed?.exitStatus, undefined);
    assert.equal(killed?.cleaned, true);
    assert.equal(await isRunning(child), false, 'the background child is gone too');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('parseCollected refuses output that is not a job answer (the start script could not run)', () => {
  assert.equal(parseCollected('mkdir: /x: Permission denied\n', M), undefined);
  assert.equal(parseCollected(`${M}H - 0\nno trailer`, M), undefined);
});

test('takeLines keeps a partial last line for later unless the job is over or one line fills a chunk', () => {
  assert.deepEqual(takeLines('a\nb\npart', false), { text: 'a\nb\n', sizeBytes: 4 });
  assert.deepEqual(takeLines('a\npart', true), { text: 'a\npart', sizeBytes: 6 });
  assert.deepEqual(takeLines('é\nx', false), { text: 'é\n', sizeBytes: 3 });
  const huge = 'z'.repeat(CHUNK_MAX_BYTES);
  assert.equal(takeLines(huge, false).sizeBytes, CHUNK_MAX_BYTES);
});

test('getprop listings and Appium failures are read as expected', () => {
  assert.deepEqual(parseGetprop('[ro.product.model]: [Pixel 7]\n[ro.empty]: []\ngarbage\n'), {
    'ro.product.model': 'Pixel 7',
    'ro.empty': '',
  });
  const refused =
    "WebDriverError: Potentially insecure feature 'adb_shell' has not been enabled. If you want to enable this feature";
  assert.equal(classifyAppiumFailure(refused).kind, 'shell-refused');
  assert.equal(classifyAppiumFailure("Unsupported execute method 'mobile: shell'").kind, 'shell-refused');
  assert.equal(
    classifyAppiumFailure('fetch failed: connect ECONNREFUSED 127.0.0.1:4723').kind,
    'unavailable',
  );
  assert.equal(
    classifyAppiumFailure('invalid session id: A session is either terminated').kind,
    'session-gone',
  );
  assert.equal(classifyAppiumFailure('adb: error: remote No space left on device').kind, 'no-space');
});
