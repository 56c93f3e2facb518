/** Errors of `prunelab prune` (and of applying a mapping's masks in `prunelab evaluate`): all input errors. */
import { PrunelabError } from '../errors.ts';

export interface PruneErrorData {
  /** The file the problem is in (model, mapping, output). */
  readonly file: string;
  /** The ONNX node or mapping layer, when there is one. */
  readonly node?: string;
  readonly option?: string;
}

/** The model and the mapping do not fit together, or one of them cannot be used: the user fixes the input. */
export class PruneInputError extends PrunelabError<PruneErrorData> {
  override readonly name = 'PruneInputError';

  constructor(message: string, data: PruneErrorData, options: { cause?: unknown } = {}) {
    super(message, data, { kind: 'input', ...options });
  }
}
