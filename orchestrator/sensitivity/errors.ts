/** Errors of `prunelab sensitivity`: flags, LUTs and caches it cannot use (input, exit 2). */
import { PrunelabError } from '../errors.ts';

export class SensitivityInputError extends PrunelabError<{ readonly file: string; readonly option: string }> {
  override readonly name = 'SensitivityInputError';

  constructor(
    message: string,
    data: { readonly file: string; readonly option: string },
    options: { cause?: unknown } = {},
  ) {
    super(message, data, { kind: 'input', ...options });
  }
}
