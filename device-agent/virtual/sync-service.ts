/**
 * The `sync:` service, v1 (AOSP adb/SYNC.TXT, file_sync_protocol.h): STAT, LIST, SEND, RECV, QUIT.
 * The host's bytes are a stream, not a sequence of messages: one DATA chunk may arrive split across many
 * WRTE packets (and one WRTE may carry several requests), so everything is parsed from a byte queue.
 */
import { ByteQueue, concatBytes } from './byte-queue.ts';
import { DeviceFileError } from './errors.ts';
import type { DeviceFiles, DeviceFileWriter, StreamEnd, StreamService } from './ports.ts';
import {
  encodeSyncData,
  encodeSyncDent,
  encodeSyncFail,
  encodeSyncStat,
  fourCcName,
  SYNC_DATA_MAX_BYTES,
  SYNC_LIST_DONE,
  SYNC_MAX_PATH_BYTES,
  SYNC_RECV_DONE,
  SYNC_REQUEST_BYTES,
  SYNC_SEND_OKAY,
  SyncId,
} from './wire.ts';

type SyncState =
  | { readonly kind: 'request' }
  | { readonly kind: 'path'; readonly id: number; readonly pathBytes: number }
  /** Inside a SEND: the next DATA or DONE frame header. `writer` is undefined once the send has failed:
   * adbd then reads and drops the rest of the file until DONE, so the host does not block writing it. */
  | { readonly kind: 'send-frame'; readonly writer: DeviceFileWriter | undefined }
  | { readonly kind: 'send-data'; readonly writer: DeviceFileWriter | undefined; readonly dataBytes: number }
  | { readonly kind: 'ended' };

const decoder = new TextDecoder();

export class SyncService implements StreamService {
  private readonly incoming = new ByteQueue();
  private state: SyncState = { kind: 'request' };

  constructor(
    private readonly stream: StreamEnd,
    private readonly files: DeviceFiles,
  ) {}

  async receive(bytes: Uint8Array): Promise<void> {
    this.incoming.push(bytes);
    while (await this.step()) {
      // each step consumed one frame
    }
  }

  hostClosed(): void {
    const state = this.state;
    this.state = { kind: 'ended' };
    if ((state.kind === 'send-frame' || state.kind === 'send-data') && state.writer !== undefined) {
      void state.writer.abort().catch(() => undefined);
    }
  }

  /** Handles one frame if all its bytes are there; false when more bytes are needed (or the service ended). */
  private async step(): Promise<boolean> {
    const state = this.state;
    switch (state.kind) {
      case 'ended':
        this.incoming.takeAll();
        return false;
      case 'request': {
        if (this.incoming.length < SYNC_REQUEST_BYTES) return false;
        const [id, length] = readWords(this.incoming.take(SYNC_REQUEST_BYTES));
        if (id === SyncId.Quit) return this.end();
        if (id !== SyncId.Stat && id !== SyncId.List && id !== SyncId.Send && id !== SyncId.Recv) {
          return this.fail(`unknown sync command ${JSON.stringify(fourCcName(id))}`);
        }
        if (length > SYNC_MAX_PATH_BYTES)
          return this.fail(`path too long: ${length} bytes, at most ${SYNC_MAX_PATH_BYTES}`);
        this.state = { kind: 'path', id, pathBytes: length };
        return true;
      }
      case 'path': {
        if (this.incoming.length < state.pathBytes) return false;
        const path = decoder.decode(this.incoming.take(state.pathBytes));
        this.state = { kind: 'request' };
        await this.serve(state.id, path);
        return !this.ended();
      }
      case 'send-frame': {
        if (this.incoming.length < SYNC_REQUEST_BYTES) return false;
        const [id, value] = readWords(this.incoming.take(SYNC_REQUEST_BYTES));
        if (id === SyncId.Data) {
          if (value > SYNC_DATA_MAX_BYTES) {
            await state.writer?.abort();
            return this.fail(`DATA chunk of ${value} bytes exceeds ${SYNC_DATA_MAX_BYTES}`);
          }
          this.state = { kind: 'send-data', writer: state.writer, dataBytes: value };
          return true;
        }
        if (id !== SyncId.Done) {
          await state.writer?.abort();
          return this.fail(`expected DATA or DONE in a SEND, got ${JSON.stringify(fourCcName(id))}`);
        }
        // DONE carries the file's modification time.
        if (state.writer === undefined) return this.end(); // the FAIL went out already
        try {
          await state.writer.finish(value);
        } catch (error) {
          return this.fail(failMessage(error));
        }
        this.state = { kind: 'request' };
        await this.stream.write(SYNC_SEND_OKAY);
        return true;
      }
      case 'send-data': {
        if (this.incoming.length < state.dataBytes) return false;
        const chunk = this.incoming.take(state.dataBytes);
        this.state = { kind: 'send-frame', writer: state.writer };
        if (state.writer === undefined) return true;
        try {
          await state.writer.write(chunk);
        } catch (error) {
          await state.writer.abort().catch(() => undefined);
          await this.stream.write(encodeSyncFail(failMessage(error)));
          this.state = { kind: 'send-frame', writer: undefined };
        }
        return true;
      }
    }
  }

  private async serve(id: number, path: string): Promise<void> {
    switch (id) {
      case SyncId.Stat: {
        const stat = await this.files.stat(path).catch(() => undefined);
        await this.stream.write(encodeSyncStat(stat ?? { mode: 0, sizeBytes: 0, mtimeS: 0 }));
        return;
      }
      case SyncId.List: {
        const entries = await this.files.list(path).catch(() => []);
        // All entries and the closing DONE in one write, so they leave in as few WRTEs as possible.
        await this.stream.write(
          concatBytes([...entries.map((entry) => encodeSyncDent(entry.name, entry)), SYNC_LIST_DONE]),
        );
        return;
      }
      case SyncId.Recv:
        return this.sendFile(path);
      case SyncId.Send:
        return this.startReceivingFile(path);
    }
  }

  private async sendFile(path: string): Promise<void> {
    // One chunk of read-ahead: the last DATA and the DONE then go out in one write.
    let previous: Uint8Array | undefined;
    try {
      for await (const chunk of this.files.read(path, SYNC_DATA_MAX_BYTES)) {
        if (this.ended()) return;
        if (previous !== undefined) await this.stream.write(encodeSyncData(previous));
        previous = chunk;
      }
    } catch (error) {
      // adbd ends the sync session after a failed RECV.
      await this.stream.write(encodeSyncFail(failMessage(error)));
      this.end();
      return;
    }
    await this.stream.write(
      previous === undefined ? SYNC_RECV_DONE : concatBytes([encodeSyncData(previous), SYNC_RECV_DONE]),
    );
  }

  private async startReceivingFile(pathAndMode: string): Promise<void> {
    // "The remote file name is split into two parts separated by the last comma": path, then decimal mode.
    const comma = pathAndMode.lastIndexOf(',');
    const path = comma < 0 ? pathAndMode : pathAndMode.slice(0, comma);
    const mode = comma < 0 ? Number.NaN : parseCMode(pathAndMode.slice(comma + 1));
    if (!Number.isFinite(mode)) {
      // adbd: "missing , in ID_SEND_V1" / "bad mode"; the file's bytes are dropped until DONE.
      await this.stream.write(encodeSyncFail(comma < 0 ? 'missing , in ID_SEND_V1' : 'bad mode'));
      this.state = { kind: 'send-frame', writer: undefined };
      return;
    }
    const permissions = mode & 0o777;
    try {
      const writer = await this.files.create(path, permissions);
      this.state = { kind: 'send-frame', writer };
    } catch (error) {
      // FAIL at once, then drop the file's bytes until DONE (adbd's handle_send_file does the same).
      await this.stream.write(encodeSyncFail(failMessage(error)));
      this.state = { kind: 'send-frame', writer: undefined };
    }
  }

  private async fail(message: string): Promise<boolean> {
    await this.stream.write(encodeSyncFail(message));
    return this.end();
  }

  /** Read through a method: `state` changes across awaits, which narrowing cannot see. */
  private ended(): boolean {
    return this.state.kind === 'ended';
  }

  private end(): false {
    this.state = { kind: 'ended' };
    this.stream.close();
    return false;
  }
}

/** strtoul(text, nullptr, 0), as adbd reads the mode: 0x.. hex, 0.. octal, else decimal (adbkit sends decimal). */
function parseCMode(text: string): number {
  const trimmed = text.trim();
  if (/^0x[0-9a-f]+$/i.test(trimmed)) return Number.parseInt(trimmed.slice(2), 16);
  if (/^0[0-7]*$/.test(trimmed)) return Number.parseInt(trimmed, 8);
  if (/^[1-9][0-9]*$/.test(trimmed)) return Number.parseInt(trimmed, 10);
  return Number.NaN;
}

function readWords(bytes: Uint8Array): [number, number] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [view.getUint32(0, true), view.getUint32(4, true)];
}

function failMessage(error: unknown): string {
  if (error instanceof DeviceFileError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
