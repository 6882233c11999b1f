import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { StoreCompactedError, StoreUnavailableError } from './errors.ts';
import { startEtcdCluster, type EtcdCluster } from './etcd-cluster.ts';
import { EtcdStore, isTransientEtcdError, prefixRangeEnd } from './etcd-store.ts';
import { openStore } from './open-store.ts';
import type { ClusterStore, WatchEvent } from './store.ts';
import { storeContract } from './store-contract.ts';

describe('EtcdStore against a real 3-member etcd', () => {
  let cluster: EtcdCluster | undefined;
  let dataDir = '';

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lifeboat-etcd-'));
    // etcd's default timing: shorter elections are set off by a slow fsync on a loaded disk
    cluster = await startEtcdCluster({ members: 3, dataDir, heartbeatMs: 100, electionMs: 1000 });
  });

  after(async () => {
    await cluster?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const need = (): EtcdCluster => {
    if (cluster === undefined) throw new Error('etcd cluster not started');
    return cluster;
  };

  const openClient = (prefix: string): Promise<EtcdStore> =>
    EtcdStore.open({ endpoints: [...need().endpoints], prefix, callTimeoutMs: 1000, retryBudgetMs: 10_000 });

  storeContract('etcd', async () => {
    // Each test gets its own key prefix on the shared cluster.
    const prefix = `/lifeboat-test/${randomBytes(4).toString('hex')}/`;
    const clients: ClusterStore[] = [];
    return {
      connect: async () => {
        const c = await openClient(prefix);
        clients.push(c);
        return c;
      },
      cleanup: async () => {
        const c = await openClient(prefix);
        await c.deletePrefix('');
        await c.close();
        await Promise.all(clients.map((x) => x.close()));
      },
    };
  });

  test('a prefix read larger than the 4 MiB gRPC answer limit comes back whole', async () => {
    // 200 hosts' records with 50 containers each passed 4 MiB (the scale bench, issue 22): every
    // read of them failed, and with it failure detection, docker ps and placement
    const c = await openClient(`/lifeboat-test/${randomBytes(4).toString('hex')}/`);
    try {
      const value = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 6; i++) await c.put(`big/${i}`, value);
      const all = await c.getPrefix('big/');
      assert.equal(all.length, 6);
      assert.ok(all.every((e) => e.value.length === value.length));
    } finally {
      await c.deletePrefix('');
      await c.close();
    }
  });

  test('open() names the endpoints when etcd does not answer', async () => {
    const started = Date.now();
    await assert.rejects(
      EtcdStore.open({ endpoints: ['127.0.0.1:1'], callTimeoutMs: 200, retryBudgetMs: 500 }),
      (err: unknown) => err instanceof StoreUnavailableError && /127\.0\.0\.1:1/.test(err.message),
    );
    assert.ok(Date.now() - started < 3000);
  });

  test('openStore() takes the etcd:// URL of the cluster', async () => {
    const s = await openStore(need().storeUrl(`lifeboat-test/${randomBytes(4).toString('hex')}`));
    try {
      assert.equal(s.kind, 'etcd');
      await s.put('a', 'b');
      assert.equal((await s.get('a'))?.value, 'b');
      await s.deletePrefix('');
    } finally {
      await s.close();
    }
  });

  test('a watch from a compacted revision fails with StoreCompactedError', async () => {
    const s = await openClient(`/lifeboat-test/${randomBytes(4).toString('hex')}/`);
    const raw = new Etcd3({ hosts: need().endpoints.map((e) => `http://${e}`) });
    try {
      const first = await s.put('k', '1');
      const last = await s.put('k', '2');
      await raw.kv.compact({ revision: last, physical: true });
      // etcd confirms the watch first and cancels it right after: either way is a compaction error.
      const failure = await new Promise<unknown>((resolve) => {
        s.watchPrefix('', () => undefined, { startRevision: first, onError: resolve }).catch(resolve);
      });
      assert.ok(failure instanceof StoreCompactedError, String(failure));
      const w = await s.watchPrefix('', () => undefined, { startRevision: last + 1 });
      await w.close();
      await s.deletePrefix('');
    } finally {
      raw.close();
      await s.close();
    }
  });

  test('operations, watches and leases carry on when the raft leader is SIGKILLed', async () => {
    const c = need();
    const prefix = `/lifeboat-test/${randomBytes(4).toString('hex')}/`;
    const s = await openClient(prefix);
    const observer = await openClient(prefix);
    const events: WatchEvent[] = [];
    const w = await observer.watchPrefix('load/', (e) => events.push(e));
    const lease = await s.grantLease(5);
    await s.put('manager/alive', 'yes', { lease: lease.id });
    try {
      const victim = await c.leaderIndex();
      assert.notEqual(victim, undefined, 'the cluster has a leader');
      let rev = await s.put('load/counter', '0');
      let killedAt = 0;
      const started = Date.now();
      let i = 0;
      // Counted, not timed: round trips go on until 1.5 s past the kill and 40 of them at least, however
      // slowly the election and the fsyncs of a loaded disk let them go (30 s at most).
      while (!(killedAt > 0 && Date.now() - killedAt > 1500 && i >= 40) && Date.now() - started < 30_000) {
        i++;
        if (killedAt === 0 && Date.now() - started > 500) {
          await c.killMember(victim ?? 0);
          killedAt = Date.now();
        }
        const r = await s.txn({
          compare: [{ key: 'load/counter', modRevision: rev }],
          success: [{ op: 'put', key: 'load/counter', value: String(i) }],
          failure: [{ op: 'get', key: 'load/counter' }],
        });
        if (!r.succeeded) {
          // An ambiguous first attempt may have applied before the retry.
          const cur = r.results[0];
          assert.ok(cur !== undefined && 'entries' in cur);
          assert.equal(
            cur.entries[0]?.value,
            String(i),
            'only our own earlier attempt can have moved the counter',
          );
          rev = cur.entries[0]?.revision ?? 0;
        } else {
          rev = r.revision;
        }
        assert.equal((await s.get('load/counter'))?.value, String(i));
      }
      assert.ok(killedAt > 0 && i > 20, `made ${i} round trips`);
      const newLeader = await c.leaderIndex();
      assert.ok(newLeader !== undefined && newLeader !== victim, 'another member leads');
      // the watch catches up across the failover in its own time: wait for the count, then compare
      const caughtUp = Date.now() + 10_000;
      while (events.filter((e) => e.type === 'put').length < i + 1 && Date.now() < caughtUp) await sleep(20);
      const puts = events.filter((e) => e.type === 'put').map((e) => e.value);
      assert.deepEqual(
        puts,
        Array.from({ length: i + 1 }, (_, k) => String(k)),
        'the watch saw every write, in order, across the failover',
      );
      assert.equal(lease.ended, false, 'a 5 s lease survives the failover');
      assert.equal((await s.get('manager/alive'))?.value, 'yes');

      await c.restartMember(victim ?? 0);
      assert.equal(c.members[victim ?? 0]?.running, true);
      await s.put('load/after-restart', 'ok');
    } finally {
      await w.close();
      await lease.revoke().catch(() => undefined);
      await s.deletePrefix('').catch(() => undefined);
      await s.close();
      await observer.close();
    }
  });
});

describe('etcd helpers', () => {
  test('prefixRangeEnd', () => {
    assert.deepEqual(prefixRangeEnd(Buffer.from('/a/')), Buffer.from('/a0'));
    assert.deepEqual(prefixRangeEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
    assert.deepEqual(prefixRangeEnd(Buffer.from([0xff])), Buffer.from([0]));
  });

  test('isTransientEtcdError', () => {
    assert.equal(isTransientEtcdError(new Error('etcdserver: leader changed')), true);
    assert.equal(isTransientEtcdError(new Error('etcdserver: no leader')), true);
    assert.equal(isTransientEtcdError(new Error('etcdserver: permission denied')), false);
    assert.equal(isTransientEtcdError('nope'), false);
  });
});
