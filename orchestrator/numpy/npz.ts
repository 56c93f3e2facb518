/**
 * NumPy's `.npz`: a zip archive of `.npy` files, one per array, the key being the file name without `.npy`
 * (what `np.savez` writes and `np.load` reads). The zip is fflate's (stored, or deflated as
 * `np.savez_compressed` writes it). Pure: arrays in, bytes out and back.
 */
import { unzipSync, zipSync } from 'fflate';
import { decodeNpy, encodeBoolNpy, encodeNpy, type NpyArray } from './npy.ts';

export interface BoolArray {
  readonly values: Uint8Array;
  readonly shape: readonly number[];
}

/** Boolean arrays by key into `.npz` bytes (stored, no compression: masks of a large model stay quick). */
export function encodeBoolNpz(arrays: ReadonlyMap<string, BoolArray>): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [key, array] of arrays) files[`${key}.npy`] = encodeBoolNpy(array.values, array.shape);
  // A fixed mtime: the same masks give the same bytes.
  return zipSync(files, { level: 0, mtime: new Date('2000-01-01T00:00:00Z') });
}

/** Any arrays by key into `.npz` bytes (stored). */
export function encodeNpz(arrays: ReadonlyMap<string, NpyArray>): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [key, array] of arrays) files[`${key}.npy`] = encodeNpy(array);
  return zipSync(files, { level: 0, mtime: new Date('2000-01-01T00:00:00Z') });
}

/** The arrays of `.npz` bytes by key; a RangeError naming the member when one is not an array. */
export function decodeNpz(bytes: Uint8Array): Map<string, NpyArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    throw new RangeError(`not a .npz (zip) archive: ${(error as Error).message}`, { cause: error });
  }
  const out = new Map<string, NpyArray>();
  for (const [name, data] of Object.entries(files)) {
    if (!name.endsWith('.npy')) continue;
    try {
      out.set(name.slice(0, -'.npy'.length), decodeNpy(data));
    } catch (error) {
      throw new RangeError(`member ${name}: ${(error as Error).message}`, { cause: error });
    }
  }
  return out;
}
