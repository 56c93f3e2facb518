/** Errors of `prunelab map`: bad options or goals (input), a failed verification or evaluation (failure). */
import { PrunelabError } from '../errors.ts';

/** A goal or option the LUT and model cannot satisfy; the message says what would. */
export class MapInputError extends PrunelabError<{
  readonly option?: string;
  readonly [key: string]: unknown;
}> {
  override readonly name = 'MapInputError';

  constructor(
    message: string,
    data: { readonly option?: string; readonly [key: string]: unknown },
    options: { cause?: unknown } = {},
  ) {
    super(message, data, { kind: 'input', ...options });
  }
}

/** `--verify-on`: the device could not run the mapped layers. */
export class VerifyError extends PrunelabError<{ readonly device: string; readonly [key: string]: unknown }> {
  override readonly name = 'VerifyError';
}

/** `--evaluate`: the command failed or did not print {"accuracy": number}. */
export class EvaluateError extends PrunelabError<{
  readonly command: string;
  readonly [key: string]: unknown;
}> {
  override readonly name = 'EvaluateError';
}
