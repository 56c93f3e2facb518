/**
 * The one place that turns a thrown error into output and an exit code (changesets' habit: commands throw,
 * the entry point reports). 2 = the input was wrong (flags, config, a database this version cannot read);
 * 1 = the work failed.
 */
import { PhoneOptionError, VirtualPhoneError } from '../../device-agent/virtual/errors.ts';
import { PrunelabError } from '../errors.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;
/** The lab is in trouble (prunelab nightly): devices missing, too many failures, an unfit phone. */
export const EXIT_LAB_TROUBLE = 3;

export interface ReportedError {
  readonly exitCode: number;
  /** What a person reads on stderr. */
  readonly text: string;
  /** What `--json` prints on stdout. */
  readonly json: {
    readonly error: { readonly name: string; readonly message: string; readonly data?: unknown };
  };
}

/** yargs' own validation errors (unknown option, missing argument, bad choice) are usage errors. */
function isYargsError(error: unknown): boolean {
  return error instanceof Error && error.name === 'YError';
}

interface Classified {
  readonly exitCode: number;
  readonly data?: unknown;
}

/**
 * The exit code and data of an error some layer named, or undefined for one nobody named (a bug). Each
 * base class is recognised here: PrunelabError (by its kind) and the virtual phone's,
 * whose option errors are bad input like a bad flag.
 */
function classify(error: unknown): Classified | undefined {
  // Every error of config/, cost-model/ and orchestrator/ extends PrunelabError (config/errors.ts).
  if (error instanceof PrunelabError) {
    const exitCode =
      error.kind === 'input' ? EXIT_BAD_INPUT : error.kind === 'lab' ? EXIT_LAB_TROUBLE : EXIT_FAILURE;
    return { exitCode, data: error.data };
  }
  if (error instanceof PhoneOptionError) return { exitCode: EXIT_BAD_INPUT, data: error.data };
  if (error instanceof VirtualPhoneError) return { exitCode: EXIT_FAILURE, data: error.data };
  if (isYargsError(error)) return { exitCode: EXIT_BAD_INPUT };
  return undefined;
}

export function describeError(error: unknown, options: { readonly debug?: boolean } = {}): ReportedError {
  const asError = error instanceof Error ? error : new Error(String(error));
  const classified = classify(error);
  const exitCode = classified?.exitCode ?? EXIT_FAILURE;
  const data = classified?.data;
  const known = classified !== undefined;
  let text = `prunelab: ${asError.message}`;
  if (!known || options.debug === true) {
    // An error we did not name is a bug: show where it came from.
    text = `prunelab: unexpected ${asError.name}: ${asError.message}\n${asError.stack ?? ''}`;
  }
  if (options.debug === true && asError.cause !== undefined) text += `\ncaused by: ${String(asError.cause)}`;
  return {
    exitCode,
    text,
    json: {
      error: { name: asError.name, message: asError.message, ...(data === undefined ? {} : { data }) },
    },
  };
}
