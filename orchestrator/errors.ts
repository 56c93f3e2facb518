/**
 * The base of every orchestrator error. Each area has its own errors.ts with named subclasses; this base
 * only fixes the shape the CLI's single top-level handler relies on: a name, the data that explains the
 * failure, the original error as `cause`, and whether the user can fix it by changing their input
 * (exit code 2) or something failed while doing the work (exit code 1), or the device lab itself is in
 * trouble (devices missing, too many failures, a phone too hot or too noisy to trust: exit code 3).
 */
export type ErrorKind = 'input' | 'failure' | 'lab';

export class PrunelabError<Data extends object = Record<string, unknown>> extends Error {
  override readonly name: string = 'PrunelabError';
  readonly data: Data;
  readonly kind: ErrorKind;

  constructor(message: string, data: Data, options: { kind?: ErrorKind; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.data = data;
    this.kind = options.kind ?? 'failure';
  }
}

/** Bad input given on the command line (flags, paths): exit code 2. */
export class UsageError extends PrunelabError<{ readonly option?: string }> {
  override readonly name = 'UsageError';

  constructor(message: string, data: { readonly option?: string } = {}, options: { cause?: unknown } = {}) {
    super(message, data, { kind: 'input', ...options });
  }
}

/** `error.message` for anything thrown, including non-Error values. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
