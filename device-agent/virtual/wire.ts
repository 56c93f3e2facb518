/**
 * ADB wire formats, declared once as data: the transport packet (AOSP adb/protocol.txt) and the sync
 * service's requests and responses (adb/SYNC.TXT, adb/file_sync_protocol.h), at tag platform-tools-29.0.6,
 * the version Debian's `adb` server speaks. Everything on the wire is little-endian.
 */

/** Four ASCII characters read as a little-endian u32, the way adb spells every command and sync id. */
export function fourCc(name: string): number {
  if (name.length !== 4) throw new RangeError(`a four-character id, got '${name}'`);
  return (
    (name.charCodeAt(0) |
      (name.charCodeAt(1) << 8) |
      (name.charCodeAt(2) << 16) |
      (name.charCodeAt(3) << 24)) >>>
    0
  );
}

export function fourCcName(id: number): string {
  return String.fromCharCode(id & 0xff, (id >>> 8) & 0xff, (id >>> 16) & 0xff, (id >>> 24) & 0xff);
}

/** Transport commands (protocol.txt). AUTH and STLS are never sent: the phone answers CNXN with CNXN. */
export const AdbCommand = {
  Connect: fourCc('CNXN'),
  Auth: fourCc('AUTH'),
  Open: fourCc('OPEN'),
  Okay: fourCc('OKAY'),
  Close: fourCc('CLSE'),
  Write: fourCc('WRTE'),
  StartTls: fourCc('STLS'),
} as const;

/**
 * 0x01000001 is A_VERSION_SKIP_CHECKSUM: at this version neither side computes nor checks `dataCheck`.
 * 0x01000000 works too but needs real checksums and 4 KiB payloads (the prototype saw ~35 MiB/s).
 */
export const ADB_VERSION_SKIP_CHECKSUM = 0x01000001;

/** The 24-byte header, six u32 fields in this order. `magic` is `command ^ 0xffffffff`. */
export const PACKET_HEADER_FIELDS = ['command', 'arg0', 'arg1', 'dataLength', 'dataCheck', 'magic'] as const;
export const PACKET_HEADER_BYTES = PACKET_HEADER_FIELDS.length * 4;

export type PacketHeader = Record<(typeof PACKET_HEADER_FIELDS)[number], number>;

export interface AdbPacket {
  readonly command: number;
  readonly arg0: number;
  readonly arg1: number;
  readonly payload: Uint8Array;
}

export function encodePacket(packet: AdbPacket): Uint8Array {
  const header: PacketHeader = {
    command: packet.command,
    arg0: packet.arg0,
    arg1: packet.arg1,
    dataLength: packet.payload.byteLength,
    // Skipped at ADB_VERSION_SKIP_CHECKSUM: adbd sends 0 too.
    dataCheck: 0,
    magic: (packet.command ^ 0xffffffff) >>> 0,
  };
  const bytes = new Uint8Array(PACKET_HEADER_BYTES + packet.payload.byteLength);
  const view = new DataView(bytes.buffer);
  PACKET_HEADER_FIELDS.forEach((field, index) => {
    view.setUint32(index * 4, header[field], true);
  });
  bytes.set(packet.payload, PACKET_HEADER_BYTES);
  return bytes;
}

export function decodePacketHeader(bytes: Uint8Array): PacketHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, PACKET_HEADER_BYTES);
  const header = {} as PacketHeader;
  PACKET_HEADER_FIELDS.forEach((field, index) => {
    header[field] = view.getUint32(index * 4, true);
  });
  return header;
}

/** Sync ids (file_sync_protocol.h). Only the v1 requests are served: the banner advertises no stat_v2. */
export const SyncId = {
  Stat: fourCc('STAT'),
  List: fourCc('LIST'),
  Send: fourCc('SEND'),
  Recv: fourCc('RECV'),
  Quit: fourCc('QUIT'),
  Dent: fourCc('DENT'),
  Done: fourCc('DONE'),
  Data: fourCc('DATA'),
  Okay: fourCc('OKAY'),
  Fail: fourCc('FAIL'),
} as const;

/** Every sync request and the DATA/DONE frames of SEND: an id and one u32 (a length or an mtime). */
export const SYNC_REQUEST_BYTES = 8;
/** Longest path a request may carry (SyncRequest.path_length <= 1024). */
export const SYNC_MAX_PATH_BYTES = 1024;
/** Largest DATA chunk either side may send (SYNC_DATA_MAX). */
export const SYNC_DATA_MAX_BYTES = 64 * 1024;

/** Response layouts: each is an id followed by these u32 fields, in this order. */
export const SYNC_STAT_V1_FIELDS = ['mode', 'size', 'mtimeS'] as const;
export const SYNC_DENT_FIELDS = ['mode', 'size', 'mtimeS', 'nameLength'] as const;

export interface SyncStat {
  /** Full st_mode: file type bits and permissions. All zero means "does not exist" in STAT v1. */
  readonly mode: number;
  readonly sizeBytes: number;
  readonly mtimeS: number;
}

/** An id and u32 fields, little-endian: the shape of every fixed-size sync message. */
export function encodeSyncWords(id: number, words: readonly number[], trailer?: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + words.length * 4 + (trailer?.byteLength ?? 0));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, id, true);
  words.forEach((word, index) => {
    // The v1 formats are 32-bit: sizes past 4 GiB wrap, as they do on a real adbd.
    view.setUint32(4 + index * 4, word >>> 0, true);
  });
  if (trailer !== undefined) bytes.set(trailer, 4 + words.length * 4);
  return bytes;
}

export function encodeSyncStat(stat: SyncStat): Uint8Array {
  return encodeSyncWords(SyncId.Stat, [stat.mode, stat.sizeBytes, stat.mtimeS]);
}

export function encodeSyncDent(name: string, stat: SyncStat): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  return encodeSyncWords(
    SyncId.Dent,
    [stat.mode, stat.sizeBytes, stat.mtimeS, nameBytes.byteLength],
    nameBytes,
  );
}

/** LIST ends with a DONE shaped like a DENT, all fields zero. */
export const SYNC_LIST_DONE = encodeSyncWords(SyncId.Done, [0, 0, 0, 0]);

export function encodeSyncData(chunk: Uint8Array): Uint8Array {
  return encodeSyncWords(SyncId.Data, [chunk.byteLength], chunk);
}

/** RECV ends with DONE and a zero length. */
export const SYNC_RECV_DONE = encodeSyncWords(SyncId.Done, [0]);
/** SEND succeeds with OKAY and a zero length. */
export const SYNC_SEND_OKAY = encodeSyncWords(SyncId.Okay, [0]);

export function encodeSyncFail(message: string): Uint8Array {
  const messageBytes = new TextEncoder().encode(message);
  return encodeSyncWords(SyncId.Fail, [messageBytes.byteLength], messageBytes);
}
