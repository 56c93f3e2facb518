/**
 * Waits `ms`, or less when `signal` aborts: it resolves either way and never rejects, so a poll loop can
 * check the signal itself. The abort listener goes when the timer fires: a long thermal wait or a
 * reconnect loop polls many times on one signal, and listeners left behind would pile up on it.
 */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const onAbort = () => {
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits for `work` to settle, at most `ms`, or less when `signal` aborts; never rejects. Both the timer
 * and the abort listener go as soon as one of the three happens (a left-over listener per call piles up
 * on a signal that a reconnect loop shares: Node warns past 10 of them).
 */
export function settleWithin(work: Promise<unknown>, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const finish = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    };
    const timer = setTimeout(finish, ms);
    if (signal?.aborted) finish();
    else signal?.addEventListener('abort', finish, { once: true });
    work.then(finish, finish);
  });
}
