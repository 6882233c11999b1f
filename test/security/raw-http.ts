import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { FuzzRequest } from './fuzz-requests.ts';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type Connect = () => Duplex;

export function plainConnect(host: string, port: number): Connect {
  return () => net.connect(port, host);
}

export function tlsConnect(host: string, port: number, opts: tls.ConnectionOptions): Connect {
  return () => tls.connect({ host, port, ...opts });
}

/**
 * Sends one request byte for byte over a fresh connection (`Connection:
 * close`) and reads the answer until the server closes. A raw socket keeps
 * the answer even when the server closes while the body is still being sent
 * (413), and sends paths exactly as generated.
 */
export function sendRaw(connect: Connect, req: FuzzRequest, timeoutMs: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const body =
      req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    // the Host a client on this machine sends: the clear-text endpoint refuses foreign ones (DNS rebinding)
    const lines = [`${req.method} ${req.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
    for (const [k, v] of Object.entries(req.headers ?? {})) if (v !== '') lines.push(`${k}: ${v}`);
    if (body !== undefined) {
      if (req.chunked === true) lines.push('Transfer-Encoding: chunked');
      else lines.push(`Content-Length: ${body.length}`);
    }
    const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
    const chunks: Buffer[] = [];
    const socket = connect();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    // The server may close while the body is still going out (413): what it answered is what counts.
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      try {
        resolve(parseAnswer(raw));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    const writeAll = async (): Promise<void> => {
      const out: Buffer[] = [head];
      if (body !== undefined) {
        if (req.chunked === true) {
          for (let i = 0; i < body.length; i += 256 * 1024) {
            const part = body.subarray(i, i + 256 * 1024);
            out.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n'));
          }
          out.push(Buffer.from('0\r\n\r\n'));
        } else {
          out.push(body);
        }
      }
      for (const b of out) {
        if (socket.destroyed) return;
        if (!socket.write(b))
          await new Promise<void>((r) => {
            // both listeners go once either fires: a long body would pile up 'close' listeners
            const done = (): void => {
              socket.off('drain', done).off('close', done);
              r();
            };
            socket.once('drain', done).once('close', done);
          });
      }
    };
    void writeAll();
  });
}

function parseAnswer(raw: Buffer): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0)
    throw new Error(
      `no HTTP answer (${raw.length} bytes: ${JSON.stringify(raw.subarray(0, 80).toString())})`,
    );
  const [statusLine = '', ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m?.[1]) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const l of headerLines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  return { status: Number(m[1]), headers, body };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < b.length) {
    const lineEnd = b.indexOf('\r\n', pos);
    if (lineEnd < 0) break;
    const size = parseInt(b.subarray(pos, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(b.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}
