import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isConnectionLoss, retryOnConnectionLoss } from './retry.ts';

const lost = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

test('a lost connection is tried again with doubling waits until the store answers', async () => {
  let calls = 0;
  const waits: number[] = [];
  let clockMs = 0;
  const result = await retryOnConnectionLoss(
    async () => {
      calls += 1;
      if (calls < 4) throw lost;
      return 'committed';
    },
    (_error, waitMs) => waits.push(waitMs),
    { firstWaitMs: 100, maxWaitMs: 300, giveUpAfterMs: 10_000 },
    async (ms) => {
      clockMs += ms;
    },
    () => clockMs,
  );
  assert.equal(result, 'committed');
  assert.deepEqual(waits, [100, 200, 300]);
});

test('other errors fail at once; a store gone for longer than the policy allows fails too', async () => {
  const constraint = Object.assign(new Error('duplicate key'), { code: '23505' });
  let calls = 0;
  await assert.rejects(
    retryOnConnectionLoss(
      async () => {
        calls += 1;
        throw constraint;
      },
      () => {},
    ),
    /duplicate key/,
  );
  assert.equal(calls, 1);
  let clockMs = 0;
  await assert.rejects(
    retryOnConnectionLoss(
      async () => {
        throw lost;
      },
      () => {},
      { firstWaitMs: 100, maxWaitMs: 1000, giveUpAfterMs: 1000 },
      async (ms) => {
        clockMs += ms;
      },
      () => clockMs,
    ),
    /ECONNREFUSED/,
  );
  assert.ok(clockMs < 1000);
});

test('what counts as a lost connection', () => {
  assert.equal(isConnectionLoss(lost), true);
  assert.equal(isConnectionLoss(Object.assign(new Error('terminating connection'), { code: '57P01' })), true);
  assert.equal(isConnectionLoss(new Error('Connection terminated unexpectedly')), true);
  assert.equal(isConnectionLoss(new Error('SqliteError: UNIQUE constraint failed')), false);
  assert.equal(isConnectionLoss('nope'), false);
});
