/**
 * Where each top-level initializer's float values sit in the ONNX file's bytes, so `prunelab prune` can zero
 * masked weights in place and leave every other byte of the model as it was (a decode and re-encode would
 * reorder fields, drop unknown ones and change varint widths). A walk over the protobuf wire format
 * (https://protobuf.dev/programming-guides/encoding/) of ModelProto.graph (field 7) -> GraphProto.initializer
 * (field 5) -> TensorProto name (8), data_type (2), float_data (4, packed or not), raw_data (9),
 * data_location (14), per onnx/onnx.proto. Pure: bytes in, offsets out; bytes and masks in, new bytes out.
 */

/** A run of `count` little-endian fp32 values starting at byte `offset` of the file. */
export interface FloatRun {
  readonly offset: number;
  readonly count: number;
}

export interface LocatedInitializer {
  readonly name: string;
  readonly dataType: number;
  /** 1 = EXTERNAL (the values live in another file). */
  readonly dataLocation: number;
  /** The values in order, as runs: one for raw_data or packed float_data, one per value when unpacked. */
  readonly runs: readonly FloatRun[];
}

interface Cursor {
  pos: number;
}

function varint(bytes: Uint8Array, at: Cursor): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = bytes[at.pos++];
    if (b === undefined) throw new RangeError('truncated varint');
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return value;
    scale *= 128;
  }
  throw new RangeError('varint longer than 10 bytes');
}

interface Field {
  readonly field: number;
  readonly wire: number;
  /** Payload start (after the length for wire type 2) and end. */
  readonly start: number;
  readonly end: number;
  /** The value of a varint field. */
  readonly value: number;
}

/** The fields of one message spanning [start, end). */
function fields(bytes: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  const at = { pos: start };
  while (at.pos < end) {
    const tag = varint(bytes, at);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    const from = at.pos;
    if (wire === 0) {
      const value = varint(bytes, at);
      out.push({ field, wire, start: from, end: at.pos, value });
    } else if (wire === 1) {
      at.pos += 8;
      out.push({ field, wire, start: from, end: at.pos, value: 0 });
    } else if (wire === 2) {
      const length = varint(bytes, at);
      const payload = at.pos;
      at.pos += length;
      out.push({ field, wire, start: payload, end: at.pos, value: length });
    } else if (wire === 5) {
      at.pos += 4;
      out.push({ field, wire, start: from, end: at.pos, value: 0 });
    } else {
      throw new RangeError(
        `wire type ${wire} (field ${field}) at byte ${from}: not a protobuf this reader walks`,
      );
    }
    if (at.pos > end)
      throw new RangeError(`field ${field} at byte ${from} runs past its message (truncated file?)`);
  }
  return out;
}

function tensorOf(bytes: Uint8Array, start: number, end: number): LocatedInitializer {
  let name = '';
  let dataType = 0;
  let dataLocation = 0;
  const runs: FloatRun[] = [];
  for (const f of fields(bytes, start, end)) {
    if (f.field === 8 && f.wire === 2) name = new TextDecoder().decode(bytes.subarray(f.start, f.end));
    else if (f.field === 2 && f.wire === 0) dataType = f.value;
    else if (f.field === 14 && f.wire === 0) dataLocation = f.value;
    else if ((f.field === 9 || f.field === 4) && f.wire === 2)
      runs.push({ offset: f.start, count: (f.end - f.start) / 4 });
    else if (f.field === 4 && f.wire === 5) runs.push({ offset: f.start, count: 1 });
  }
  return { name, dataType, dataLocation, runs };
}

/** Every top-level initializer of an ONNX ModelProto, by name. */
export function locateInitializers(bytes: Uint8Array): Map<string, LocatedInitializer> {
  const out = new Map<string, LocatedInitializer>();
  for (const g of fields(bytes, 0, bytes.length)) {
    if (g.field !== 7 || g.wire !== 2) continue;
    for (const t of fields(bytes, g.start, g.end)) {
      if (t.field !== 5 || t.wire !== 2) continue;
      const tensor = tensorOf(bytes, t.start, t.end);
      out.set(tensor.name, tensor);
    }
  }
  return out;
}

/**
 * A copy of `bytes` where the values of `initializer` whose `keep` byte is 0 are +0.0 (in the initializer's
 * own element order). Every other byte is unchanged; the length is the same.
 */
export function zeroMasked(
  bytes: Uint8Array,
  initializer: LocatedInitializer,
  keep: Uint8Array,
  into: Uint8Array = bytes.slice(),
): Uint8Array {
  const total = initializer.runs.reduce((sum, r) => sum + r.count, 0);
  if (total !== keep.length) {
    throw new RangeError(`initializer '${initializer.name}' holds ${total} values, the mask ${keep.length}`);
  }
  let i = 0;
  for (const run of initializer.runs)
    for (let j = 0; j < run.count; j++, i++)
      if (keep[i] === 0) into.fill(0, run.offset + 4 * j, run.offset + 4 * j + 4);
  return into;
}
