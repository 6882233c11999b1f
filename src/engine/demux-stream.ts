import type { Readable } from 'node:stream';

export interface LogFrame {
  stream: 'stdin' | 'stdout' | 'stderr';
  data: Buffer;
}

const STREAMS = ['stdin', 'stdout', 'stderr'] as const;

/**
 * Splits Docker's multiplexed stream format (8-byte header: stream type,
 * 3 zero bytes, big-endian payload length) into frames.
 */
export async function* demux(src: Readable): AsyncGenerator<LogFrame> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of src) {
    buf = buf.length ? Buffer.concat([buf, chunk as Buffer]) : (chunk as Buffer);
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      yield { stream: STREAMS[buf[0] ?? 1] ?? 'stdout', data: buf.subarray(8, 8 + len) };
      buf = buf.subarray(8 + len);
    }
  }
}

/** Encodes one frame of the multiplexed format. */
export function muxFrame(stream: 'stdout' | 'stderr', data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream === 'stdout' ? 1 : 2;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}

export async function collectLogs(src: Readable): Promise<string> {
  let out = '';
  for await (const f of demux(src)) out += f.data.toString('utf8');
  return out;
}
