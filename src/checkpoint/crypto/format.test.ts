import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ArchiveIntegrityError } from './errors.ts';
import { archiveMagic, chunkAad, chunkNonce, decodeHeader, encodeHeader, headerLength } from './format.ts';

describe('archive header', () => {
  const fields = {
    chunkSize: 4096,
    keyId: '0011223344556677',
    salt: randomBytes(16),
    noncePrefix: randomBytes(8),
  };

  test('has the documented byte layout and decodes back', () => {
    const h = encodeHeader(fields);
    assert.equal(h.bytes.length, headerLength);
    assert.deepEqual(h.bytes.subarray(0, 8), archiveMagic);
    assert.equal(h.bytes[8], 1);
    assert.equal(h.bytes[9], 1);
    assert.equal(h.bytes.readUInt32BE(12), 4096);
    assert.equal(h.bytes.subarray(16, 24).toString('hex'), fields.keyId);
    const d = decodeHeader(h.bytes);
    assert.equal(d.chunkSize, 4096);
    assert.equal(d.keyId, fields.keyId);
    assert.deepEqual(d.salt, fields.salt);
    assert.deepEqual(d.noncePrefix, fields.noncePrefix);
  });

  test('names what is wrong with a bad header', () => {
    const h = encodeHeader(fields).bytes;
    const reason = (b: Buffer) => {
      try {
        decodeHeader(b);
        return 'ok';
      } catch (err) {
        assert.ok(err instanceof ArchiveIntegrityError);
        return err.reason;
      }
    };
    const flip = (i: number, v: number) => {
      const b = Buffer.from(h);
      b[i] = v;
      return b;
    };
    assert.equal(reason(flip(0, 0)), 'bad_magic');
    assert.equal(reason(flip(8, 2)), 'unsupported_format');
    assert.equal(reason(flip(12, 0xff)), 'bad_header');
    assert.equal(reason(h.subarray(0, 20)), 'truncated');
  });

  test('nonce and AAD carry the chunk index and final flag', () => {
    const h = encodeHeader(fields);
    assert.notDeepEqual(chunkNonce(h.noncePrefix, 1), chunkNonce(h.noncePrefix, 2));
    assert.notDeepEqual(chunkAad(h, 3, false, Buffer.alloc(0)), chunkAad(h, 3, true, Buffer.alloc(0)));
    assert.notDeepEqual(chunkAad(h, 3, false, Buffer.from('a')), chunkAad(h, 3, false, Buffer.from('b')));
  });
});
