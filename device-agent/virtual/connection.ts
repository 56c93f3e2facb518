/**
 * The device side of one ADB transport connection (AOSP adb/protocol.txt): the CNXN handshake, then
 * OPEN/OKAY/WRTE/CLSE streams, each bound to a service. Depends only on ports.ts: the adapter that owns the
 * link calls `receive()` with every incoming piece of bytes and `linkClosed()` once when the link is gone.
 */
import { ByteQueue } from './byte-queue.ts';
import { ProtocolError } from './errors.ts';
import type { ByteDuplex, ServiceOpener, StreamEnd, StreamService } from './ports.ts';
import {
  ADB_VERSION_SKIP_CHECKSUM,
  AdbCommand,
  type AdbPacket,
  decodePacketHeader,
  encodePacket,
  fourCcName,
  PACKET_HEADER_BYTES,
  type PacketHeader,
} from './wire.ts';

export interface ConnectionOptions {
  /** `device::ro.product.name=…;ro.product.model=…;ro.product.device=…;features=…` */
  readonly banner: string;
  /** The largest payload the host may send us (the CNXN maxdata we advertise). */
  readonly maxPayloadBytes: number;
  readonly openService: ServiceOpener;
  /** Told when opening a service threw; the stream is refused, the link stays up. */
  readonly onServiceError?: (destination: string, error: unknown) => void;
  /** Told about packets that break the protocol; the link is torn down after. */
  readonly onProtocolError?: (error: ProtocolError) => void;
}

const textDecoder = new TextDecoder();

export class AdbDeviceConnection {
  private readonly incoming = new ByteQueue();
  private pendingHeader: PacketHeader | undefined;
  /** Payload limit for what we send: the smaller of both maxdata values (a bigger packet makes adb 29
   * drop the link silently, leaving a running shell hung). 0 until the host's CNXN. */
  private sendLimitBytes = 0;
  private nextLocalId = 1;
  private readonly streams = new Map<number, DeviceStream>();
  private linkGone = false;

  constructor(
    private readonly link: ByteDuplex,
    private readonly options: ConnectionOptions,
  ) {}

  /** Streams currently open (for tests and status). */
  get openStreamCount(): number {
    return this.streams.size;
  }

  receive(bytes: Uint8Array): void {
    if (this.linkGone) return;
    this.incoming.push(bytes);
    try {
      for (let packet = this.nextPacket(); packet !== undefined; packet = this.nextPacket()) {
        this.dispatch(packet);
        if (this.linkGone) return;
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.options.onProtocolError?.(error);
      this.destroy();
    }
  }

  /** The link closed under us (host went away, fault injected): every stream's service is told. */
  linkClosed(): void {
    if (this.linkGone) return;
    this.linkGone = true;
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) stream.hostClosed();
  }

  /** Tears the link down at once. */
  destroy(): void {
    this.link.destroy();
    this.linkClosed();
  }

  /** @internal used by DeviceStream */
  send(packet: AdbPacket): void {
    if (!this.linkGone) this.link.write(encodePacket(packet));
  }

  /** @internal used by DeviceStream */
  get payloadLimitBytes(): number {
    return this.sendLimitBytes;
  }

  /** @internal used by DeviceStream */
  forget(localId: number): void {
    this.streams.delete(localId);
  }

  private nextPacket(): AdbPacket | undefined {
    if (this.pendingHeader === undefined) {
      if (this.incoming.length < PACKET_HEADER_BYTES) return undefined;
      const header = decodePacketHeader(this.incoming.take(PACKET_HEADER_BYTES));
      if (header.magic !== (header.command ^ 0xffffffff) >>> 0) {
        throw new ProtocolError(`bad packet magic for command 0x${header.command.toString(16)}`, { header });
      }
      // The host's CNXN comes before it knows our maxdata, so it is held to the protocol-wide 1 MiB.
      const limit = header.command === AdbCommand.Connect ? 1024 * 1024 : this.options.maxPayloadBytes;
      if (header.dataLength > limit) {
        throw new ProtocolError(
          `${fourCcName(header.command)} payload of ${header.dataLength} bytes exceeds ${limit}`,
          {
            header,
          },
        );
      }
      this.pendingHeader = header;
    }
    const header = this.pendingHeader;
    if (this.incoming.length < header.dataLength) return undefined;
    this.pendingHeader = undefined;
    // Copy: the queue may hand out a view of a socket buffer that a service keeps past this call.
    const payload = this.incoming.take(header.dataLength).slice();
    return { command: header.command, arg0: header.arg0, arg1: header.arg1, payload };
  }

  private dispatch(packet: AdbPacket): void {
    switch (packet.command) {
      case AdbCommand.Connect:
        this.onConnect(packet);
        break;
      case AdbCommand.Open:
        this.onOpen(packet);
        break;
      case AdbCommand.Okay:
        // arg0 = the host's id, arg1 = ours.
        this.streams.get(packet.arg1)?.onOkay();
        break;
      case AdbCommand.Write:
        this.streams.get(packet.arg1)?.onHostData(packet.payload);
        break;
      case AdbCommand.Close: {
        const stream = this.streams.get(packet.arg1);
        if (stream === undefined) break;
        this.streams.delete(packet.arg1);
        stream.hostClosed();
        break;
      }
      default:
        // AUTH and STLS cannot come (we never ask); anything else is ignored, as adbd does.
        break;
    }
  }

  private onConnect(packet: AdbPacket): void {
    // A second CNXN means the host restarted its side of the transport: old streams are dead.
    const stale = [...this.streams.values()];
    this.streams.clear();
    for (const stream of stale) stream.hostClosed();
    this.sendLimitBytes = Math.min(packet.arg1, this.options.maxPayloadBytes);
    this.send({
      command: AdbCommand.Connect,
      arg0: ADB_VERSION_SKIP_CHECKSUM,
      arg1: this.options.maxPayloadBytes,
      payload: new TextEncoder().encode(this.options.banner),
    });
  }

  private onOpen(packet: AdbPacket): void {
    const hostId = packet.arg0;
    if (this.sendLimitBytes === 0) return; // OPEN before CNXN: adbd drops it too.
    const destination = textDecoder.decode(packet.payload).replace(/\0+$/, '');
    const localId = this.nextLocalId++;
    const stream = new DeviceStream(this, localId, hostId);
    let service: StreamService | undefined;
    try {
      service = this.options.openService(destination, stream);
    } catch (error) {
      // A service that cannot start (its command cannot be planned, say) refuses this stream only.
      this.options.onServiceError?.(destination, error);
      service = undefined;
    }
    if (service === undefined) {
      // An unknown service is refused with CLSE(0, host id), which the host reports as "closed".
      this.send({ command: AdbCommand.Close, arg0: 0, arg1: hostId, payload: new Uint8Array(0) });
      return;
    }
    this.streams.set(localId, stream);
    this.send({ command: AdbCommand.Okay, arg0: localId, arg1: hostId, payload: new Uint8Array(0) });
    stream.attach(service);
  }
}

/** Bytes a stream may hold for the host before `write()` makes its caller wait. */
const HIGH_WATER_PAYLOADS = 2;

class DeviceStream implements StreamEnd {
  private service: StreamService | undefined;
  private readonly outgoing = new ByteQueue();
  private awaitingOkay = false;
  private flushScheduled = false;
  private closing = false;
  private done = false;
  private drainWaiters: Array<() => void> = [];
  /** Host writes are handled one after another, each acknowledged when its service call settles. */
  private inbound: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: AdbDeviceConnection,
    private readonly localId: number,
    private readonly hostId: number,
  ) {}

  get closed(): boolean {
    return this.done || this.closing;
  }

  attach(service: StreamService): void {
    this.service = service;
    this.scheduleFlush();
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.outgoing.push(bytes);
    this.scheduleFlush();
    if (this.outgoing.length < this.highWaterBytes()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closing = true;
    this.scheduleFlush();
  }

  onOkay(): void {
    this.awaitingOkay = false;
    this.flush();
  }

  onHostData(payload: Uint8Array): void {
    const service = this.service;
    if (service === undefined || this.done) return;
    this.inbound = this.inbound
      .then(() => service.receive(payload))
      .then(
        () => {
          if (!this.done) this.sendControl(AdbCommand.Okay);
        },
        () => this.close(),
      );
  }

  hostClosed(): void {
    this.finish();
    this.service?.hostClosed();
  }

  private highWaterBytes(): number {
    return Math.max(1, this.connection.payloadLimitBytes) * HIGH_WATER_PAYLOADS;
  }

  // Deferred to a microtask so that frames written back to back (a sync DATA then DONE) share one WRTE:
  // separate small writes cost ~40 ms each through Nagle and delayed ACKs on the host side.
  private scheduleFlush(): void {
    if (this.flushScheduled || this.service === undefined) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.done || this.service === undefined) return;
    if (!this.awaitingOkay && this.outgoing.length > 0) {
      // One WRTE in flight per stream: the next waits for the host's OKAY.
      const payload = this.outgoing.take(Math.min(this.outgoing.length, this.connection.payloadLimitBytes));
      this.awaitingOkay = true;
      this.connection.send({ command: AdbCommand.Write, arg0: this.localId, arg1: this.hostId, payload });
    }
    if (this.outgoing.length < this.highWaterBytes()) this.releaseWriters();
    if (this.closing && this.outgoing.length === 0 && !this.awaitingOkay) {
      this.sendControl(AdbCommand.Close);
      this.finish();
      this.connection.forget(this.localId);
    }
  }

  private sendControl(command: number): void {
    this.connection.send({ command, arg0: this.localId, arg1: this.hostId, payload: new Uint8Array(0) });
  }

  private finish(): void {
    this.done = true;
    this.releaseWriters();
  }

  private releaseWriters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
