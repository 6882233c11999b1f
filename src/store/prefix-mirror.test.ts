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

  test('a watch that stalls without ending: a read a minute after the last list lists again in the background', async () => {
    let clock = 0;
    let entries = [{ key: 'nodes/a', value: '1', revision: 5, createRevision: 5 }];
    let revision = 5;
    let watches = 0;
    let closed = 0;
    const store: Pick<ClusterStore, 'snapshotPrefix' | 'watchPrefix'> = {
      snapshotPrefix: async (): Promise<PrefixSnapshot> => ({ entries, revision }),
      // a stalled stream: it never delivers and never ends
      watchPrefix: async (): Promise<Watch> => {
        watches++;
        return { close: async () => void closed++ };
      },
    };
    const m = new PrefixMirror(store, 'nodes/', (_k, v) => Number(v), undefined, {
      resyncEveryMs: 60_000,
      now: () => clock,
    });
    assert.deepEqual(await m.get(), [1]);
    // the store moves on; the stalled watch tells nothing
    entries = [{ key: 'nodes/b', value: '2', revision: 7, createRevision: 7 }];
    revision = 7;
    clock = 59_999;
    assert.deepEqual(await m.get(), [1], 'within the minute: what the mirror has');
    clock = 60_000;
    assert.deepEqual(await m.get(), [1], 'the read that starts the list does not wait for it');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await m.get(), [2], 'listed again: a is gone, b is there');
    assert.equal(watches, 2, 'watching anew from the list');
    assert.equal(closed, 1, 'the stalled watch is closed');
    await m.close();
  });
});
