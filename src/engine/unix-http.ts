import http from 'node:http';
import https from 'node:https';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { LifeboatError } from '../util/errors.ts';
import { EngineUnavailableError } from './errors.ts';

export type QueryValue = string | number | boolean | undefined | string[];

/**
 * How requests reach a Podman REST API: its unix socket on this machine, or
 * an agent's HTTPS proxy in front of another host's socket. Everything above
 * (paths, bodies, error mapping) is the same for both.
 */
export interface Transport {
  /** Where requests go, for error messages: a socket path or a URL. */
  readonly endpoint: string;
  /** Starts one request; `path` is the API path with its query string. */
  request(opts: {
    method: string;
    path: string;
    headers: OutgoingHttpHeaders;
    signal?: AbortSignal;
    /** No deadline for the answer (a dump or restore takes what it takes): only a failed host cuts it. */
    long?: boolean;
  }): ClientRequest;
  /** Releases pooled connections. */
  close(): void;
}

/** Podman's own socket. */
export function unixTransport(socketPath: string): Transport {
  return {
    endpoint: socketPath,
    request: ({ method, path, headers, signal }) =>
      http.request({
        socketPath,
        method,
        path,
        headers: { Host: 'podman', ...headers },
        ...(signal ? { signal } : {}),
      }),
    close: () => undefined,
  };
}

export interface HttpsTransportOptions {
  /** e.g. `https://10.99.0.11:7443/podman`: API paths are appended to it. */
  baseUrl: string;
  /** Client certificate and trust (src/pki clientTlsOptions). Verification is never switched off. */
  tls: ConnectionOptions;
  /** A host that accepts no connection within this long is down (default 1500 ms; the kernel would try for minutes). */
  connectTimeoutMs?: number;
  /**
   * Asked while requests are in flight: an error means the other host is
   * known to be down, and the request ends with that error instead of
   * waiting on a dead connection. `patient` is true when only a host
   * declared failed may end the request: always when it starts, for a
   * request that may legitimately wait long (no deadline, or an answer that
   * streams), and for one that has waited less than a second; otherwise a
   * host silent for a while (its heartbeats late) ends it too.
   */
  liveness?: (patient: boolean) => Error | undefined;
  /**
   * Told of every request that may change the other side (any method but
   * GET and HEAD) as it starts; the function it returns is called once the
   * request is over (answered in full, failed or aborted).
   */
  onChange?: (method: string) => () => void;
}

const LIVENESS_CHECK_MS = 250;
/** How long a pooled connection may idle at most (shortened by the server's keep-alive hint). */
const IDLE_SOCKET_MS = 30_000;
/** A short call waits at least this long before a merely silent host's liveness may end it. */
const SILENCE_GRACE_MS = 1000;

/** A remote API over HTTPS (mutual TLS), with kept-alive connections so a call costs no handshake. */
export function httpsTransport(opts: HttpsTransportOptions): Transport {
  const url = new URL(opts.baseUrl);
  if (url.protocol !== 'https:') throw new Error(`not an https URL: ${opts.baseUrl}`);
  const base = url.pathname.replace(/\/+$/, '');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 443 : Number(url.port);
  // An idle pooled connection is dropped before the server's keep-alive timeout (its `Keep-Alive:
  // timeout=5` hint less a second, which Node applies only when the agent has a timeout of its own):
  // reusing one the server is closing ends the request with a reset. The timeout itself only
  // closes idle pooled sockets; a request in flight is never cut by it.
  const agent = new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, ...opts.tls });
  const connectMs = opts.connectTimeoutMs ?? 1500;
  /** In-flight requests: whether each is patient (long, or already answering), and since when it waits. */
  const inFlight = new Map<ClientRequest, { patient: boolean; since: number }>();
  let watch: NodeJS.Timeout | undefined;
  const watchLiveness = (): void => {
    if (watch || !opts.liveness) return;
    watch = setInterval(() => {
      const now = Date.now();
      for (const [r, how] of inFlight) {
        const down = opts.liveness?.(how.patient || now - how.since < SILENCE_GRACE_MS);
        if (down) r.destroy(down);
      }
      if (inFlight.size === 0) {
        clearInterval(watch);
        watch = undefined;
      }
    }, LIVENESS_CHECK_MS);
    watch.unref();
  };
  return {
    endpoint: `${url.origin}${base}`,
    request: ({ method, path, headers, signal, long }) => {
      const how = { patient: long === true, since: Date.now() };
      // never refused for mere silence before it was tried: a live host may be late on heartbeats
      const down = opts.liveness?.(true);
      const r = https.request({
        ...opts.tls,
        host,
        port,
        method,
        path: base + path,
        headers,
        agent,
        ...(signal ? { signal } : {}),
      });
      if (down) {
        // answered at once: the host is known to be down
        process.nextTick(() => r.destroy(down));
        return r;
      }
      r.on('socket', (socket) => {
        if (!socket.connecting) return;
        const t = setTimeout(
          () => r.destroy(new EngineUnavailableError(`${url.host}`, `no connection within ${connectMs} ms`)),
          connectMs,
        );
        socket.once('connect', () => clearTimeout(t));
        socket.once('close', () => clearTimeout(t));
      });
      inFlight.set(r, how);
      if (opts.onChange && method !== 'GET' && method !== 'HEAD') {
        const over = opts.onChange(method);
        let ended = false;
        const end = (): void => {
          if (ended) return;
          ended = true;
          over();
        };
        // over when its answer has been read (it may stream), or when it ended without one
        let answered = false;
        r.once('response', (res) => {
          answered = true;
          res.once('close', end);
        });
        r.once('close', () => {
          if (!answered) end();
        });
      }
      // the request object outlives its response: drop it once the answer is read or it failed
      r.once('close', () => inFlight.delete(r));
      r.once('response', (res) => {
        // a host that answered is alive; from here only its declared failure cuts the stream
        how.patient = true;
        res.once('close', () => inFlight.delete(r));
      });
      watchLiveness();
      return r;
    },
    close: () => {
      if (watch) clearInterval(watch);
      agent.destroy();
    },
  };
}

export interface TransportRequest {
  method: string;
  path: string;
  query?: Record<string, QueryValue>;
  /** A Readable is piped (never buffered): archives can be gigabytes. */
  body?: Readable | Buffer | string;
  headers?: Record<string, string>;
  /** Time allowed until response headers arrive; 0 = none (long checkpoints). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface UnixRequest extends TransportRequest {
  socketPath: string;
}

export function buildPath(path: string, query: Record<string, QueryValue> = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) qs.append(k, item);
    else qs.append(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Errors of a connection that broke under a request (not one that was never made). */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** A connection to a node or Podman broke before its answer: said as such, not as an internal error. */
export class ConnectionLostError extends LifeboatError {
  constructor(endpoint: string, cause: Error) {
    super('connection_lost', `the connection to ${endpoint} broke before it answered: ${cause.message}`, {
      status: 502,
      hint: 'try again; `lifeboat node ls` shows whether the host is healthy',
      cause,
    });
  }
}

/** Methods a server may receive twice with the effect of once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * One HTTP request; resolves with the response (body unread). An idempotent
 * request sent on a pooled connection that the other side had just closed
 * (a reset before any answer) is sent once more on a new one, unless its
 * body is a stream that cannot be replayed. A POST is not: the other side
 * may have acted on it before the connection broke.
 */
export function sendRequest(transport: Transport, req: TransportRequest): Promise<IncomingMessage> {
  return attempt(transport, req).catch((err: unknown) => {
    const replayable = req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body);
    if (!(err instanceof StaleConnection)) throw err;
    if (replayable && IDEMPOTENT.has(req.method.toUpperCase()) && !req.signal?.aborted)
      return attempt(transport, req).catch(unwrapStale(transport));
    throw unwrapStale(transport)(err);
  });
}

/** A reset on a reused keep-alive connection before any answer: the other side closed it idle. */
class StaleConnection extends Error {
  constructor(readonly original: NodeJS.ErrnoException) {
    super(original.message);
  }
}

function unwrapStale(transport: Transport): (err: unknown) => never {
  return (err) => {
    throw err instanceof StaleConnection ? new ConnectionLostError(transport.endpoint, err.original) : err;
  };
}

function attempt(transport: Transport, req: TransportRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(req.headers ?? {}) };
    if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) {
      headers['Content-Length'] = Buffer.byteLength(req.body);
    }
    const r = transport.request({
      method: req.method,
      path: buildPath(req.path, req.query),
      headers,
      ...(req.signal ? { signal: req.signal } : {}),
      ...(req.timeoutMs === 0 ? { long: true } : {}),
    });
    r.on('response', (res) => {
      if (timer) clearTimeout(timer);
      resolve(res);
    });
    let timer: NodeJS.Timeout | undefined;
    if (req.timeoutMs && req.timeoutMs > 0) {
      const ms = req.timeoutMs;
      timer = setTimeout(
        () =>
          r.destroy(
            new LifeboatError('no_answer', `${transport.endpoint} did not answer within ${ms} ms`, {
              status: 504,
              hint: '`lifeboat node ls` shows whether the host is healthy',
            }),
          ),
        ms,
      );
    }
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (err.code !== undefined && UNREACHABLE.has(err.code))
        reject(new EngineUnavailableError(transport.endpoint, err.message));
      else if (err.code === 'ECONNRESET' && r.reusedSocket) reject(new StaleConnection(err));
      else if (err.code !== undefined && CONNECTION_LOST.has(err.code))
        reject(new ConnectionLostError(transport.endpoint, err));
      else reject(err);
    });
    const body = req.body;
    if (body === undefined) r.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) r.end(body);
    else {
      body.on('error', (err) => r.destroy(err));
      body.pipe(r);
    }
  });
}

/** One HTTP request over a unix socket; resolves with the response (body unread). */
export function unixRequest(req: UnixRequest): Promise<IncomingMessage> {
  return sendRequest(unixTransport(req.socketPath), req);
}

export async function readBody(res: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      res.destroy();
      throw new Error(`response body exceeds ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
