/**
 * The behaviour every ClusterStore implementation must show, as a test suite
 * that each implementation's test file runs against its own harness.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CampaignAbortedError, LeaseLostError, StoreClosedError } from './errors.ts';
import type { ClusterStore, Leadership, WatchEvent } from './store.ts';

export interface StoreHarness {
  /** A new client on the same data, as a second manager would have. */
  connect(): Promise<ClusterStore>;
  /** Closes everything the harness opened and removes the data. */
  cleanup(): Promise<void>;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

function brief(events: WatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.key}${e.value === undefined ? '' : '=' + e.value}`);
}

export function storeContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`ClusterStore contract: ${name}`, () => {
    const open = async (t: { after(fn: () => Promise<void>): void }): Promise<StoreHarness> => {
      const h = await makeHarness();
      t.after(() => h.cleanup());
      return h;
    };

    test('put, get, getPrefix, delete and deletePrefix', async (t) => {
      const s = await (await open(t)).connect();
      assert.equal(await s.get('nodes/n1'), undefined);
      const r1 = await s.put('nodes/n2', '{"n":2}');
      const r2 = await s.put('nodes/n1', '{"n":1}');
      await s.put('nodesx', 'outside');
      assert.ok(r2 > r1, 'revisions increase');
      const e = await s.get('nodes/n1');
      assert.equal(e?.value, '{"n":1}');
      assert.equal(e?.revision, r2);
      assert.equal(e?.createRevision, r2);
      assert.equal(e?.lease, undefined);
      assert.deepEqual(
        (await s.getPrefix('nodes/')).map((x) => x.key),
        ['nodes/n1', 'nodes/n2'],
      );
      const r3 = await s.put('nodes/n1', '{"n":11}');
      const again = await s.get('nodes/n1');
      assert.equal(again?.revision, r3);
      assert.equal(again?.createRevision, r2, 'createRevision survives updates');
      const snap = await s.snapshotPrefix('nodes/');
      assert.ok(snap.revision >= r3);
      assert.equal(await s.delete('nodes/n1'), 1);
      assert.equal(await s.delete('nodes/n1'), 0);
      await s.put('nodes/n3', 'x');
      assert.equal(await s.deletePrefix('nodes/'), 2);
      assert.deepEqual(await s.getPrefix('nodes/'), []);
      assert.equal((await s.get('nodesx'))?.value, 'outside');
    });

    test('txn: compare-and-swap on the modification revision', async (t) => {
      const s = await (await open(t)).connect();
      const rev = await s.put('containers/c1', 'gen1');
      const cas = (expect: number, value: string) =>
        s.txn({
          compare: [{ key: 'containers/c1', modRevision: expect }],
          success: [{ op: 'put', key: 'containers/c1', value }],
          failure: [{ op: 'get', key: 'containers/c1' }],
        });
      const ok = await cas(rev, 'gen2');
      assert.equal(ok.succeeded, true);
      assert.equal(ok.results[0]?.op, 'put');
      const stale = await cas(rev, 'gen2-conflict');
      assert.equal(stale.succeeded, false);
      const cur = stale.results[0];
      assert.ok(cur !== undefined && 'entries' in cur);
      assert.equal(cur.entries[0]?.value, 'gen2');
      assert.equal(cur.entries[0]?.revision, ok.revision);
      assert.equal((await cas(ok.revision, 'gen3')).succeeded, true);
      assert.equal((await s.get('containers/c1'))?.value, 'gen3');
      // A missing key has revision 0.
      const absent = await s.txn({
        compare: [{ key: 'containers/none', modRevision: 0 }],
        success: [{ op: 'put', key: 'containers/none', value: 'v' }],
      });
      assert.equal(absent.succeeded, true);
    });

    test('txn: create if absent, value compares, several ops in one revision', async (t) => {
      const s = await (await open(t)).connect();
      const create = (v: string) =>
        s.txn({
          compare: [{ key: 'ticker/c1', exists: false }],
          success: [{ op: 'put', key: 'ticker/c1', value: v }],
        });
      assert.equal((await create('a')).succeeded, true);
      assert.equal((await create('b')).succeeded, false);
      assert.equal((await s.get('ticker/c1'))?.value, 'a');
      const wrong = await s.txn({
        compare: [{ key: 'ticker/c1', value: 'zzz' }],
        success: [{ op: 'delete', key: 'ticker/c1' }],
      });
      assert.equal(wrong.succeeded, false);
      assert.deepEqual(wrong.results, []);
      const multi = await s.txn({
        compare: [
          { key: 'ticker/c1', value: 'a' },
          { key: 'ticker/c1', exists: true },
        ],
        success: [
          { op: 'put', key: 'ticker/c2', value: 'x' },
          { op: 'put', key: 'ticker/c3', value: 'y' },
          { op: 'delete', key: 'ticker/c1' },
          { op: 'getPrefix', prefix: 'ticker/' },
        ],
      });
      assert.equal(multi.succeeded, true);
      const [p2, p3, d1, list] = multi.results;
      assert.ok(p2?.op === 'put' && p3?.op === 'put');
      assert.equal(p2.revision, p3.revision, 'one transaction, one revision');
      assert.equal(p2.revision, multi.revision);
      assert.deepEqual(d1, { op: 'delete', deleted: 1 });
      assert.ok(list !== undefined && 'entries' in list);
      assert.deepEqual(
        list.entries.map((e) => e.key),
        ['ticker/c2', 'ticker/c3'],
      );
      const byCreate = await s.txn({
        compare: [{ key: 'ticker/c2', createRevision: p2.revision }],
        success: [{ op: 'get', key: 'ticker/c2' }],
      });
      assert.equal(byCreate.succeeded, true);
    });

    test('leases: kept alive past their TTL, revoke removes their keys, unknown leases are refused', async (t) => {
      const s = await (await open(t)).connect();
      // 2 s: keepalives come every ~TTL/3, so a 1 s lease would be lost to ~700 ms of event-loop or
      // etcd lag on a loaded machine; held over two TTLs and more, it still shows the keepalive works
      const lease = await s.grantLease(2);
      assert.equal(lease.ttlSeconds, 2);
      await s.put('nodes/n1/alive', 'yes', { lease: lease.id });
      assert.equal((await s.get('nodes/n1/alive'))?.lease, lease.id);
      await sleep(4500);
      assert.equal((await s.get('nodes/n1/alive'))?.value, 'yes', 'keepalive holds the key beyond the TTL');
      assert.equal(lease.ended, false);
      let lost = false;
      lease.onLost(() => {
        lost = true;
      });
      await lease.revoke();
      assert.equal(lease.ended, true);
      assert.equal(await s.get('nodes/n1/alive'), undefined);
      await assert.rejects(s.put('nodes/n1/alive', 'again', { lease: lease.id }), LeaseLostError);
      await sleep(50);
      assert.equal(lost, false, 'revoking your own lease is not a loss');
    });

    test('leases: keys of a client that went away expire, and watchers see them go', async (t) => {
      const h = await open(t);
      const a = await h.connect();
      const b = await h.connect();
      const lease = await b.grantLease(1);
      await b.put('nodes/b/alive', 'yes', { lease: lease.id });
      const events: WatchEvent[] = [];
      const w = await a.watchPrefix('nodes/', (e) => events.push(e));
      t.after(() => w.close());
      const lostReasons: Error[] = [];
      lease.onLost((r) => lostReasons.push(r));
      const closedAt = Date.now();
      await b.close();
      // a wait, not a bound: 1 s TTL plus etcd's expiry scan, slower on a loaded machine
      await until(
        'the leased key to expire',
        async () => (await a.get('nodes/b/alive')) === undefined,
        10_000,
      );
      const took = Date.now() - closedAt;
      assert.ok(took >= 300, `expired too early (${took} ms)`);
      await until('the delete event', () => events.length > 0);
      assert.deepEqual(brief(events), ['delete nodes/b/alive']);
      assert.equal(lostReasons.length, 1, 'closing the store ends its leases');
    });

    test('leases: revoked by another client, the holder hears onLost', async (t) => {
      const h = await open(t);
      const a = await h.connect();
      const b = await h.connect();
      const lease = await b.grantLease(2);
      await b.put('nodes/b/alive', 'yes', { lease: lease.id });
      let reason: Error | undefined;
      lease.onLost((r) => {
        reason = r;
      });
      await a.revokeLease(lease.id);
      assert.equal(await a.get('nodes/b/alive'), undefined);
      await until('onLost', () => reason !== undefined, 4000);
      assert.ok(reason instanceof LeaseLostError, String(reason));
      assert.equal(lease.ended, true);
      await a.revokeLease(lease.id); // unknown lease: nothing to do
    });

    test('watch: puts and deletes in order, only under the prefix, until closed', async (t) => {
      const h = await open(t);
      const a = await h.connect();
      const b = await h.connect();
      const events: WatchEvent[] = [];
      const w = await a.watchPrefix('containers/', (e) => events.push(e));
      await b.put('containers/c1', 'v1');
      await b.put('other/x', 'ignored');
      await b.put('containers/c2', 'v1');
      await b.put('containers/c1', 'v2');
      await b.delete('containers/c1');
      await b.txn({
        compare: [],
        success: [
          { op: 'put', key: 'containers/c3', value: 'v1' },
          { op: 'delete', key: 'containers/c2' },
        ],
      });
      await until('6 events', () => events.length >= 6);
      assert.deepEqual(brief(events), [
        'put containers/c1=v1',
        'put containers/c2=v1',
        'put containers/c1=v2',
        'delete containers/c1',
        'put containers/c3=v1',
        'delete containers/c2',
      ]);
      const revs = events.map((e) => e.revision);
      for (let i = 1; i < revs.length; i++)
        assert.ok((revs[i] ?? 0) >= (revs[i - 1] ?? 0), 'revisions in order');
      assert.equal(revs[4], revs[5], 'one transaction, one revision');
      assert.equal(events[2]?.createRevision, events[0]?.revision);
      await w.close();
      await b.put('containers/c9', 'after close');
      await sleep(200);
      assert.equal(events.length, 6);
    });

    test('watch: a write acknowledged before the watch began is never delivered as new', async (t) => {
      // On etcd, two clients may reach different members, and a follower can
      // lag behind a write the other client has already seen acknowledged.
      const h = await open(t);
      const a = await h.connect();
      const b = await h.connect();
      for (let i = 0; i < 10; i++) {
        await b.put(`round/${i}/before`, 'x');
        const events: WatchEvent[] = [];
        const w = await a.watchPrefix(`round/${i}/`, (e) => events.push(e));
        await b.put(`round/${i}/after`, 'y');
        await until(`round ${i}: the later write`, () => events.length > 0);
        await w.close();
        assert.deepEqual(brief(events), [`put round/${i}/after=y`], `round ${i}`);
      }
    });

    test('watch: list-then-watch from a snapshot revision misses nothing', async (t) => {
      const s = await (await open(t)).connect();
      await s.put('nodes/a', '1');
      const snap = await s.snapshotPrefix('nodes/');
      await s.put('nodes/b', '2');
      await s.delete('nodes/a');
      const events: WatchEvent[] = [];
      const w = await s.watchPrefix('nodes/', (e) => events.push(e), { startRevision: snap.revision + 1 });
      t.after(() => w.close());
      await s.put('nodes/c', '3');
      await until('3 events', () => events.length >= 3);
      assert.deepEqual(brief(events), ['put nodes/b=2', 'delete nodes/a', 'put nodes/c=3']);
    });

    test('election: one leader at a time, resign hands over, observers follow', async (t) => {
      const h = await open(t);
      const a = await h.connect();
      const b = await h.connect();
      const seen: (string | undefined)[] = [];
      const obs = await a.observeLeader('managers', (v) => seen.push(v));
      t.after(() => obs.close());
      assert.deepEqual(seen, [undefined]);
      assert.equal(await a.leader('managers'), undefined);

      const la = await a.campaign('managers', 'm1', 'http://m1:2375', { ttlSeconds: 2 });
      assert.equal(la.isLeader, true);
      assert.equal(await b.leader('managers'), 'http://m1:2375');
      let bLeader: Leadership | undefined;
      const pending = b.campaign('managers', 'm2', 'http://m2:2375', { ttlSeconds: 2 }).then((l) => {
        bLeader = l;
        return l;
      });
      await sleep(300);
      assert.equal(bLeader, undefined, 'the second candidate waits');
      assert.equal(await a.leader('managers'), 'http://m1:2375');

      let aLost = false;
      la.onLost(() => {
        aLost = true;
      });
      await la.resign();
      assert.equal(la.isLeader, false);
      const lb = await pending;
      assert.equal(lb.isLeader, true);
      assert.equal(await a.leader('managers'), 'http://m2:2375');
      await until('the observer to see m2', () => seen.at(-1) === 'http://m2:2375');
      assert.deepEqual(seen.slice(0, 2), [undefined, 'http://m1:2375']);
      assert.equal(aLost, false, 'resigning is not a loss');
      await lb.resign();
      await until('no leader', () => seen.at(-1) === undefined);
      assert.equal(await a.leader('managers'), undefined);
    });

    test("election: when the leader's client dies, the other candidate takes over within ~2 TTLs", async (t) => {
      const h = await open(t);
      const a = await h.connect();
      const b = await h.connect();
      const la = await a.campaign('managers', 'm1', 'm1', { ttlSeconds: 1 });
      const lostReasons: Error[] = [];
      la.onLost((r) => lostReasons.push(r));
      const pending = b.campaign('managers', 'm2', 'm2', { ttlSeconds: 1 });
      await sleep(200);
      const diedAt = Date.now();
      await a.close(); // keepalives stop; the lease runs out as after a crash
      const lb = await pending;
      const took = Date.now() - diedAt;
      // 1 s TTL, etcd's lease-expiry scan (~500 ms), the watch and the campaign: 4 s leaves room for a
      // loaded 2-core machine while still telling a lease that never expires
      assert.ok(took < 4000, `takeover took ${took} ms`);
      assert.equal(lb.isLeader, true);
      assert.equal(await b.leader('managers'), 'm2');
      await until('the old leader to hear onLost', () => lostReasons.length === 1);
      assert.equal(la.isLeader, false);
      await lb.resign();
    });

    test("election: deleting the leader's key ends its leadership", async (t) => {
      const h = await open(t);
      const a = await h.connect();
      const b = await h.connect();
      const la = await a.campaign('managers', 'm1', 'm1', { ttlSeconds: 2 });
      let lost: Error | undefined;
      la.onLost((r) => {
        lost = r;
      });
      assert.equal(await b.deletePrefix('election/managers/'), 1);
      await until('onLost', () => lost !== undefined);
      assert.equal(la.isLeader, false);
      assert.equal(await b.leader('managers'), undefined);
    });

    test('election: a waiting campaign can be aborted', async (t) => {
      const h = await open(t);
      const a = await h.connect();
      const b = await h.connect();
      const la = await a.campaign('jobs', 'm1', 'm1', { ttlSeconds: 2 });
      const ac = new AbortController();
      const pending = b.campaign('jobs', 'm2', 'm2', { ttlSeconds: 2, signal: ac.signal });
      await sleep(200);
      ac.abort();
      await assert.rejects(pending, CampaignAbortedError);
      assert.deepEqual(
        (await a.getPrefix('election/jobs/')).map((e) => e.key),
        ['election/jobs/m1'],
        'the aborted candidacy is withdrawn',
      );
      await la.resign();
    });

    test('a closed store refuses further calls', async (t) => {
      const s = await (await open(t)).connect();
      await s.close();
      await assert.rejects(s.get('x'), StoreClosedError);
      await assert.rejects(s.put('x', 'y'), StoreClosedError);
      await s.close(); // twice is fine
    });
  });
}
