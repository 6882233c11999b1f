import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ClusterKey, Keyring } from './cluster-key.ts';
import { ArchiveIntegrityError, type ArchiveIntegrityReason } from './errors.ts';
import { headerLength, tagLength } from './format.ts';
import { decryptBuffer, encryptBuffer } from './test-helpers.ts';

const key = new ClusterKey(randomBytes(32));
const cs = 256;
const span = cs + tagLength;

async function rejection(sealed: Buffer, keyring: ClusterKey | Keyring = key, context?: string) {
  try {
    await decryptBuffer(sealed, keyring, context === undefined ? {} : { context });
  } catch (err) {
    assert.ok(err instanceof ArchiveIntegrityError, `expected ArchiveIntegrityError, got ${String(err)}`);
    assert.equal(err.code, 'archive_corrupt');
    return err;
  }
  assert.fail('tampered archive was accepted');
}

async function expectReason(sealed: Buffer, reason: ArchiveIntegrityReason, chunk?: number) {
  const err = await rejection(sealed);
  assert.equal(err.reason, reason, err.message);
  if (chunk !== undefined) assert.equal(err.chunk, chunk, err.message);
  return err;
}

describe('DecryptStream rejects tampering', async () => {
  const plain = randomBytes(4 * cs + 100); // 5 chunks: 4 full + 1 short final
  const sealed = await encryptBuffer(plain, key, { chunkSize: cs, context: 'ctx' });
  const open = (b: Buffer, k: ClusterKey | Keyring = key) => decryptBuffer(b, k, { context: 'ctx' });

  test('the untouched archive decrypts', async () => {
    assert.deepEqual(await open(sealed), plain);
  });

  test('a flipped bit anywhere is rejected', async () => {
    const step = 7;
    for (let i = 0; i < sealed.length; i += step) {
      const bad = Buffer.from(sealed);
      bad[i] = bad[i]! ^ 0x01;
      await assert.rejects(open(bad), ArchiveIntegrityError, `flip at byte ${i}`);
    }
  });

  test('a flipped ciphertext byte names its chunk', async () => {
    const bad = Buffer.from(sealed);
    const at = headerLength + 2 * span + 5;
    bad[at] = bad[at]! ^ 0xff;
    const err = await rejection(bad, key, 'ctx');
    assert.equal(err.reason, 'auth_failed');
    assert.equal(err.chunk, 2);
    assert.match(err.message, /auth tag mismatch at chunk 2/);
  });

  test('truncation is detected, at a chunk boundary or inside one', async () => {
    const cutAtBoundary = await rejection(sealed.subarray(0, headerLength + 3 * span), key, 'ctx');
    assert.equal(cutAtBoundary.reason, 'truncated');
    assert.match(cutAtBoundary.message, /ends after chunk 2/);
    const cutInside = await rejection(sealed.subarray(0, sealed.length - 30), key, 'ctx');
    assert.ok(['truncated', 'auth_failed'].includes(cutInside.reason));
    await expectReason(sealed.subarray(0, headerLength), 'truncated');
    await expectReason(sealed.subarray(0, 20), 'truncated');
    await expectReason(Buffer.alloc(0), 'truncated');
  });

  test('swapped chunks are rejected', async () => {
    const bad = Buffer.concat([
      sealed.subarray(0, headerLength),
      sealed.subarray(headerLength + span, headerLength + 2 * span),
      sealed.subarray(headerLength, headerLength + span),
      sealed.subarray(headerLength + 2 * span),
    ]);
    const err = await rejection(bad, key, 'ctx');
    assert.equal(err.reason, 'auth_failed');
    assert.equal(err.chunk, 0);
  });

  test('appended data is rejected', async () => {
    await assert.rejects(open(Buffer.concat([sealed, randomBytes(10)])), ArchiveIntegrityError);
    await assert.rejects(open(Buffer.concat([sealed, sealed.subarray(headerLength)])), ArchiveIntegrityError);
    const full = await encryptBuffer(randomBytes(2 * cs), key, { chunkSize: cs });
    const err = await rejection(Buffer.concat([full, randomBytes(50)]));
    assert.equal(err.reason, 'trailing_data');
  });

  test('a dropped middle chunk is rejected', async () => {
    const bad = Buffer.concat([
      sealed.subarray(0, headerLength + span),
      sealed.subarray(headerLength + 2 * span),
    ]);
    await assert.rejects(open(bad), ArchiveIntegrityError);
  });

  test('another context (another checkpoint) is rejected', async () => {
    const err = await rejection(sealed, key, 'other');
    assert.equal(err.reason, 'auth_failed');
    assert.equal(err.chunk, 0);
  });

  test('a non-archive is rejected for its magic', async () => {
    await expectReason(Buffer.from('ustar\0'.padEnd(600, 'x')), 'bad_magic');
  });

  test('a wrong key is a clear error naming the key ids', async () => {
    const other = new ClusterKey(randomBytes(32));
    const err = await rejection(sealed, other, 'ctx');
    assert.equal(err.reason, 'unknown_key');
    assert.ok(err.message.includes(key.id), err.message);
    assert.ok(err.message.includes(other.id), err.message);
    assert.match(err.hint ?? '', /keyring/);
  });

  test('a rotated keyring decrypts archives of the previous key and encrypts with the new one', async () => {
    const next = new ClusterKey(randomBytes(32));
    const ring = new Keyring(next, [key]);
    assert.deepEqual(await open(sealed, ring), plain);
    const fresh = await encryptBuffer(plain, ring, { chunkSize: cs });
    assert.equal(fresh.subarray(16, 24).toString('hex'), next.id);
    assert.deepEqual(await decryptBuffer(fresh, new Keyring(next)), plain);
    await assert.rejects(decryptBuffer(fresh, key), ArchiveIntegrityError);
  });
});
