import { randomBytes, type Hash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClusterKey, Keyring } from './cluster-key.ts';
import { createDecryptStream, type DecryptOptions } from './decrypt-stream.ts';
import { createEncryptStream, type EncryptOptions } from './encrypt-stream.ts';

/** Random bytes produced piece by piece, never held whole; `hash` sees every byte. */
export async function* randomSource(total: number, piece: number, hash?: Hash): AsyncGenerator<Buffer> {
  for (let left = total; left > 0; left -= piece) {
    const b = randomBytes(Math.min(piece, left));
    hash?.update(b);
    yield b;
  }
}

export async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p);
  return Buffer.concat(parts);
}

export async function encryptBuffer(
  plain: Buffer,
  key: ClusterKey | Keyring,
  opts?: EncryptOptions,
): Promise<Buffer> {
  return collect(Readable.from([plain]).pipe(createEncryptStream(key, opts)));
}

export async function decryptBuffer(
  sealed: Buffer,
  keyring: ClusterKey | Keyring,
  opts?: DecryptOptions,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(
    Readable.from(sealed.length === 0 ? [] : [sealed]),
    createDecryptStream(keyring, opts),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        parts.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(parts);
}
