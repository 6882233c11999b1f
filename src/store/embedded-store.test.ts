import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EmbeddedStore } from './embedded-store.ts';
import { StoreCompactedError, StoreCorruptError, StoreLockedError } from './errors.ts';
import { openStore } from './open-store.ts';
import { storeContract } from './store-contract.ts';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

storeContract('embedded (state file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
  const root = await EmbeddedStore.open({ path: join(dir, 'state.json') });
  return {
    connect: async () => root.connect(),
    cleanup: async () => {
      await root.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('EmbeddedStore persistence', () => {
  test('a reopened store has every plain key, keeps counting revisions, and drops leased keys', async (t) => {
    const path = join(await tempDir(t), 'sub', 'state.json');
    const s1 = await EmbeddedStore.open({ path });
    assert.equal(s1.kind, 'embedded');
    await s1.put('nodes/n1', '{"addr":"10.0.0.1"}');
    const lease = await s1.grantLease(30);
    await s1.put('nodes/n1/alive', 'yes', { lease: lease.id });
    const last = await s1.put('containers/c1', '{"node":"n1","generation":3}');
    await s1.close();

    const s2 = await EmbeddedStore.open({ path });
    t.after(() => s2.close());
    assert.equal((await s2.get('nodes/n1'))?.value, '{"addr":"10.0.0.1"}');
    const c1 = await s2.get('containers/c1');
    assert.equal(c1?.revision, last, 'revisions are kept');
    assert.equal(await s2.get('nodes/n1/alive'), undefined, 'keys of leases do not survive a restart');
    assert.ok((await s2.put('x', 'y')) > last, 'revisions keep increasing');
    // CAS tokens taken before the restart still work.
    const cas = await s2.txn({
      compare: [{ key: 'containers/c1', modRevision: last }],
      success: [{ op: 'put', key: 'containers/c1', value: 'moved' }],
    });
    assert.equal(cas.succeeded, true);
  });

  test('the state file is replaced atomically and leaves no temp files', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'state.json');
    const s = await EmbeddedStore.open({ path });
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.put(`k/${i}`, String(i))));
    const doc = JSON.parse(await readFile(path, 'utf8')) as { keys: unknown[]; revision: number };
    assert.equal(doc.keys.length, 50, 'every resolved put is on disk');
    assert.equal(doc.revision, 50);
    assert.deepEqual((await readdir(dir)).sort(), ['state.json', 'state.json.lock']);
    await s.close();
    assert.deepEqual(await readdir(dir), ['state.json']);
  });

  test('a second store on the same file is refused while the first is open', async (t) => {
    const path = join(await tempDir(t), 'state.json');
    const s1 = await EmbeddedStore.open({ path });
    await assert.rejects(EmbeddedStore.open({ path }), StoreLockedError);
    await s1.close();
    const s2 = await EmbeddedStore.open({ path });
    await s2.close();
  });

  test('a lock left by a dead process is taken over', async (t) => {
    const path = join(await tempDir(t), 'state.json');
    await writeFile(`${path}.lock`, '999999999\n');
    const s = await EmbeddedStore.open({ path });
    await s.close();
  });

  test('an unreadable state file is an error, not an empty cluster', async (t) => {
    const path = join(await tempDir(t), 'state.json');
    await writeFile(path, '{"format":"lifeboat-embedded-store","version":1,"revision":3,"keys":[{"key":1}]}');
    await assert.rejects(EmbeddedStore.open({ path }), StoreCorruptError);
    await writeFile(path, 'not json');
    await assert.rejects(EmbeddedStore.open({ path }), StoreCorruptError);
    // The failed opens released their lock.
    await writeFile(path, '{"format":"lifeboat-embedded-store","version":1,"revision":3,"keys":[]}');
    const s = await EmbeddedStore.open({ path });
    assert.equal(await s.put('a', 'b'), 4);
    await s.close();
  });

  test('watching from before the store was opened is refused', async (t) => {
    const path = join(await tempDir(t), 'state.json');
    const s1 = await EmbeddedStore.open({ path });
    await s1.put('a', '1');
    await s1.put('a', '2');
    await s1.close();
    const s2 = await EmbeddedStore.open({ path });
    t.after(() => s2.close());
    await assert.rejects(
      s2.watchPrefix('', () => undefined, { startRevision: 1 }),
      StoreCompactedError,
    );
    const w = await s2.watchPrefix('', () => undefined, { startRevision: 3 });
    await w.close();
  });

  test('memory: and embedded: URLs open embedded stores', async (t) => {
    const mem = await openStore('memory:');
    assert.equal(mem.kind, 'memory');
    await mem.put('a', 'b');
    await mem.close();
    const path = join(await tempDir(t), 'state.json');
    const s = await openStore(`embedded://${path}`);
    assert.equal(s.kind, 'embedded');
    await s.close();
  });
});
