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
