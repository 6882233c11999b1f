import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EmbeddedStore } from './embedded-store.ts';
import { PrefixMirror } from './prefix-mirror.ts';
import type { ClusterStore, PrefixSnapshot, Watch, WatchEvent, WatchOptions } from './store.ts';

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('prefix mirror', () => {
  test('lists once, then follows puts and deletes; parses only what changed', async (t) => {
    const store = await EmbeddedStore.open({});
    t.after(() => store.close());
    await store.put('nodes/b', '{"n":"b"}');
    await store.put('nodes/a', '{"n":"a"}');
    await store.put('other/x', '{"n":"x"}');
    const parsed: string[] = [];
    const m = new PrefixMirror(store, 'nodes/', (key, v) => {
      parsed.push(key);
      return JSON.parse(v) as { n: string };
    });
    t.after(() => m.close());
    assert.deepEqual(await m.get(), [{ n: 'a' }, { n: 'b' }]);
    assert.deepEqual(parsed.sort(), ['a', 'b']);

    await store.put('nodes/c', '{"n":"c"}');
    await store.put('nodes/a', '{"n":"a2"}');
    await store.delete('nodes/b');
    await settle();
    parsed.length = 0;
    assert.deepEqual(await m.get(), [{ n: 'a2' }, { n: 'c' }]);
    assert.deepEqual(parsed.sort(), ['a', 'c'], 'the unchanged value is not parsed again');
    parsed.length = 0;
    await m.get();
    assert.deepEqual(parsed, [], 'nothing changed: nothing parsed');
  });

  test('a watch that ends: the next read lists again and watches anew; a failed list is retried', async () => {
    let snapshots = 0;
    let failList = false;
    const watchers: { cb: (e: WatchEvent) => void; opts: WatchOptions }[] = [];
    let entries = [{ key: 'nodes/a', value: '1', revision: 5, createRevision: 5 }];
    const store: Pick<ClusterStore, 'snapshotPrefix' | 'watchPrefix'> = {
      snapshotPrefix: async (): Promise<PrefixSnapshot> => {
        snapshots++;
        if (failList) throw new Error('store unreachable');
        return { entries, revision: Math.max(...entries.map((e) => e.revision)) };
      },
      watchPrefix: async (_p, cb, opts = {}): Promise<Watch> => {
        watchers.push({ cb, opts });
        return { close: async () => undefined };
      },
    };
    const m = new PrefixMirror(store, 'nodes/', (_k, v) => Number(v));
    assert.deepEqual(await m.get(), [1]);
    assert.equal(watchers[0]!.opts.startRevision, 6, 'watched from after the list: no gap');
    // an event older than what is held changes nothing; a newer one does
    watchers[0]!.cb({ type: 'put', key: 'nodes/a', value: '0', revision: 4 });
    watchers[0]!.cb({ type: 'put', key: 'nodes/b', value: '2', revision: 7 });
    assert.deepEqual(await m.get(), [1, 2]);
    assert.equal(snapshots, 1);

    entries = [{ key: 'nodes/a', value: '3', revision: 9, createRevision: 5 }];
    failList = true;
    watchers[0]!.opts.onError!(new Error('required revision has been compacted'));
    await assert.rejects(m.get(), /store unreachable/);
    failList = false;
    assert.deepEqual(await m.get(), [3], 'listed again: b is gone, a is new');
    assert.equal(snapshots, 3);
    assert.equal(watchers.length, 2);
    await m.close();
    await assert.rejects(m.get(), /closed/);
  });
});
