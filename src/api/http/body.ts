import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { MalformedJsonError, PayloadTooLargeError } from './errors.ts';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Reads a request body up to `limitBytes` and parses it as JSON; an empty
 * body is `undefined` (several Docker endpoints take an optional body).
 */
export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limitBytes) throw new PayloadTooLargeError(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limitBytes) throw new PayloadTooLargeError(limitBytes);
    chunks.push(b);
  }
  return parseJson(Buffer.concat(chunks).toString('utf8'));
}

/** A JSON text; undefined when blank, a 400 when malformed. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new MalformedJsonError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * The body of an upgrade request (exec start sends one): Node hands over
 * the raw socket after the headers, with what it read beyond them in
 * `head`. Reads `length` bytes from there; `rest` is what followed them.
 */
export async function readUpgradeBody(
  socket: Socket,
  head: Buffer,
  length: number,
): Promise<{ body: Buffer; rest: Buffer }> {
  let buf = head;
  while (buf.length < length) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const done = (d: Buffer | null): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        socket.pause();
        resolve(d);
      };
      const onData = (d: Buffer): void => done(d);
      const onEnd = (): void => done(null);
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      socket.resume();
    });
    if (chunk === null) throw new MalformedJsonError('the request body ended before its Content-Length');
    buf = Buffer.concat([buf, chunk]);
  }
  return { body: buf.subarray(0, length), rest: buf.subarray(length) };
}
