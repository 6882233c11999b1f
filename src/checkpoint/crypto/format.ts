import { hkdfSync } from 'node:crypto';
import { keyIdLength } from './cluster-key.ts';
import { ArchiveIntegrityError, type ArchiveLocation } from './errors.ts';

/**
 * Byte layout of an encrypted archive (see ../README.md):
 *   header (48 bytes) | chunk 0 | chunk 1 | ... | final chunk
 * Each chunk is AES-256-GCM ciphertext of `chunkSize` plaintext bytes (the
 * final one 0..chunkSize) followed by its 16-byte tag.
 */
export const archiveMagic = Buffer.from([0x89, 0x4c, 0x42, 0x58, 0x0d, 0x0a, 0x1a, 0x0a]); // "\x89LBX\r\n\x1a\n"
export const archiveFormatVersion = 1;
/** AES-256-GCM under a per-file key derived with HKDF-SHA256 from the cluster key and the header's salt. */
export const algorithmAes256GcmHkdf = 1;
export const headerLength = 48;
export const saltLength = 16;
export const noncePrefixLength = 8;
export const tagLength = 16;
export const defaultChunkSize = 1024 * 1024;
export const minChunkSize = 64;
/** Bounds what a damaged header can make a reader allocate. */
export const maxChunkSize = 16 * 1024 * 1024;
/** The nonce's counter is 32 bits. */
export const maxChunks = 0xffffffff;

const hkdfInfo = Buffer.from('lifeboat checkpoint archive v1', 'utf8');

export interface ArchiveHeader {
  readonly chunkSize: number;
  /** Hex, as ClusterKey.id. */
  readonly keyId: string;
  readonly salt: Buffer;
  readonly noncePrefix: Buffer;
  /** The 48 header bytes, authenticated as part of every chunk's AAD. */
  readonly bytes: Buffer;
}

export function assertChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < minChunkSize || chunkSize > maxChunkSize) {
    throw new RangeError(
      `chunk size must be an integer in [${minChunkSize}, ${maxChunkSize}], got ${chunkSize}`,
    );
  }
}

export function encodeHeader(h: Omit<ArchiveHeader, 'bytes'>): ArchiveHeader {
  assertChunkSize(h.chunkSize);
  const keyId = Buffer.from(h.keyId, 'hex');
  if (
    keyId.length !== keyIdLength ||
    h.salt.length !== saltLength ||
    h.noncePrefix.length !== noncePrefixLength
  ) {
    throw new RangeError('archive header fields have the wrong length');
  }
  const bytes = Buffer.alloc(headerLength);
  archiveMagic.copy(bytes, 0);
  bytes.writeUInt8(archiveFormatVersion, 8);
  bytes.writeUInt8(algorithmAes256GcmHkdf, 9);
  bytes.writeUInt32BE(h.chunkSize, 12);
  keyId.copy(bytes, 16);
  h.salt.copy(bytes, 24);
  h.noncePrefix.copy(bytes, 40);
  return { ...h, bytes };
}

/** True when `prefix` (possibly shorter than the magic) could still start an archive. */
export function magicMatches(prefix: Buffer): boolean {
  const n = Math.min(prefix.length, archiveMagic.length);
  return prefix.subarray(0, n).equals(archiveMagic.subarray(0, n));
}

export function decodeHeader(bytes: Buffer, location?: ArchiveLocation): ArchiveHeader {
  const opts = location === undefined ? {} : { location };
  if (bytes.length < headerLength) {
    throw new ArchiveIntegrityError('truncated', `truncated inside the ${headerLength}-byte header`, opts);
  }
  if (!magicMatches(bytes)) {
    throw new ArchiveIntegrityError('bad_magic', 'bad magic: not a lifeboat encrypted archive', opts);
  }
  const version = bytes.readUInt8(8);
  const algorithm = bytes.readUInt8(9);
  if (version !== archiveFormatVersion || algorithm !== algorithmAes256GcmHkdf) {
    throw new ArchiveIntegrityError(
      'unsupported_format',
      `unsupported archive format ${version} (algorithm ${algorithm}); this node reads format ${archiveFormatVersion}`,
      opts,
    );
  }
  const chunkSize = bytes.readUInt32BE(12);
  if (bytes.readUInt16BE(10) !== 0 || chunkSize < minChunkSize || chunkSize > maxChunkSize) {
    throw new ArchiveIntegrityError('bad_header', `damaged header (chunk size ${chunkSize})`, opts);
  }
  const own = Buffer.from(bytes.subarray(0, headerLength));
  return {
    chunkSize,
    keyId: own.subarray(16, 24).toString('hex'),
    salt: own.subarray(24, 40),
    noncePrefix: own.subarray(40, 48),
    bytes: own,
  };
}

/** A key per file: nonces then only need to be unique within one file, and no key ever sees 2^32 random nonces. */
export function deriveFileKey(clusterKey: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', clusterKey, salt, hkdfInfo, 32));
}

export function chunkNonce(prefix: Buffer, index: number): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, 8);
  return nonce;
}

/**
 * Header, chunk index and final flag go into every chunk's AAD: a reordered,
 * dropped or appended chunk, or an edited header, fails authentication. The
 * caller's context (e.g. which checkpoint this is) comes last, so an archive
 * copied over another checkpoint's file fails too.
 */
export function chunkAad(header: ArchiveHeader, index: number, final: boolean, context: Buffer): Buffer {
  const aad = Buffer.alloc(headerLength + 5 + context.length);
  header.bytes.copy(aad, 0);
  aad.writeUInt32BE(index, headerLength);
  aad.writeUInt8(final ? 1 : 0, headerLength + 4);
  context.copy(aad, headerLength + 5);
  return aad;
}

export function contextBytes(context: string | Uint8Array | undefined): Buffer {
  if (context === undefined) return Buffer.alloc(0);
  return typeof context === 'string' ? Buffer.from(context, 'utf8') : Buffer.from(context);
}
