/** Errors of `prunelab evaluate`: data or models that cannot be evaluated (input, exit 2). */
import { PrunelabError } from '../errors.ts';

export class EvaluateInputError extends PrunelabError<{ readonly file: string; readonly option?: string }> {
  override readonly name = 'EvaluateInputError';

  constructor(
    message: string,
    data: { readonly file: string; readonly option?: string },
    options: { cause?: unknown } = {},
  ) {
    super(message, data, { kind: 'input', ...options });
  }
}
