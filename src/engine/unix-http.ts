import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { EngineUnavailableError } from './errors.ts';

export type QueryValue = string | number | boolean | undefined | string[];

export interface UnixRequest {
  socketPath: string;
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

/** One HTTP request over a unix socket; resolves with the response (body unread). */
export function unixRequest(req: UnixRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Host: 'podman', ...(req.headers ?? {}) };
    if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) {
      headers['Content-Length'] = Buffer.byteLength(req.body);
    }
    const r = http.request(
      {
        socketPath: req.socketPath,
        method: req.method,
        path: buildPath(req.path, req.query),
        headers,
        ...(req.signal ? { signal: req.signal } : {}),
      },
      (res) => {
        if (timer) clearTimeout(timer);
        resolve(res);
      },
    );
    let timer: NodeJS.Timeout | undefined;
    if (req.timeoutMs && req.timeoutMs > 0) {
      timer = setTimeout(() => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
    }
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')
        reject(new EngineUnavailableError(req.socketPath, err.message));
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
