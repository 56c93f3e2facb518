/** Errors of model loading (built-in names and ONNX files). All are input errors: the user gave the file. */
import { PrunelabError } from '../errors.ts';

export interface OnnxErrorData {
  readonly source: string;
  /** The node (or initializer) the problem is in, when there is one. */
  readonly node?: string;
  readonly opType?: string;
}

/** The file is not a readable ONNX model, or a node in it cannot be turned into a layer. */
export class OnnxModelError extends PrunelabError<OnnxErrorData> {
  override readonly name = 'OnnxModelError';

  constructor(message: string, data: OnnxErrorData, options: { cause?: unknown } = {}) {
    super(message, data, { kind: 'input', ...options });
  }
}

/** `--model` names neither a built-in table nor a readable file. */
export class ModelNotFoundError extends PrunelabError<{
  readonly model: string;
  readonly known: readonly string[];
}> {
  override readonly name = 'ModelNotFoundError';

  constructor(model: string, known: readonly string[], options: { cause?: unknown } = {}) {
    super(
      `--model: expected a built-in model (${known.join(', ')}) or a path to a .onnx file; got ${JSON.stringify(model)}` +
        ', which is neither (check the spelling or the path).',
      { model, known },
      { kind: 'input', ...options },
    );
  }
}
