import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Router } from './router.ts';

export interface RunningServer {
  server: http.Server;
  /** The address, or the socket's path for a unix socket (port 0). */
  host: string;
  port: number;
  /** Stops listening and cuts every open connection (long waits, log follows, attaches). */
  close(): Promise<void>;
}

/** Serves `router` on host:port (port 0: any free port), or on a unix socket (`socketPath`). */
export async function serve(
  router: Router,
  opts: { host?: string; port?: number; socketPath?: string } = {},
): Promise<RunningServer> {
  const server = http.createServer();
  router.attachTo(server);
  const { host, port, close } = await listenTracked(server, opts);
  return {
    server,
    host,
    port,
    close,
  };
}

/**
 * Listens on host:port (port 0: any free port) and tracks every connection:
 * upgraded sockets (attach, proxied streams) leave the server's own
 * bookkeeping, and `close` must cut them too.
 */
export async function listenTracked(
  server: http.Server | https.Server,
  opts: { host?: string; port?: number; socketPath?: string } = {},
): Promise<{ host: string; port: number; close: () => Promise<void> }> {
  // Node cuts a request still arriving after 300 s; an archive or image upload over a slow link
  // takes longer. Dead peers are found by the callers' liveness and idle checks instead.
  server.requestTimeout = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.socketPath ?? opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (opts.socketPath) server.listen(opts.socketPath, done);
    else server.listen(opts.port ?? 0, host, done);
  });
  const port = opts.socketPath ? 0 : (server.address() as AddressInfo).port;
  return {
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
