/**
 * The Node TCP adapter: accepts the adb server's connections and turns each socket into a ByteDuplex for
 * the protocol core. The only module that touches `node:net`.
 */
import { createServer, type Socket } from 'node:net';
import type { ByteDuplex } from './ports.ts';

/** What the phone attaches to each accepted link. */
export interface LinkHandler {
  receive(bytes: Uint8Array): void;
  closed(): void;
}

export interface TcpListener {
  readonly port: number;
  /** Stops listening and resets every open link. */
  close(): Promise<void>;
}

export interface TcpListenOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** undefined refuses the connection (the phone is offline): it is reset at once. */
  readonly accept: (link: ByteDuplex) => LinkHandler | undefined;
}

export function listenTcp(options: TcpListenOptions): Promise<TcpListener> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    // Packets are small and latency-bound: Nagle plus the host's delayed ACK costs ~40 ms per exchange.
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const link: ByteDuplex = {
      write(bytes) {
        if (!socket.destroyed) socket.write(bytes);
      },
      destroy() {
        // RST rather than FIN: the host sees the connection die, as with a pulled cable.
        if (!socket.destroyed) socket.resetAndDestroy();
      },
    };
    const handler = options.accept(link);
    if (handler === undefined) {
      link.destroy();
      sockets.delete(socket);
      return;
    }
    socket.on('data', (chunk: Buffer) => handler.receive(chunk));
    socket.on('close', () => {
      sockets.delete(socket);
      handler.closed();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.resetAndDestroy();
            sockets.clear();
            server.close(() => done());
          }),
      });
    });
  });
}
