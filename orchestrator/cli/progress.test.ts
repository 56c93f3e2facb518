/** Plain progress lines (non-TTY) from scheduler events, with a fake clock for the ETA. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDurationMs, formatNs, plainProgress } from './progress.ts';

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
