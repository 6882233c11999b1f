import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { ClusterKey } from './cluster-key.ts';
import { createDecryptStream } from './decrypt-stream.ts';
import { createEncryptStream } from './encrypt-stream.ts';
import { defaultChunkSize, headerLength, tagLength } from './format.ts';
import { decryptBuffer, encryptBuffer, randomSource } from './test-helpers.ts';

const key = new ClusterKey(randomBytes(32));

describe('EncryptStream / DecryptStream', () => {
  test('round-trips a multi-MB stream without holding more than a chunk or two', async () => {
    const total = 24 * 1024 * 1024 + 12345;
    const piece = 64 * 1024;
    const sent = createHash('sha256');
    const received = createHash('sha256');
    const enc = createEncryptStream(key);
    const dec = createDecryptStream(key);
    let receivedBytes = 0;
    let peak = 0;
    const sample = () => {
      const held =
        enc.bufferedBytes +
        enc.readableLength +
        enc.writableLength +
        dec.bufferedBytes +
        dec.readableLength +
        dec.writableLength;
      peak = Math.max(peak, held);
    };
    await pipeline(
      randomSource(total, piece, sent),
      enc,
      dec,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          sample();
          receivedBytes += chunk.length;
          received.update(chunk);
          cb();
        },
      }),
    );
    assert.equal(receivedBytes, total);
    assert.equal(received.digest('hex'), sent.digest('hex'));
    assert.equal(enc.plainBytes, total);
    assert.equal(dec.keyId, key.id);
    // Encrypt holds < 1 chunk + a piece, decrypt < 1 sealed chunk + a piece, plus one chunk in flight each way.
    const bound = 4 * (defaultChunkSize + tagLength) + 4 * piece;
    assert.ok(peak <= bound, `held ${peak} bytes at peak, bound ${bound}`);
  });

  test('every size around chunk boundaries round-trips, with the documented length', async () => {
    const cs = 256;
    for (const size of [0, 1, cs - 1, cs, cs + 1, 3 * cs, 3 * cs + 7]) {
      const plain = randomBytes(size);
      const sealed = await encryptBuffer(plain, key, { chunkSize: cs });
      const chunks = size === 0 ? 1 : Math.ceil(size / cs);
      assert.equal(sealed.length, headerLength + size + chunks * tagLength, `size ${size}`);
      assert.deepEqual(await decryptBuffer(sealed, key), plain, `size ${size}`);
    }
  });

  test('the same plaintext encrypts differently each time', async () => {
    const plain = randomBytes(1000);
    const a = await encryptBuffer(plain, key, { chunkSize: 256 });
    const b = await encryptBuffer(plain, key, { chunkSize: 256 });
    assert.notDeepEqual(a, b);
  });

  test('rejects a chunk size outside the format limits', () => {
    assert.throws(() => createEncryptStream(key, { chunkSize: 10 }), RangeError);
    assert.throws(() => createEncryptStream(key, { chunkSize: 64 * 1024 * 1024 }), RangeError);
  });
});
