/**
 * The evaluation data set: `.npz` with `inputs` (float32, [N, ...the model input without its batch
 * dimension], e.g. NCHW [N, 3, 32, 32], the model's own preprocessing already applied) and optional `labels`
 * (integers, [N], class indices), or a `.npy` holding only the inputs. Parse and checks are pure; reading is
 * the one I/O function.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { decodeNpy, type NpyArray, npyFloat32, npyValues } from '../numpy/npy.ts';
import { decodeNpz } from '../numpy/npz.ts';
import { EvaluateInputError } from './errors.ts';

export interface EvalData {
  readonly file: string;
  /** N samples, C order. */
  readonly inputs: Float32Array;
  readonly count: number;
  /** One sample's dims (the inputs' shape without N). */
  readonly sampleDims: readonly number[];
  readonly labels: Int32Array | null;
}

const INTEGER = new Set(['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64']);

const LAYOUT =
  'Expected a .npz with `inputs` (float32 [N, ...model input dims], e.g. np.savez("data.npz", inputs=x.astype(np.float32), labels=y)) ' +
  'and optional `labels` (integer class indices [N]), or a .npy of the inputs alone.';

function fail(file: string, message: string, cause?: unknown): never {
  throw new EvaluateInputError(
    `--data ${file}: ${message}`,
    { file, option: '--data' },
    cause === undefined ? {} : { cause },
  );
}

function inputsOf(
  array: NpyArray,
  file: string,
): { inputs: Float32Array; count: number; sampleDims: number[] } {
  if (array.dtype !== 'float32')
    fail(file, `inputs are ${array.dtype}; expected float32 (x.astype(np.float32)). ${LAYOUT}`);
  const [count, ...sampleDims] = array.shape;
  if (count === undefined || sampleDims.length === 0) {
    fail(
      file,
      `inputs have shape [${array.shape.join(', ')}]; expected [N, ...one sample's dims]. ${LAYOUT}`,
    );
  }
  if (count === 0) fail(file, 'inputs hold 0 samples: nothing to evaluate');
  return { inputs: npyFloat32(array), count, sampleDims };
}

function labelsOf(array: NpyArray | undefined, count: number, file: string): Int32Array | null {
  if (array === undefined) return null;
  if (!INTEGER.has(array.dtype)) fail(file, `labels are ${array.dtype}; expected integer class indices`);
  if (array.shape.length !== 1 || array.shape[0] !== count) {
    fail(file, `labels have shape [${array.shape.join(', ')}]; expected [${count}], one per input`);
  }
  const values = npyValues(array);
  const labels = new Int32Array(values.length);
  values.forEach((v, i) => {
    if (v < 0 || !Number.isSafeInteger(v) || v > 2 ** 31 - 1)
      fail(file, `labels[${i}] = ${v} is not a class index`);
    labels[i] = v;
  });
  return labels;
}

/** Pure: the bytes of a .npz or .npy file -> the data set, or an EvaluateInputError naming the problem. */
export function parseEvalData(bytes: Uint8Array, file: string): EvalData {
  if (bytes.length === 0) fail(file, `the file is empty. ${LAYOUT}`);
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b; // "PK"
  if (!isZip) {
    let array: NpyArray;
    try {
      array = decodeNpy(bytes);
    } catch (error) {
      return fail(file, `${(error as Error).message}. ${LAYOUT}`, error);
    }
    return { file, ...inputsOf(array, file), labels: null };
  }
  let arrays: Map<string, NpyArray>;
  try {
    arrays = decodeNpz(bytes);
  } catch (error) {
    return fail(file, `${(error as Error).message}. ${LAYOUT}`, error);
  }
  const inputs = arrays.get('inputs');
  if (inputs === undefined)
    fail(file, `no \`inputs\` array (found: ${[...arrays.keys()].join(', ') || 'none'}). ${LAYOUT}`);
  const parsed = inputsOf(inputs, file);
  return { file, ...parsed, labels: labelsOf(arrays.get('labels'), parsed.count, file) };
}

export async function readEvalData(file: string): Promise<EvalData> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    return fail(file, `cannot read ${resolve(file)} (${(error as Error).message})`, error);
  }
  return parseEvalData(bytes, file);
}

/** The data's sample dims against the model input's (symbolic dims, the batch among them, match anything). */
export function checkInputShape(
  data: EvalData,
  modelShape: readonly (number | string)[],
  modelFile: string,
  inputName: string,
): void {
  const want = modelShape.slice(1);
  const fits =
    modelShape.length === 0 ||
    (want.length === data.sampleDims.length &&
      want.every((d, i) => typeof d !== 'number' || d === data.sampleDims[i]));
  if (!fits) {
    fail(
      data.file,
      `inputs are [N, ${data.sampleDims.join(', ')}], but input '${inputName}' of ${modelFile} is ` +
        `[${modelShape.join(', ')}]; give samples of the model's input shape (NCHW, preprocessed as the model expects)`,
    );
  }
}

export function checkLabels(data: EvalData, classes: number, modelFile: string): void {
  if (data.labels === null) return;
  const bad = data.labels.findIndex((l) => l >= classes);
  if (bad >= 0) {
    fail(
      data.file,
      `labels[${bad}] = ${data.labels[bad]} is out of range: ${modelFile} has ${classes} classes (labels must be 0..${classes - 1})`,
    );
  }
}
