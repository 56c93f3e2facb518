/**
 * Errors shared by the whole orchestrator. The base, PrunelabError (name, data, kind, cause), is declared
 * once in config/errors.ts, the lowest layer, so that config/, cost-model/ and orchestrator/ errors all
 * extend it; it is re-exported here for the orchestrator's areas.
 */
import { PrunelabError } from '../config/errors.ts';

export { type ErrorKind, PrunelabError } from '../config/errors.ts';

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
