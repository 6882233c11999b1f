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

function registry(kv: EmbeddedStore, now: () => number, events = new EventLog()): NodeRegistry {
  return new NodeRegistry({
    state: new ClusterState(kv),
    events,
    failureTimeoutMs: 5000,
    clientFor: () => ({}) as NodeClient,
    now,
  });
}

test('liveness: a silent host cuts calls waiting for an answer, a failed one cuts every call', async () => {
  let now = 1_000_000;
  const kv = await EmbeddedStore.open({});
  try {
    const reg = registry(kv, () => now);
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
    const beat = async (n: number, status: 'healthy' | 'failed' = 'healthy'): Promise<void> => {
      await state.putNode({
        report: report('n1'),
        apiUrl: 'https://n1',
        bootId: 'boot',
        lastHeartbeat: Date.now() - 60_000,
        beat: `b${n}`,
        status,
      });
    };
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

test('detect: a new agent boot within the failure timeout counts as a restart once, also for a new leader', async () => {
  let now = 1_000_000;
  const kv = await EmbeddedStore.open({});
  try {
    const events = new EventLog();
    const reg = registry(kv, () => now, events);
    await reg.recordHeartbeat(report('n1'), 'https://n1', 'boot-1');
    assert.deepEqual((await reg.detect()).rebooted, [], 'the first boot seen is no restart');
    now += 1000;
    await reg.recordHeartbeat(report('n1'), 'https://n1', 'boot-2');
    // the restart is in the store: a leader elected after it still sees it
    const first = await registry(kv, () => now, events).detect();
    assert.deepEqual(
      first.rebooted.map((r) => r.report.name),
      ['n1'],
    );
    assert.equal(first.rebooted[0]!.restartedAt, undefined);
    assert.deepEqual(first.failed, []);
    assert.equal(events.since(0, { type: 'node.restarted' }).length, 1);
    now += 1000;
    await reg.recordHeartbeat(report('n1'), 'https://n1', 'boot-2');
    assert.deepEqual((await reg.detect()).rebooted, [], 'handled once');
    // back after being declared failed: the failure path handles it, no restart on top
    now += 6000;
    assert.equal((await reg.detect()).failed.length, 1);
    await reg.recordHeartbeat(report('n1'), 'https://n1', 'boot-3');
    const back = await reg.detect();
    assert.equal(back.recovered.length, 1);
    assert.deepEqual(back.rebooted, []);
  } finally {
    await kv.close();
  }
});

test('detect: an agent that fenced itself while the host stayed healthy counts as a restart', async () => {
  const now = 1_000_000;
  const kv = await EmbeddedStore.open({});
  try {
    const reg = registry(kv, () => now);
    await reg.recordHeartbeat(report('n1'), 'https://n1', 'boot-1');
    assert.deepEqual((await reg.detect()).rebooted, []);
    await reg.recordHeartbeat(report('n1'), 'https://n1', 'boot-1', { fenced: true });
    assert.deepEqual(
      (await reg.detect()).rebooted.map((r) => r.report.name),
      ['n1'],
    );
  } finally {
    await kv.close();
  }
});

test("a heartbeat's send time gives the host's clock offset (display only)", async () => {
  const { clockOffset } = await import('./node-registry.ts');
  assert.deepEqual(clockOffset('2026-12-06T12:00:31.000Z', Date.parse('2026-12-06T12:00:00.000Z')), {
    clockOffsetMs: 31_000,
  });
  assert.deepEqual(clockOffset(undefined), {});
  assert.deepEqual(clockOffset('not a time'), {});
});

test('a stalled watch never declares a live host failed: the store confirms a silence first', async () => {
  let now = 1_000_000;
  const kv = await EmbeddedStore.open({});
  try {
    // this replica's watch delivers nothing (a stalled stream); another replica takes the heartbeats
    const stalled = new Proxy(kv, {
      get(target, prop, receiver) {
        if (prop === 'watchPrefix') return async () => ({ close: async () => undefined });
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as EmbeddedStore;
    const leader = new NodeRegistry({
      state: new ClusterState(stalled),
      events: new EventLog(),
      failureTimeoutMs: 5000,
      clientFor: () => ({}) as NodeClient,
      now: () => now,
    });
    const replica = registry(kv, () => now);
    await replica.recordHeartbeat(report('n1'), 'https://n1', 'boot');
    for (let i = 0; i < 12; i++) {
      now += 1000;
      await replica.recordHeartbeat(report('n1'), 'https://n1', 'boot');
      assert.deepEqual(
        (await leader.detect()).failed,
        [],
        `second ${i}: the host beats, only the watch is stuck`,
      );
    }
    // the heartbeats stop: declared failed once the store, too, shows no new beat for the timeout
    now += 5500;
    assert.deepEqual((await leader.detect()).failed, []);
    now += 5500;
    assert.deepEqual(
      (await leader.detect()).failed.map((f) => f.report.name),
      ['n1'],
    );
    await leader.close();
    await replica.close();
  } finally {
    await kv.close();
  }
});
