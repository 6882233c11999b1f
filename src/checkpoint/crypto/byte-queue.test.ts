import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteQueue } from './byte-queue.ts';

describe('ByteQueue', () => {
  test('takes exact spans across pieces and keeps the rest', () => {
    const q = new ByteQueue();
    q.push(Buffer.from('abc'));
    q.push(Buffer.alloc(0));
    q.push(Buffer.from('defgh'));
    assert.equal(q.length, 8);
    assert.equal(q.peek(4).toString(), 'abcd');
    assert.equal(q.take(4).toString(), 'abcd');
    assert.equal(q.length, 4);
    assert.equal(q.take(4).toString(), 'efgh');
    assert.equal(q.take(0).length, 0);
    assert.throws(() => q.take(1), RangeError);
  });
});
