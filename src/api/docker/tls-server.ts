import { listenTracked } from '../http/serve.ts';
import { ServerResponse, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import {
  authorizePeer,
  serverTlsOptions,
  type PeerIdentity,
  type Role,
  type TlsBundle,
  type TlsMinVersion,
} from '../../pki/index.ts';
import { errorMessage, type LifeboatError } from '../../util/errors.ts';
import { createLogger, type Logger } from '../../util/log.ts';
import { answerClientError } from '../http/client-error.ts';
import type { Router } from '../http/router.ts';
import { createDockerApiRouter, type DockerApiOptions } from './server.ts';

export { checkDockerListen, InsecureListenError, isLoopbackHost } from './listen-guard.ts';

/** dockerd's ports: 2375 plain (loopback only here), 2376 with TLS. */
export const DOCKER_PLAIN_PORT = 2375;
export const DOCKER_TLS_PORT = 2376;

/** Operators' docker CLIs and SDKs, and other managers forwarding to the leader. Agents never call it. */
export const DOCKER_API_ROLES: readonly Role[] = ['client', 'manager'];

export interface MutualTlsServeOptions {
  tls: TlsBundle;
  /** Roles served; others get 403, peers without a cluster certificate fail the handshake. */
  allowedRoles?: readonly Role[];
  host?: string;
  port?: number;
  minVersion?: TlsMinVersion;
  logger?: Logger;
  /** A refusal for a peer whose certificate verified, e.g. a revoked one (the manager's revocation list). */
  checkPeer?: (peer: PeerIdentity) => Promise<LifeboatError | undefined>;
}

export interface RunningTlsServer {
  server: https.Server;
  host: string;
  port: number;
  /** Swaps certificate, key and trusted CAs for new connections (CA or certificate rotation), no restart. */
  reload(tls: TlsBundle): void;
  /** Stops listening and cuts every open connection (long waits, log follows, attaches). */
  close(): Promise<void>;
}

/**
 * Serves `router` over HTTPS the way dockerd serves `--tlsverify`: only
 * peers with a certificate from the bundle's CA complete the handshake,
 * and each request (attach upgrades included) is checked for a role in
 * `allowedRoles` before the router sees it.
 */
export async function serveMutualTls(router: Router, opts: MutualTlsServeOptions): Promise<RunningTlsServer> {
  const log = opts.logger ?? createLogger('docker-api/tls');
  const roles = opts.allowedRoles ?? DOCKER_API_ROLES;
  const tlsOptions = (bundle: TlsBundle): https.ServerOptions =>
    serverTlsOptions(bundle, {
      requireClientCert: true,
      ...(opts.minVersion === undefined ? {} : { minVersion: opts.minVersion }),
    });
  // half-open, as dockerd: `docker exec -i` closes its stdin and still reads the output
  const server = https.createServer({ ...tlsOptions(opts.tls), allowHalfOpen: true });
  server.on('clientError', answerClientError);
  server.on('tlsClientError', (err, socket) => {
    log.warn('refused a TLS handshake', { remote: socket.remoteAddress, error: err.message });
  });
  // The router answers every error itself; should that ever fail, lose the connection, not the process.
  const broken = (err: unknown, res: ServerResponse): void => {
    log.error('request failed after the router gave up', { error: errorMessage(err) });
    res.destroy();
  };
  /** The peer's role, then what `checkPeer` says of it; answers the refusal itself and returns false. */
  const admitted = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const peer = authorizePeer(req, res, roles);
    if (peer === undefined) return false;
    const refusal = await opts.checkPeer?.(peer);
    if (refusal === undefined) return true;
    log.warn('refused a request', { peer: peer.name, role: peer.role, reason: refusal.message });
    const body = JSON.stringify({
      message: refusal.message,
      ...(refusal.hint ? { hint: refusal.hint } : {}),
    });
    res.writeHead(refusal.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    return false;
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    admitted(req, res)
      .then((ok) => (ok ? router.handle(req, res, undefined) : undefined))
      .catch((err: unknown) => broken(err, res));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', (err) => log.debug('upgraded connection error', { error: err.message }));
    // A response object on the raw socket lets refusals and errors take the ordinary path.
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    admitted(req, res)
      .then((ok) => (ok ? router.handle(req, res, { socket, head }) : undefined))
      .catch((err: unknown) => broken(err, res));
  });

  const { host, port, close } = await listenTracked(server, opts);
  log.info('serving over mutual TLS', { address: `${host}:${port}`, roles: roles.join(',') });
  return {
    server,
    host,
    port,
    reload: (bundle) => server.setSecureContext(tlsOptions(bundle)),
    close,
  };
}

/**
 * The Docker-compatible API over mutual TLS (dockerd's `--tlsverify`):
 *   DOCKER_HOST=tcp://HOST:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=DIR docker ps
 * The server certificate must name HOST (a manager certificate with --ip/--dns).
 */
export function startDockerApiTlsServer(
  opts: DockerApiOptions & Omit<MutualTlsServeOptions, 'logger'>,
): Promise<RunningTlsServer> {
  const { tls, allowedRoles, host, port, minVersion, checkPeer, ...api } = opts;
  return serveMutualTls(createDockerApiRouter(api), {
    tls,
    ...(allowedRoles === undefined ? {} : { allowedRoles }),
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
    ...(minVersion === undefined ? {} : { minVersion }),
    ...(api.logger === undefined ? {} : { logger: api.logger }),
    ...(checkPeer === undefined ? {} : { checkPeer }),
  });
}
