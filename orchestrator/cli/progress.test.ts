/** Plain progress lines (non-TTY) from scheduler events, with a fake clock for the ETA. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { countProgress, formatDurationMs, formatNs, plainProgress } from './progress.ts';

test('plain progress counts settled cases, shows failures and an ETA from this session only', () => {
  const lines: string[] = [];
  let nowMs = 0;
  const progress = plainProgress(
    (text) => lines.push(text),
    () => nowMs,
  );
  const counts = { pending: 3, running: 0, done: 1, failed: 0, skipped: 0 };
  progress.onEvent({ type: 'device-start', deviceId: 'host:a', counts });
  nowMs = 10_000;
  progress.onEvent({
    type: 'case-done',
    deviceId: 'host:a',
    taskId: 2,
    caseKey: 'k2',
    medianNs: 1_500_000,
    hostMs: 1,
  });
  progress.onEvent({
    type: 'case-failed',
    deviceId: 'host:a',
    taskId: 3,
    caseKey: 'k3',
    reason: 'crash',
    message: 'died',
    willRetry: true,
  });
  nowMs = 20_000;
  progress.onEvent({
    type: 'case-failed',
    deviceId: 'host:a',
    taskId: 3,
    caseKey: 'k3',
    reason: 'crash',
    message: 'died',
    willRetry: false,
  });
  assert.deepEqual(lines, [
    '[host:a] 3 cases to run (1 already settled)\n',
    '[host:a] 2/4 ok k2 median 1.500 ms eta 20s\n',
    '[host:a] 2/4 retry k3 (crash): died eta 20s\n',
    '[host:a] 3/4 FAILED k3 (crash): died eta 10s\n',
  ]);
});

test('durations and latencies are printed in readable units', () => {
  assert.equal(formatDurationMs(59_400), '59s');
  assert.equal(formatDurationMs(61_000), '1m01s');
  assert.equal(formatDurationMs(3_660_000), '1h01m');
  assert.equal(formatDurationMs(Number.NaN), '?');
  assert.equal(formatNs(2_345_678), '2.346 ms');
  assert.equal(formatNs(12_340), '12.3 us');
});

test('a count without a terminal: a line per note, else one every two seconds, with the ETA of this session', () => {
  const lines: string[] = [];
  let nowMs = 0;
  const output = {
    stderrIsTty: false,
    stderr: new Writable({ write: (_chunk, _encoding, done) => done() }),
    err: (text: string) => lines.push(text),
  };
  const progress = countProgress(output, 'sensitivity', 'candidates', () => nowMs);
  nowMs = 1000;
  progress.update(1, 4, 'conv1 bcr 4x1 @0.5 in 900 ms');
  nowMs = 1500;
  progress.update(2, 4);
  nowMs = 3500;
  progress.update(3, 4);
  nowMs = 4000;
  progress.update(4, 4);
  progress.stop();
  assert.deepEqual(lines, [
    'sensitivity: 1/4 candidates conv1 bcr 4x1 @0.5 in 900 ms, eta 3s\n',
    'sensitivity: 3/4 candidates, eta 1s\n',
    'sensitivity: 4/4 candidates, eta 0s\n',
  ]);
});
