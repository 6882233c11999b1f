import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterStore } from './store.ts';
import { timedStore } from './timed-store.ts';

test('timed store: each request reported with its op and outcome; the rest passes through', async () => {
  const seen: [string, boolean][] = [];
  const inner = {
    kind: 'memory',
    get: async (k: string) => (k === 'a' ? { key: 'a', value: '1', modRevision: 1 } : undefined),
    put: async () => {
      throw new Error('store down');
    },
    close: async () => undefined,
  } as unknown as ClusterStore;
  const s = timedStore(inner, (op, seconds, ok) => {
    assert.ok(seconds >= 0);
    seen.push([op, ok]);
  });
  assert.equal(s.kind, 'memory');
  assert.equal((await s.get('a'))?.value, '1');
  await assert.rejects(s.put('a', '2'), /store down/);
  await s.close();
  assert.deepEqual(seen, [
    ['get', true],
    ['put', false],
  ]);
});
