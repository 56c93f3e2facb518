import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeLab } from './summarize.ts';

const now = new Date('2026-01-01T12:01:00.000Z');

test('progress, ETA at the run pace so far, and leases live or expired', () => {
  const status = summarizeLab(
    {
      runs: [
        {
          id: 'r2',
          status: 'running',
          host: 'lab-a',
          createdAt: '2026-01-01T12:00:00.000Z',
          finishedAt: null,
          counts: { done: 11, pending: 20, running: 1 },
          // 11 measurements in 50 s: 5 s apart, 21 left -> 105 s.
          firstMeasuredAt: '2026-01-01T12:00:05.000Z',
          lastMeasuredAt: '2026-01-01T12:00:55.000Z',
          measured: 11,
        },
        {
          id: 'r1',
          status: 'done',
          host: 'lab-b',
          createdAt: '2025-12-31T12:00:00.000Z',
          finishedAt: '2025-12-31T13:00:00.000Z',
          counts: { done: 4 },
          firstMeasuredAt: '2025-12-31T12:00:00.000Z',
          lastMeasuredAt: '2025-12-31T12:30:00.000Z',
          measured: 4,
        },
      ],
      leases: [
        {
          device_id: 'phone-1',
          token: 3,
          holder_id: 'x',
          host: 'lab-a',
          pid: 10,
          run_id: 'r2',
          acquired_at: '2026-01-01T12:00:00.000Z',
          heartbeat_at: '2026-01-01T12:00:50.000Z',
          expires_at: '2026-01-01T12:01:20.000Z',
        },
        {
          device_id: 'phone-2',
          token: 1,
          holder_id: 'y',
          host: 'lab-c',
          pid: 11,
          run_id: 'r2',
          acquired_at: '2026-01-01T12:00:00.000Z',
          heartbeat_at: '2026-01-01T12:00:10.000Z',
          expires_at: '2026-01-01T12:00:40.000Z',
        },
      ],
      devices: [],
      workers: [],
    },
    now,
  );
  const [running, done] = status.runs;
  assert.equal(running?.tasks, 32);
  assert.equal(running?.etaMs, 105_000);
  assert.equal(done?.etaMs, null, 'a finished run has no ETA');
  assert.equal(done?.fractionDone, 1);
  assert.deepEqual(
    status.leases.map((lease) => [lease.deviceId, lease.state, lease.heartbeatAgeMs]),
    [
      ['phone-1', 'live', 10_000],
      ['phone-2', 'expired', 50_000],
    ],
  );
  // lab-c holds only an expired lease and ran no listed run: it is not among the hosts.
  assert.deepEqual(status.hosts, ['lab-a', 'lab-b']);
});

test("an enqueued run's queue: cases settled, ETA at their pace; workers alive, gone by heartbeat, or stopped", () => {
  const worker = (id: string, host: string, heartbeatAt: string, stoppedAt: string | null) => ({
    id,
    host,
    pid: 7,
    devices: [{ id: `${id}-phone`, model: 'Pixel 7', abi: 'arm64-v8a' }],
    startedAt: '2026-01-01T11:00:00.000Z',
    heartbeatAt,
    leaseMs: 30_000,
    stoppedAt,
  });
  const status = summarizeLab(
    {
      runs: [
        {
          id: 'q1',
          status: 'running',
          host: 'laptop',
          createdAt: '2026-01-01T12:00:00.000Z',
          finishedAt: null,
          counts: { done: 10, skipped: 2 },
          firstMeasuredAt: null,
          lastMeasuredAt: null,
          measured: 10,
          // 11 cases settled in 40 s: 4 s apart; 29 left -> 116 s.
          queue: {
            batches: 10,
            queued: 5,
            claimed: 2,
            expired: 1,
            done: 3,
            cases: 40,
            settled: 11,
            failed: 1,
            firstSettledAt: '2026-01-01T12:00:10.000Z',
            lastSettledAt: '2026-01-01T12:00:50.000Z',
          },
        },
      ],
      leases: [],
      devices: [],
      workers: [
        worker('w1', 'lab-a', '2026-01-01T12:00:55.000Z', null),
        worker('w2', 'lab-b', '2026-01-01T12:00:20.000Z', null),
        worker('w3', 'lab-c', '2026-01-01T12:00:00.000Z', '2026-01-01T12:00:00.000Z'),
      ],
    },
    now,
  );
  const queue = status.runs[0]?.queue;
  assert.equal(queue?.fractionDone, 11 / 40);
  assert.equal(queue?.etaMs, 116_000);
  assert.deepEqual(
    status.workers.map((w) => [w.id, w.state, w.heartbeatAgeMs]),
    [
      ['w1', 'alive', 5_000],
      ['w2', 'gone', 40_000],
      ['w3', 'stopped', 60_000],
    ],
  );
  // Only the live worker's host counts as a host of the lab now (beside the run's).
  assert.deepEqual(status.hosts, ['lab-a', 'laptop']);
});
