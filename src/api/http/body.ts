import type { IncomingMessage } from 'node:http';
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
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new MalformedJsonError(err instanceof Error ? err.message : String(err));
  }
}
