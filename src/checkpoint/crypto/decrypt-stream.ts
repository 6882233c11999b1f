import { createDecipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ByteQueue } from './byte-queue.ts';
import { ClusterKey, Keyring } from './cluster-key.ts';
import { ArchiveIntegrityError, type ArchiveLocation } from './errors.ts';
import {
  archiveMagic,
  chunkAad,
  chunkNonce,
  contextBytes,
  decodeHeader,
  deriveFileKey,
  headerLength,
  magicMatches,
  maxChunks,
  tagLength,
  type ArchiveHeader,
} from './format.ts';

export interface DecryptOptions {
  /** Must equal the context the archive was encrypted with. */
  readonly context?: string | Uint8Array;
  /** Named in errors. */
  readonly location?: ArchiveLocation;
}

/**
 * Encrypted archive in, plaintext out. A chunk's plaintext is released only
 * after its tag verified, so a consumer never sees unauthenticated bytes; the
 * end of the stream is authentic only once 'end' is emitted (the final-chunk
 * flag proves nothing was cut off).
 */
export class DecryptStream extends Transform {
  readonly #keyring: Keyring;
  readonly #context: Buffer;
  readonly #location: ArchiveLocation | undefined;
  readonly #queue = new ByteQueue();
  #header: ArchiveHeader | undefined;
  #fileKey: Buffer | undefined;
  #index = 0;

  constructor(keyring: Keyring | ClusterKey, opts: DecryptOptions = {}) {
    super();
    this.#keyring = keyring instanceof ClusterKey ? new Keyring(keyring) : keyring;
    this.#context = contextBytes(opts.context);
    this.#location = opts.location;
  }

  /** The archive's key id, once the header was read. */
  get keyId(): string | undefined {
    return this.#header?.keyId;
  }

  /** Encrypted bytes held back until they form a whole chunk. */
  get bufferedBytes(): number {
    return this.#queue.length;
  }

  override _transform(piece: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#queue.push(piece);
      const header = this.#header ?? this.#readHeader();
      if (header !== undefined) {
        const span = header.chunkSize + tagLength;
        // A chunk is known not to be the last only once a byte beyond it arrived.
        while (this.#queue.length > span) this.#openNonFinal(this.#queue.take(span));
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      const header = this.#header ?? this.#readHeader(true);
      if (header === undefined) throw this.#fail('truncated', 'empty or truncated header');
      this.#openFinal(this.#queue.take(this.#queue.length), header);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #readHeader(atEnd = false): ArchiveHeader | undefined {
    if (!magicMatches(this.#queue.peek(archiveMagic.length))) {
      throw this.#fail('bad_magic', 'bad magic: not a lifeboat encrypted archive');
    }
    if (this.#queue.length < headerLength) {
      if (atEnd) throw this.#fail('truncated', `truncated inside the ${headerLength}-byte header`);
      return undefined;
    }
    const header = decodeHeader(this.#queue.take(headerLength), this.#location);
    const key = this.#keyring.get(header.keyId);
    if (key === undefined) {
      throw this.#fail(
        'unknown_key',
        `encrypted with key id ${header.keyId}, which is not in this node's keyring (holds ${this.#keyring.ids().join(', ')})`,
      );
    }
    this.#header = header;
    this.#fileKey = deriveFileKey(key.material(), header.salt);
    return header;
  }

  #openNonFinal(sealed: Buffer): void {
    const plain = this.#tryOpen(sealed, false);
    if (plain === undefined) {
      if (this.#tryOpen(sealed, true) !== undefined) {
        throw this.#fail('trailing_data', `data follows the final chunk ${this.#index}`, this.#index);
      }
      throw this.#fail('auth_failed', `auth tag mismatch at chunk ${this.#index}`, this.#index);
    }
    this.#accept(plain);
  }

  #openFinal(sealed: Buffer, header: ArchiveHeader): void {
    if (sealed.length < tagLength) {
      throw this.#fail(
        'truncated',
        this.#index === 0 && sealed.length === 0
          ? 'no chunks after the header'
          : `chunk ${this.#index} is cut short`,
        this.#index,
      );
    }
    const plain = this.#tryOpen(sealed, true);
    if (plain === undefined) {
      if (sealed.length === header.chunkSize + tagLength && this.#tryOpen(sealed, false) !== undefined) {
        throw this.#fail(
          'truncated',
          `ends after chunk ${this.#index}, which is not the final chunk`,
          this.#index + 1,
        );
      }
      throw this.#fail(
        'auth_failed',
        `auth tag mismatch at chunk ${this.#index} (the last one)`,
        this.#index,
      );
    }
    this.#accept(plain);
  }

  #accept(plain: Buffer): void {
    if (plain.length > 0) this.push(plain);
    this.#index++;
  }

  #tryOpen(sealed: Buffer, final: boolean): Buffer | undefined {
    const header = this.#header;
    const fileKey = this.#fileKey;
    if (header === undefined || fileKey === undefined) throw new Error('archive header not read');
    if (this.#index > maxChunks)
      throw this.#fail('bad_header', 'more chunks than the format allows', this.#index);
    const decipher = createDecipheriv('aes-256-gcm', fileKey, chunkNonce(header.noncePrefix, this.#index), {
      authTagLength: tagLength,
    });
    decipher.setAAD(chunkAad(header, this.#index, final, this.#context));
    decipher.setAuthTag(sealed.subarray(sealed.length - tagLength));
    const head = decipher.update(sealed.subarray(0, sealed.length - tagLength));
    try {
      const tail = decipher.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return undefined;
    }
  }

  #fail(reason: ConstructorParameters<typeof ArchiveIntegrityError>[0], detail: string, chunk?: number) {
    return new ArchiveIntegrityError(reason, detail, {
      ...(chunk === undefined ? {} : { chunk }),
      ...(this.#location === undefined ? {} : { location: this.#location }),
    });
  }
}

/** Decrypts with whichever keyring key the archive header names. */
export function createDecryptStream(keyring: Keyring | ClusterKey, opts: DecryptOptions = {}): DecryptStream {
  return new DecryptStream(keyring, opts);
}
