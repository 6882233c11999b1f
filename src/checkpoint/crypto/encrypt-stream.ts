import { createCipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ByteQueue } from './byte-queue.ts';
import { ClusterKey, Keyring } from './cluster-key.ts';
import {
  chunkAad,
  chunkNonce,
  contextBytes,
  defaultChunkSize,
  deriveFileKey,
  encodeHeader,
  maxChunks,
  noncePrefixLength,
  saltLength,
  type ArchiveHeader,
} from './format.ts';

export interface EncryptOptions {
  /** Plaintext bytes per chunk (default 1 MiB). */
  readonly chunkSize?: number;
  /**
   * Bound into every chunk's authentication but not stored: decryption must
   * pass the same value. The checkpoint store passes the checkpoint's identity.
   */
  readonly context?: string | Uint8Array;
}

/** Plaintext in, encrypted archive out (format in ../README.md). */
export class EncryptStream extends Transform {
  readonly keyId: string;
  readonly chunkSize: number;
  readonly #header: ArchiveHeader;
  readonly #fileKey: Buffer;
  readonly #context: Buffer;
  readonly #queue = new ByteQueue();
  #index = 0;
  #plainBytes = 0;

  constructor(key: ClusterKey, opts: EncryptOptions = {}) {
    super();
    this.keyId = key.id;
    this.chunkSize = opts.chunkSize ?? defaultChunkSize;
    const salt = randomBytes(saltLength);
    this.#header = encodeHeader({
      chunkSize: this.chunkSize,
      keyId: key.id,
      salt,
      noncePrefix: randomBytes(noncePrefixLength),
    });
    this.#fileKey = deriveFileKey(key.material(), salt);
    this.#context = contextBytes(opts.context);
    this.push(this.#header.bytes);
  }

  /** Plaintext bytes held back until they fill a chunk. */
  get bufferedBytes(): number {
    return this.#queue.length;
  }

  /** Plaintext bytes consumed so far. */
  get plainBytes(): number {
    return this.#plainBytes;
  }

  override _transform(piece: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#plainBytes += piece.length;
      this.#queue.push(piece);
      // Strictly more than a chunk: only then is the chunk known not to be the final one.
      while (this.#queue.length > this.chunkSize) this.#seal(this.#queue.take(this.chunkSize), false);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#seal(this.#queue.take(this.#queue.length), true);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #seal(plain: Buffer, final: boolean): void {
    if (this.#index > maxChunks) throw new RangeError('archive too large for one file (2^32 chunks)');
    const cipher = createCipheriv(
      'aes-256-gcm',
      this.#fileKey,
      chunkNonce(this.#header.noncePrefix, this.#index),
      {
        authTagLength: 16,
      },
    );
    cipher.setAAD(chunkAad(this.#header, this.#index, final, this.#context));
    this.push(cipher.update(plain));
    const rest = cipher.final();
    if (rest.length > 0) this.push(rest);
    this.push(cipher.getAuthTag());
    this.#index++;
  }
}

/** Encrypts with the key given, or with the keyring's current key. */
export function createEncryptStream(key: ClusterKey | Keyring, opts: EncryptOptions = {}): EncryptStream {
  return new EncryptStream(key instanceof Keyring ? key.current : key, opts);
}
