/**
 * A TCP proxy on 127.0.0.1 in front of another local server, to break the network between the
 * bot and that server the way real outages do:
 *
 *   const proxy = await startTcpProxy(target.port);   // proxy.port / proxy.url('http')
 *   proxy.dropConnections();   // every open connection is reset (the peer sees ECONNRESET/close)
 *   await proxy.refuse();      // drops them and stops listening: new connections → ECONNREFUSED
 *   await proxy.accept();      // listens again ON THE SAME PORT
 *   await proxy.close();
 *
 * `connections` counts the connections accepted so far (e.g. to see a client reconnect).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted since the start. */
  readonly connections: number;
  /** Connections open right now. */
  readonly open: number;
  url(scheme: string, pathname?: string): string;
  dropConnections(): void;
  refuse(): Promise<void>;
  accept(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let port = 0;
  let server: Server | undefined;

  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      accepted++;
      const upstream = connect(targetPort, targetHost);
      sockets.add(client);
      sockets.add(upstream);
      const destroyBoth = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', destroyBoth);
      upstream.on('error', destroyBoth);
      client.on('close', destroyBoth);
      upstream.on('close', destroyBoth);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    const address = s.address();
    port = typeof address === 'object' && address ? address.port : port;
    server = s;
  };

  const dropConnections = () => {
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
  };

  const stopListening = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();

  return {
    get port() {
      return port;
    },
    get connections() {
      return accepted;
    },
    get open() {
      return sockets.size / 2;
    },
    url: (scheme, pathname = '') => `${scheme}://127.0.0.1:${port}${pathname}`,
    dropConnections,
    async refuse() {
      const closing = stopListening();
      dropConnections();
      await closing;
    },
    async accept() {
      if (server) return;
      // The port was ours a moment ago; retry briefly if the OS has not released it yet.
      for (let attempt = 0; ; attempt++) {
        try {
          await listen();
          return;
        } catch (err) {
          if (attempt >= 20) throw err;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    },
    async close() {
      const closing = stopListening();
      dropConnections();
      await closing;
    },
  };
}
