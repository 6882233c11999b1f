import type { Readable } from 'node:stream';

/**
 * Docker's JSON message: one line of the progress stream of pull, push,
 * load and build, as the docker CLI and the SDKs render it (moby's
 * pkg/jsonmessage). Messages with an `id` are one line per id, updated in
 * place on a terminal; an `error` ends the operation.
 */
export interface JsonMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message: string; code?: number };
  aux?: unknown;
  stream?: string;
}

export function errorMessage(message: string): JsonMessage {
  return { error: message, errorDetail: { message } };
}

/**
 * The JSON messages of a progress stream: JSON objects one after another,
 * separated by newlines or nothing (Podman and dockerd write both). A
 * fragment that is not JSON ends the stream with an error.
 */
export async function* jsonMessages(
  stream: Readable,
  maxMessageBytes = 1 << 20,
): AsyncGenerator<JsonMessage> {
  let buf = '';
  for await (const chunk of stream) {
    buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    for (;;) {
      const end = objectEnd(buf);
      if (end === -1) break;
      const text = buf.slice(0, end).trim();
      buf = buf.slice(end);
      if (text) yield JSON.parse(text) as JsonMessage;
    }
    if (buf.length > maxMessageBytes)
      throw new Error(`a progress message longer than ${maxMessageBytes} bytes`);
  }
  if (buf.trim()) yield JSON.parse(buf.trim()) as JsonMessage;
}

/** Index just past the first complete top-level JSON object in `s` (leading whitespace allowed), or -1. */
export function objectEnd(s: string): number {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!started) {
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
      started = true;
    }
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
