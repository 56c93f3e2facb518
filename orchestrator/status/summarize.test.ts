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
