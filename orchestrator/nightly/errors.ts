/** Errors of nightly runs. Each carries the night's ids so a script can find the stored summary. */
import { PrunelabError } from '../errors.ts';

export interface NightlyErrorData {
  readonly nightlyRunId: string;
  readonly dbPath: string;
}

/** A confirmed regression (exit code 1): the summary printed before it says which case, phone and build. */
export class NightlyRegressionError extends PrunelabError<
  NightlyErrorData & { readonly regressions: number }
> {
  override readonly name = 'NightlyRegressionError';
}

/** The lab could not be trusted tonight (exit code 3): devices missing, failures, a hot or noisy phone. */
export class LabTroubleError extends PrunelabError<
  NightlyErrorData & { readonly troubles: readonly string[] }
> {
  override readonly name = 'LabTroubleError';

  constructor(message: string, data: NightlyErrorData & { readonly troubles: readonly string[] }) {
    super(message, data, { kind: 'lab' });
  }
}

/** Another nightly run holds the lock next to the database. */
export class NightlyLockedError extends PrunelabError<{ readonly lockPath: string; readonly pid: number }> {
  override readonly name = 'NightlyLockedError';
}
