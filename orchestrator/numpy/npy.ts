/**
 * NumPy's `.npy` format, version 1.0 (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * the magic `\x93NUMPY`, version bytes, a little-endian uint16 header length, a Python-literal dict
 * `{'descr': ..., 'fortran_order': ..., 'shape': (...), }` padded with spaces to a multiple of 64 bytes and
 * ending in a newline, then the data in C order. No maintained npm package writes it without a tensor
 * framework attached, so these few lines do; test/prune-cli.test.ts checks them against numpy itself.
 * Pure: bytes in, arrays out and back.
 */

export type NpyDtype =
  | 'bool'
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float32'
  | 'float64';

const DESCR: Record<string, NpyDtype> = {
  '|b1': 'bool',
  '|u1': 'uint8',
  '|i1': 'int8',
  '<i2': 'int16',
  '<u2': 'uint16',
  '<i4': 'int32',
  '<u4': 'uint32',
  '<i8': 'int64',
  '<f4': 'float32',
  '<f8': 'float64',
};
const BYTES: Record<NpyDtype, number> = {
  bool: 1,
  uint8: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float32: 4,
  float64: 8,
};

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** The raw little-endian data, C order (an aligned copy). */
  readonly data: Uint8Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR_OF: Record<NpyDtype, string> = Object.fromEntries(
  Object.entries(DESCR).map(([descr, dtype]) => [dtype, descr]),
) as Record<NpyDtype, string>;

/** An array as `.npy` bytes: `data` is its raw little-endian content in C order. */
export function encodeNpy(array: NpyArray): Uint8Array {
  const count = array.shape.reduce((p, d) => p * d, 1);
  if (count * BYTES[array.dtype] !== array.data.length) {
    throw new RangeError(
      `shape [${array.shape.join(', ')}] of ${array.dtype} needs ${count * BYTES[array.dtype]} bytes, got ${array.data.length}`,
    );
  }
  const dims = array.shape.length === 1 ? `${array.shape[0]},` : array.shape.join(', ');
  let header = `{'descr': '${DESCR_OF[array.dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += `${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const out = new Uint8Array(MAGIC.length + 4 + header.length + array.data.length);
  out.set(MAGIC, 0);
  out[6] = 1; // version 1.0
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  out.set(new TextEncoder().encode(header), 10);
  out.set(array.data, 10 + header.length);
  return out;
}

/** A boolean array as `.npy` bytes (`|b1`, one byte per element: any nonzero value is written as 1). */
export function encodeBoolNpy(values: Uint8Array, shape: readonly number[]): Uint8Array {
  return encodeNpy({ dtype: 'bool', shape, data: values.map((v) => (v === 0 ? 0 : 1)) });
}

/** Why `bytes` is not an `.npy` array this reader takes; thrown as a RangeError with that reason. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new RangeError(
      `not a .npy array: expected the magic \\x93NUMPY, got ${bytes.length} bytes without it`,
    );
  }
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new RangeError(`not a .npy array: unreadable header ${JSON.stringify(header.slice(0, 120))}`);
  }
  const dtype = DESCR[descr];
  if (dtype === undefined) {
    throw new RangeError(
      `.npy dtype '${descr}' is not read here; expected one of ${Object.keys(DESCR).join(', ')} (little-endian)`,
    );
  }
  if (fortran === 'True') {
    throw new RangeError('.npy array is in Fortran order; save it in C order (np.ascontiguousarray)');
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const count = shape.reduce((p, d) => p * d, 1);
  const start = headerStart + headerLength;
  const size = count * BYTES[dtype];
  if (bytes.length - start !== size) {
    throw new RangeError(
      `.npy array of shape [${shape.join(', ')}] ${dtype} needs ${size} data bytes, the file has ${bytes.length - start} (truncated?)`,
    );
  }
  return { dtype, shape, data: bytes.slice(start, start + size) };
}

/** The array's values as numbers (float32 and integer dtypes; int64 beyond 2^53 loses precision). */
export function npyValues(array: NpyArray): Float64Array {
  const view = new DataView(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const size = BYTES[array.dtype];
  const count = array.data.length / size;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    switch (array.dtype) {
      case 'bool':
      case 'uint8':
        out[i] = view.getUint8(at);
        break;
      case 'int8':
        out[i] = view.getInt8(at);
        break;
      case 'int16':
        out[i] = view.getInt16(at, true);
        break;
      case 'uint16':
        out[i] = view.getUint16(at, true);
        break;
      case 'int32':
        out[i] = view.getInt32(at, true);
        break;
      case 'uint32':
        out[i] = view.getUint32(at, true);
        break;
      case 'int64':
        out[i] = Number(view.getBigInt64(at, true));
        break;
      case 'float32':
        out[i] = view.getFloat32(at, true);
        break;
      case 'float64':
        out[i] = view.getFloat64(at, true);
        break;
    }
  }
  return out;
}

/** float32 data as a Float32Array (copy-free: decodeNpy's data is an aligned copy). */
export function npyFloat32(array: NpyArray): Float32Array {
  if (array.dtype !== 'float32') throw new RangeError(`expected float32 data, got ${array.dtype}`);
  return new Float32Array(array.data.buffer, array.data.byteOffset, array.data.byteLength / 4);
}
