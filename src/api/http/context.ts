import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { ValidationError } from '../../util/errors.ts';
import { parseJson, readJsonBody, readUpgradeBody } from './body.ts';
import { PayloadTooLargeError } from './errors.ts';

/** How long an upgraded stream's first bytes wait behind the status line. */
const UPGRADE_SETTLE_MS = 30;

/** The raw connection of a request that asked for an HTTP upgrade (`Connection: Upgrade`). */
export interface UpgradeRequest {
  socket: Socket;
  head: Buffer;
}

/** A connection taken over by a handler after the status line: bytes in, bytes out. */
export interface HijackedConnection {
  input: Readable;
  output: Writable;
  /** Ends the output side; the connection closes once the client is done too. */
  end(): void;
  /** Tears the connection down at once. */
  destroy(): void;
}

export interface ContextInit {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  apiVersion: string | undefined;
  params: Record<string, string>;
  query: URLSearchParams;
  upgrade: UpgradeRequest | undefined;
  bodyLimitBytes: number;
  headers: Record<string, string>;
}

/** One request as a handler sees it: route params, query helpers, JSON in, JSON out. */
export class RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Path without the `/vX.Y` prefix. */
  readonly path: string;
  /** The `X.Y` of a versioned path; undefined for an unversioned one. */
  readonly apiVersion: string | undefined;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly upgrade: UpgradeRequest | undefined;
  private readonly bodyLimitBytes: number;
  private readonly headers: Record<string, string>;
  private hijackedConn: HijackedConnection | undefined;

  constructor(init: ContextInit) {
    this.req = init.req;
    this.res = init.res;
    this.path = init.path;
    this.apiVersion = init.apiVersion;
    this.params = init.params;
    this.query = init.query;
    this.upgrade = init.upgrade;
    this.bodyLimitBytes = init.bodyLimitBytes;
    this.headers = init.headers;
  }

  get method(): string {
    return this.req.method ?? 'GET';
  }

  /** The taken-over connection, once a handler hijacked the request. */
  get connection(): HijackedConnection | undefined {
    return this.hijackedConn;
  }

  param(name: string): string {
    const v = this.params[name];
    if (v === undefined) throw new Error(`route has no parameter ${name}`);
    return v;
  }

  /**
   * The parsed JSON body, or undefined when the body is empty. An upgrade
   * request's body (exec start sends one) follows the headers on the raw
   * socket: its Content-Length bytes are read from there, the rest stays
   * for the hijacked stream.
   */
  async json(): Promise<unknown> {
    if (!this.upgrade) return readJsonBody(this.req, this.bodyLimitBytes);
    const length = Number(this.req.headers['content-length'] ?? 0);
    if (!Number.isSafeInteger(length) || length <= 0) return undefined;
    if (length > this.bodyLimitBytes) throw new PayloadTooLargeError(this.bodyLimitBytes);
    const up = this.upgrade;
    const { body, rest } = await readUpgradeBody(up.socket, up.head, length);
    up.head = rest;
    return parseJson(body.toString('utf8'));
  }

  /** A query string value; undefined when absent. */
  string(name: string): string | undefined {
    return this.query.get(name) ?? undefined;
  }

  /** Docker's boolean query semantics: "", "0", "no", "false", "none" are false, anything else true. */
  bool(name: string, dflt = false): boolean {
    const raw = this.query.get(name);
    if (raw === null) return dflt;
    const s = raw.trim().toLowerCase();
    return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none');
  }

  /** An integer query value; undefined when absent or empty, 400 when not an integer. */
  int(name: string): number | undefined {
    const raw = this.query.get(name);
    if (raw === null || raw.trim() === '') return undefined;
    if (!/^-?\d+$/.test(raw.trim()))
      throw new ValidationError(`invalid value for query parameter "${name}": "${raw}" is not an integer`);
    const n = Number(raw.trim());
    if (!Number.isSafeInteger(n))
      throw new ValidationError(`invalid value for query parameter "${name}": "${raw}" is out of range`);
    return n;
  }

  /** Answers with a JSON body (or none when `body` is undefined). */
  send(status: number, body?: unknown): void {
    if (body === undefined) {
      this.res.writeHead(status);
      this.res.end();
      return;
    }
    const text = JSON.stringify(body) + '\n';
    this.res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    this.res.end(text);
  }

  /**
   * Takes the connection over for a bidirectional stream. An upgrade request
   * gets `101 UPGRADED` on its raw socket (what the docker CLI waits for);
   * a plain request gets a streamed 200 answer and no input.
   */
  hijack(contentType: string): HijackedConnection {
    if (this.hijackedConn) return this.hijackedConn;
    const up = this.upgrade;
    if (up) {
      this.res.detachSocket(up.socket);
      const extra = Object.entries(this.headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      up.socket.write(
        `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${extra}\r\n`,
      );
      if (up.head.length) up.socket.unshift(up.head);
      // The first bytes wait a moment after the status line: a client that reads the
      // answer's headers through a buffered reader and then takes the raw socket (the
      // Docker SDK for Python does) loses whatever arrived in the same read as them.
      const output = new PassThrough();
      const start = setTimeout(() => output.pipe(up.socket), UPGRADE_SETTLE_MS);
      up.socket.once('close', () => {
        clearTimeout(start);
        output.destroy();
      });
      this.hijackedConn = {
        input: up.socket,
        output,
        end: () => output.end(),
        destroy: () => {
          output.destroy();
          up.socket.destroy();
        },
      };
    } else {
      this.res.writeHead(200, { 'Content-Type': contentType });
      this.res.flushHeaders();
      this.hijackedConn = {
        input: this.req,
        output: this.res,
        end: () => this.res.end(),
        destroy: () => this.res.destroy(),
      };
    }
    return this.hijackedConn;
  }
}
