import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { checkServerIdentity as defaultCheckServerIdentity, TLSSocket } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { errorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';
import { PkiError } from './errors.ts';
import { certificatePaths } from './layout.ts';
import type { CertificatePaths, CertLayout } from './layout.ts';
import { roleFromOu } from './roles.ts';
import type { Role } from './roles.ts';
import { assertPrivateKeyFile, readPemFile } from './secure-files.ts';

const log = createLogger('pki');

/** What one TLS endpoint needs: whom to trust, and who it is. */
export interface TlsBundle {
  /** One or more CA certificates (PEM, concatenated) whose certificates are accepted. */
  caPem: string;
  certPem: string;
  keyPem: string;
}

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/** TLS 1.2 is the floor the docker CLI and dockerd agree on; lifeboat-only links may ask for 1.3. */
export const defaultMinVersion: TlsMinVersion = 'TLSv1.2';

/** Reads an identity directory written by writeCertificate, refusing a key others can read. */
export async function loadTlsBundle(
  dir: string,
  layout: CertLayout = 'docker',
): Promise<TlsBundle & { paths: CertificatePaths }> {
  const paths = certificatePaths(dir, layout);
  const hint = 'issue one with `lifeboat cert issue` into this directory';
  await assertPrivateKeyFile(paths.keyPath);
  const [caPem, certPem, keyPem] = await Promise.all([
    readPemFile(paths.caPath, 'CA bundle', hint),
    readPemFile(paths.certPath, 'certificate', hint),
    readPemFile(paths.keyPath, 'private key', hint),
  ]);
  return { caPem, certPem, keyPem, paths };
}

export interface ServerTlsSettings {
  /**
   * Default true: only peers with a certificate from the bundle's CAs complete
   * the handshake (dockerd's --tlsverify). False serves TLS without asking for
   * client certificates (dockerd's --tls); then every peer is anonymous.
   * `per-request` asks for a certificate but lets peers without one (or with
   * a foreign one) connect: each request must then pass `authorizePeer`,
   * except the few a server answers anonymously (a manager's join endpoint).
   */
  requireClientCert?: boolean | 'per-request';
  minVersion?: TlsMinVersion;
}

/**
 * Options for `https.createServer` (or `server.setSecureContext` to swap
 * certificates without a restart). Roles are not a handshake matter: check
 * them per request with `authorizePeer` or `requireRoles`.
 */
export function serverTlsOptions(bundle: TlsBundle, settings: ServerTlsSettings = {}): https.ServerOptions {
  const requireClientCert = settings.requireClientCert ?? true;
  return {
    // Setting `ca` replaces Node's public root store: only the cluster CA vouches for peers.
    ca: bundle.caPem,
    cert: bundle.certPem,
    key: bundle.keyPem,
    minVersion: settings.minVersion ?? defaultMinVersion,
    requestCert: requireClientCert !== false,
    rejectUnauthorized: requireClientCert === true,
  };
}

export interface PeerIdentity {
  role: Role;
  /** The certificate's CN: node name, or user name for clients. */
  name: string;
  serialNumber: string;
  fingerprint256: string;
}

/**
 * The verified identity behind a connection, or undefined when the peer sent
 * no certificate, failed verification, or holds a certificate without exactly
 * one lifeboat role. Only meaningful on servers whose `ca` is the cluster CA.
 */
export function peerIdentity(socket: Socket): PeerIdentity | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  return identityOf(cert);
}

function identityOf(cert: PeerCertificate | undefined): PeerIdentity | undefined {
  // Without a peer certificate Node hands back an empty object.
  if (cert === undefined || cert === null || cert.subject === undefined) return undefined;
  // Node reports repeated attributes as arrays, whatever its typings say.
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined>;
  const role = roleFromOu(subject['OU']);
  const cn = subject['CN'];
  if (role === undefined || typeof cn !== 'string' || cn === '') return undefined;
  return { role, name: cn, serialNumber: cert.serialNumber, fingerprint256: cert.fingerprint256 };
}

function sendError(res: ServerResponse, err: PkiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The docker CLI prints `message` from JSON error bodies ("Error response from daemon: ...").
  const body = JSON.stringify(err.toJSON());
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Checks the caller's role for one request. Returns the identity, or answers
 * 401 (no verified lifeboat identity) / 403 (a role not in `allowedRoles`)
 * with a JSON error and returns undefined.
 */
export function authorizePeer(
  req: IncomingMessage,
  res: ServerResponse,
  allowedRoles: readonly Role[],
): PeerIdentity | undefined {
  const peer = peerIdentity(req.socket);
  if (peer === undefined) {
    log.warn('refused request without a cluster identity', { method: req.method, url: req.url });
    sendError(
      res,
      new PkiError(
        'pki_peer_unauthenticated',
        'this endpoint requires a certificate issued by the cluster CA',
        {
          status: 401,
          hint: 'connect with a certificate from `lifeboat cert issue` (docker CLI: --tlsverify, DOCKER_CERT_PATH)',
        },
      ),
    );
    return undefined;
  }
  if (!allowedRoles.includes(peer.role)) {
    log.warn('refused request from a disallowed role', {
      peer: peer.name,
      role: peer.role,
      allowed: allowedRoles.join(','),
      method: req.method,
      url: req.url,
    });
    sendError(
      res,
      new PkiError(
        'pki_role_forbidden',
        `certificate "${peer.name}" has role ${peer.role}; this endpoint accepts ${allowedRoles.join(', ') || 'no role'}`,
        { status: 403, hint: `use a certificate issued for role ${allowedRoles.join(' or ')}` },
      ),
    );
    return undefined;
  }
  return peer;
}

export type AuthorizedHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  peer: PeerIdentity,
) => void | Promise<void>;

/** Wraps a request handler so it only runs for peers holding one of `allowedRoles`. */
export function requireRoles(allowedRoles: readonly Role[], handler: AuthorizedHandler): RequestListener {
  return (req, res) => {
    const peer = authorizePeer(req, res, allowedRoles);
    if (peer === undefined) return;
    let result: void | Promise<void>;
    try {
      result = handler(req, res, peer);
    } catch (err) {
      failed(res, err);
      return;
    }
    if (result instanceof Promise) result.catch((err: unknown) => failed(res, err));
  };
}

function failed(res: ServerResponse, err: unknown): void {
  log.error('request handler failed', { error: errorMessage(err) });
  sendError(res, new PkiError('internal_error', 'internal error', { status: 500 }));
}

export interface MutualTlsServerSettings {
  allowedRoles: readonly Role[];
  minVersion?: TlsMinVersion;
}

/** An HTTPS server that completes handshakes only with cluster certificates and serves only `allowedRoles`. */
export function createMutualTlsServer(
  bundle: TlsBundle,
  settings: MutualTlsServerSettings,
  handler: AuthorizedHandler,
): https.Server {
  const tlsSettings: ServerTlsSettings = { requireClientCert: true };
  if (settings.minVersion !== undefined) tlsSettings.minVersion = settings.minVersion;
  return https.createServer(
    serverTlsOptions(bundle, tlsSettings),
    requireRoles(settings.allowedRoles, handler),
  );
}

export interface ClientTlsSettings {
  /** Refuse servers whose certificate carries another role (an agent only talks to managers). */
  serverRoles?: readonly Role[];
  /** Name to verify instead of the connection's host. IP addresses are verified against IP SANs. */
  servername?: string;
  /** Refuse servers whose certificate's CN (lifeboat identity name) is another, e.g. a node's name. */
  serverIdentity?: string;
  minVersion?: TlsMinVersion;
}

/** Options to spread into `https.request`, `tls.connect` or an undici `connect` option. */
export interface ClientTlsOptions {
  ca: string;
  cert: string;
  key: string;
  minVersion: TlsMinVersion;
  rejectUnauthorized: true;
  servername?: string;
  checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

/**
 * Client side of mutual TLS. Nodes are usually reached by IP address; their
 * certificates carry those addresses as IP SANs, so the standard hostname
 * check applies unchanged and verification is never switched off.
 */
export function clientTlsOptions(bundle: TlsBundle, settings: ClientTlsSettings = {}): ClientTlsOptions {
  const options: ClientTlsOptions = {
    ca: bundle.caPem,
    cert: bundle.certPem,
    key: bundle.keyPem,
    minVersion: settings.minVersion ?? defaultMinVersion,
    rejectUnauthorized: true,
    checkServerIdentity: serverIdentityCheck(settings),
  };
  // SNI must not carry an IP address (RFC 6066); the check above still verifies it against the IP SANs.
  if (settings.servername !== undefined && isIP(settings.servername) === 0)
    options.servername = settings.servername;
  return options;
}

/**
 * The server check of a client: the standard host name check, then the
 * lifeboat identity and role the settings ask for. Also for a caller that
 * presents no certificate of its own (a host joining).
 */
export function serverIdentityCheck(
  settings: Pick<ClientTlsSettings, 'servername' | 'serverIdentity' | 'serverRoles'>,
): (connectedHost: string, cert: PeerCertificate) => Error | undefined {
  const { serverRoles } = settings;
  return (connectedHost, cert) => {
    const host = settings.servername ?? connectedHost;
    const mismatch = defaultCheckServerIdentity(host, cert);
    if (mismatch !== undefined) return mismatch;
    const expected = settings.serverIdentity;
    if (expected !== undefined && identityOf(cert)?.name !== expected)
      return new PkiError(
        'pki_server_identity',
        `server ${host} presented the certificate of ${identityOf(cert)?.name ?? 'no lifeboat identity'}; expected ${expected}`,
        {
          status: 502,
          hint: 'the host at this address is not the one it claims to be: check its certificate',
        },
      );
    if (serverRoles === undefined) return undefined;
    const server = identityOf(cert);
    if (server !== undefined && serverRoles.includes(server.role)) return undefined;
    return new PkiError(
      'pki_server_role',
      `server ${host} presented a ${server?.role ?? 'role-less'} certificate; expected ${serverRoles.join(' or ')}`,
      { status: 502, hint: 'check that the address points to the right lifeboat component' },
    );
  };
}
