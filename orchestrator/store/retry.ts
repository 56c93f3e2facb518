/**
 * Riding out a store that went away for a while (a PostgreSQL server restarting, a network cut between a lab
 * host and the database): a commit that failed because the connection was lost is tried again with growing
 * waits, so the results the agent already returned are kept rather than dropped. Anything else (a constraint,
 * a bug) fails at once. A retried commit is safe: a task that was in fact committed before the connection
 * broke is found done and not stored twice (commitMeasurement, and UNIQUE(measurements.task_id)).
 */
import { setTimeout as sleepFor } from 'node:timers/promises';

export interface StoreRetryPolicy {
  readonly firstWaitMs: number;
  readonly maxWaitMs: number;
  /** Give up (and let the error through) once this much time has gone by since the first failure. */
  readonly giveUpAfterMs: number;
}

/** 0.25 s doubling to 8 s between tries, for up to 5 minutes: a server restart fits, a dead server does not. */
export const STORE_RETRY: StoreRetryPolicy = { firstWaitMs: 250, maxWaitMs: 8_000, giveUpAfterMs: 300_000 };

// Node's socket errors, and PostgreSQL's connection-exception class 08 and operator-intervention shutdowns
// (https://www.postgresql.org/docs/15/errcodes-appendix.html).
const LOSS_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);
// What node-postgres says when the socket ends under a query or a pool cannot connect in time.
const LOSS_MESSAGES =
  /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i;

export function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && LOSS_CODES.has(code)) return true;
  return error instanceof Error && LOSS_MESSAGES.test(error.message);
}

/** Runs `work`; while it fails with a lost connection, waits and tries again (see STORE_RETRY). */
export async function retryOnConnectionLoss<T>(
  work: () => Promise<T>,
  onRetry: (error: unknown, waitMs: number) => void,
  policy: StoreRetryPolicy = STORE_RETRY,
  sleep: (ms: number) => Promise<unknown> = (ms) => sleepFor(ms),
  nowMs: () => number = () => performance.now(),
): Promise<T> {
  let waitMs = policy.firstWaitMs;
  let firstFailureMs: number | undefined;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      firstFailureMs ??= nowMs();
      if (nowMs() - firstFailureMs + waitMs > policy.giveUpAfterMs) throw error;
      onRetry(error, waitMs);
      await sleep(waitMs);
      waitMs = Math.min(waitMs * 2, policy.maxWaitMs);
    }
  }
}
