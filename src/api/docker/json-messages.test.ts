import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { jsonMessages, objectEnd } from './json-messages.ts';

async function parse(chunks: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const m of jsonMessages(Readable.from(chunks.map((c) => Buffer.from(c))))) out.push(m);
  return out;
}

describe("Docker's JSON message stream", () => {
  test('objects on lines, back to back, split anywhere, with braces inside strings', async () => {
    assert.deepEqual(await parse(['{"status":"a"}\r\n{"status":"b', '"}{"id":"x","status":"{not}"}', '\n']), [
      { status: 'a' },
      { status: 'b' },
      { id: 'x', status: '{not}' },
    ]);
    assert.deepEqual(await parse(['{"s":"q\\"}"}']), [{ s: 'q"}' }]);
  });
  test('objectEnd: -1 until the object closes', () => {
    assert.equal(objectEnd('  {"a":{"b":1}'), -1);
    assert.equal(objectEnd('  {"a":{"b":1}} {'), 15);
  });
  test('a fragment that is not JSON is an error', async () => {
    await assert.rejects(parse(['{"a":1}', 'nonsense}']));
  });
});
