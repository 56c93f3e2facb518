/**
 * A FIFO of bytes that arrive in arbitrary pieces. Both the transport (packets split across TCP reads) and
 * the sync service (one sync frame split across many WRTE packets) parse from one of these: a frame is
 * consumed only when all of its bytes are there.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private headOffset = 0;
  private queuedBytes = 0;

  get length(): number {
    return this.queuedBytes;
  }

  push(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.chunks.push(bytes);
    this.queuedBytes += bytes.byteLength;
  }

  /** Removes and returns the first `count` bytes. Throws when fewer are queued: check `length` first. */
  take(count: number): Uint8Array {
    if (count > this.queuedBytes)
      throw new RangeError(`take(${count}) with only ${this.queuedBytes} bytes queued`);
    const first = this.chunks[0];
    // Fast path: the bytes sit inside one chunk, so a view avoids a copy.
    if (first !== undefined && first.byteLength - this.headOffset >= count) {
      const view = first.subarray(this.headOffset, this.headOffset + count);
      this.advance(count);
      return view;
    }
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0];
      if (chunk === undefined) break;
      const piece = chunk.subarray(
        this.headOffset,
        this.headOffset + Math.min(count - filled, chunk.byteLength - this.headOffset),
      );
      out.set(piece, filled);
      filled += piece.byteLength;
      this.advance(piece.byteLength);
    }
    return out;
  }

  /** Removes and returns everything queued. */
  takeAll(): Uint8Array {
    return this.take(this.queuedBytes);
  }

  private advance(count: number): void {
    this.queuedBytes -= count;
    this.headOffset += count;
    const first = this.chunks[0];
    if (first !== undefined && this.headOffset >= first.byteLength) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
