import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedStore } from '../store/index.ts';
import type { NodeClient, NodeReport } from '../node-api/node-client.ts';
import { ClusterState } from './cluster-state.ts';
import { EventLog } from './events.ts';
import { HostDownError, NodeRegistry } from './node-registry.ts';

function report(name: string): NodeReport {
  return {
    name,
    address: '10.0.0.1',
    labels: {},
    cpus: 2,
    memoryBytes: 1,
    containers: [],
    capabilities: { canCheckpoint: true, canPreDump: false, softDirty: 'no', criu: '4.2' },
    images: [],
  };
}

test('liveness: a silent host cuts calls waiting for an answer, a failed one cuts every call', async () => {
  let now = 1_000_000;
  const kv = await EmbeddedStore.open({});
  try {
    const reg = new NodeRegistry({
      state: new ClusterState(kv),
      events: new EventLog(),
      failureTimeoutMs: 5000,
      clientFor: () => ({}) as NodeClient,
      now: () => now,
    });
    await reg.recordHeartbeat(report('n1'), 'https://n1', 'boot');
    const alive = reg.liveness('n1');
    await reg.all();
    assert.equal(alive(false), undefined, 'just heard from');
    now += 1500;
    await reg.all();
    assert.equal(alive(false), undefined, 'one heartbeat late is not silence');
    now += 1000;
    await reg.all();
    assert.ok(alive(false) instanceof HostDownError, 'silent for more than two heartbeats: short calls end');
    assert.equal(alive(true), undefined, 'a dump or a streaming answer waits for the failure detector');
    now += 3000;
    const { failed } = await reg.detect();
    assert.deepEqual(
      failed.map((f) => f.report.name),
      ['n1'],
    );
    const err = alive(true);
    assert.ok(err instanceof HostDownError, 'declared failed: every call ends');
    assert.match(err.message, /host n1 is down \(declared failed/);
    // a registry that has not read the records for a while judges nothing (a quiet replica)
    now += 10_000;
    assert.equal(alive(false), undefined);
  } finally {
    await kv.close();
  }
});

test("failure detection never compares two machines' clocks: a replica whose clock is a minute behind stamps heartbeats, the leader keeps the host alive", async () => {
  let now = 5_000_000;
  const kv = await EmbeddedStore.open({});
  try {
    const state = new ClusterState(kv);
    const leader = new NodeRegistry({
      state,
      events: new EventLog(),
      failureTimeoutMs: 5000,
      clientFor: () => ({}) as NodeClient,
      now: () => now,
    });
    // what a replica with a slow wall clock writes: a heartbeat "a minute old" by the leader's clock
    const beat = async (n: number, status: 'healthy' | 'failed' = 'healthy'): Promise<void> =>
      state.putNode({
        report: report('n1'),
        apiUrl: 'https://n1',
        bootId: 'boot',
        lastHeartbeat: Date.now() - 60_000,
        beat: `b${n}`,
        status,
      });
    for (let i = 0; i < 20; i++) {
      await beat(i);
      now += 1000;
      const { failed } = await leader.detect();
      assert.deepEqual(failed, [], `heartbeat ${i}: a live host is not failed for another machine's clock`);
    }
    assert.ok(leader.silentMs('n1') <= 1000);
    // the heartbeats stop: failed after the timeout, as this manager measured it
    now += 4000;
    assert.deepEqual((await leader.detect()).failed, []);
    now += 1500;
    const { failed } = await leader.detect();
    assert.deepEqual(
      failed.map((f) => f.report.name),
      ['n1'],
    );
    // it comes back: a new beat is seen (a failed host's record stays failed until the leader says), it recovers
    await beat(99, 'failed');
    now += 250;
    assert.deepEqual(
      (await leader.detect()).recovered.map((r) => r.report.name),
      ['n1'],
    );
  } finally {
    await kv.close();
  }
});
