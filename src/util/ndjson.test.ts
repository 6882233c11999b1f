import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ndjson } from './ndjson.ts';

test('ndjson: values split across chunks, blank lines skipped, a last line without newline is not one yet', async () => {
  const input = Readable.from([Buffer.from('{"a":1}\n{"b"'), Buffer.from(':2}\n\n  \n{"c"'), ':3}']);
  const got: unknown[] = [];
  for await (const v of ndjson(input)) got.push(v);
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }]);
});
