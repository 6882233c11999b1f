import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { LifeboatError } from '../util/errors.ts';
import { readBody, sendRequest, type QueryValue, type Transport } from '../engine/unix-http.ts';
import { reviveError } from './wire-errors.ts';

const JSON_LIMIT = 64 * 1024 * 1024;

export interface CallOptions {
  query?: Record<string, QueryValue>;
  json?: unknown;
  body?: Readable;
  /** Until the answer's status line; 0: none (the caller bounds it otherwise). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Requests to one node API (a manager calling an agent, or an agent calling
 * a peer): JSON or streamed bodies out, and any non-2xx answer rebuilt as
 * the typed error the node raised.
 */
export class NodeApiCaller {
  constructor(
    readonly node: string,
    readonly transport: Transport,
    private readonly defaultTimeoutMs: number,
  ) {}

  async call(method: string, path: string, opts: CallOptions = {}): Promise<IncomingMessage> {
    const headers: Record<string, string> = {};
    let body: Readable | string | undefined;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/x-tar';
      body = opts.body;
    }
    // An upload the node refuses early is cut here, so the connection is not left half-sent.
    const upload = new AbortController();
    const abort = (): void => upload.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', abort, { once: true });
    let res: IncomingMessage;
    try {
      res = await sendRequest(this.transport, {
        method,
        path,
        headers,
        timeoutMs: opts.timeoutMs ?? this.defaultTimeoutMs,
        signal: upload.signal,
        ...(opts.query ? { query: opts.query } : {}),
        ...(body === undefined ? {} : { body }),
      });
    } catch (err) {
      opts.body?.destroy();
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', abort);
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const text = await readBody(res, JSON_LIMIT).catch(() => Buffer.alloc(0));
    // The node refused an upload early (a hostile archive): stop sending, and release the source.
    opts.body?.destroy();
    upload.abort();
    throw reviveError(this.node, status, text);
  }

  async json<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const res = await this.call(method, path, opts);
    const text = await readBody(res, JSON_LIMIT);
    return (text.length === 0 ? undefined : JSON.parse(text.toString('utf8'))) as T;
  }
}

/**
 * Cuts a response stream that stops delivering for `ms` (a host that lost
 * power sends no reset: without this a reader would wait for the kernel's
 * TCP timeout, minutes).
 */
export function idleTimeout(res: IncomingMessage, ms: number, what: string): IncomingMessage {
  const socket = res.socket;
  const stalled = (): void =>
    void res.destroy(
      new LifeboatError('transfer_stalled', `${what}: nothing arrived for ${Math.round(ms / 1000)} s`, {
        status: 504,
        hint: 'the other host stopped answering (power loss, partition or overload)',
      }),
    );
  socket.setTimeout(ms);
  socket.on('timeout', stalled);
  // A kept-alive socket goes back to the pool without the limit, and with the
  // agent's idle timeout, which the agent sets as it takes the socket back:
  // before this, or after (then the limit is no longer in effect, left alone).
  res.once('close', () => {
    socket.off('timeout', stalled);
    if (socket.timeout === ms) socket.setTimeout(0);
  });
  return res;
}
