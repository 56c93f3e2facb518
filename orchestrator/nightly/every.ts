/**
 * `prunelab nightly --every CRON`: start a run at each tick of a cron schedule (croner), never two at once.
 * A tick that comes while a run is still going is skipped and reported, not queued: a night that overruns
 * must not make the next one start late and overlap the working day. Stops when `stop` aborts, after the
 * run in progress (which gets the same signal) has ended.
 */
import { Cron } from 'croner';
import { UsageError } from '../errors.ts';

export interface EveryOptions {
  readonly cron: string;
  readonly runOnce: () => Promise<void>;
  readonly stop: AbortSignal;
  /** A tick skipped because the previous run was still going. */
  readonly onSkip?: (at: Date) => void;
  readonly onError?: (error: unknown) => void;
}

export interface EveryResult {
  readonly runs: number;
  readonly skipped: number;
}

/** Parses the schedule (throws UsageError naming --every) without starting it. */
export function checkCron(cron: string, option = '--every'): Cron {
  try {
    return new Cron(cron, { paused: true });
  } catch (error) {
    throw new UsageError(
      `${option}: expected a cron expression (5 fields, or 6 with seconds first), e.g. "0 2 * * *" for 02:00 ` +
        `every night; got '${cron}' (${(error as Error).message})`,
      { option },
      { cause: error },
    );
  }
}

export async function runEvery(options: EveryOptions): Promise<EveryResult> {
  checkCron(options.cron).stop();
  let runs = 0;
  let skipped = 0;
  let current: Promise<void> | undefined;
  const job = new Cron(options.cron, () => {
    if (options.stop.aborted) return;
    if (current !== undefined) {
      skipped += 1;
      options.onSkip?.(new Date());
      return;
    }
    runs += 1;
    current = options
      .runOnce()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        current = undefined;
      });
  });
  await new Promise<void>((resolve) => {
    if (options.stop.aborted) resolve();
    else options.stop.addEventListener('abort', () => resolve(), { once: true });
  });
  job.stop();
  await current;
  return { runs, skipped };
}
