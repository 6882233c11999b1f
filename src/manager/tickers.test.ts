import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { NodeClient } from '../node-api/node-client.ts';
import type { NodeReport, PeerRef } from '../node-api/node-client.ts';
import type { CheckpointGroup, CheckpointManifest, CheckpointRef } from '../checkpoint/store/index.ts';
import { EmbeddedStore } from '../store/index.ts';
import { ClusterState } from './cluster-state.ts';
import { EventLog } from './events.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { ContainerRecord, NodeRecord } from './records.ts';
import { TickerService, type SetTimer } from './tickers.ts';

// Algorithm 1's driver against an in-memory store and scripted hosts: the
// CRIU side is exercised for real in test/manager/ha.test.ts.

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

/** The shared checkpoint store as the hosts see it: container -> group -> versions. */
class FakeStore {
  readonly groups = new Map<string, Map<number, CheckpointManifest[]>>();
  list(key: string): CheckpointGroup[] {
    return [...(this.groups.get(key) ?? new Map<number, CheckpointManifest[]>()).entries()]
      .sort(([a], [b]) => a - b)
      .map(([group, versions]) => ({ group, versions }));
  }
  put(key: string, ref: CheckpointRef, node: string): CheckpointManifest {
    const g = this.groups.get(key) ?? new Map<number, CheckpointManifest[]>();
    this.groups.set(key, g);
    const vs = g.get(ref.group) ?? [];
    if (vs.some((v) => v.version === ref.version))
      throw Object.assign(new Error('exists'), { code: 'checkpoint_exists' });
    const m = {
      format: 1,
      container: key,
      group: ref.group,
      version: ref.version,
      kind: 'full',
      file: `${ref.version}.lbx`,
      size: 1_000_000,
      plainSize: 1_000_000,
      sha256: '',
      encrypted: true,
      node,
      createdAt: new Date().toISOString(),
      criu: { frozen_time_us: 12_000 },
    } as CheckpointManifest;
    g.set(ref.group, [...vs, m]);
    return m;
  }
}

interface FakeHost {
  client: NodeClient;
  calls: string[];
  /** Replaces the dump: resolve/reject it yourself. */
  dump?: () => Promise<void>;
}

function fakeHost(name: string, store: FakeStore, canPreDump = false): FakeHost {
  const h: FakeHost = { calls: [], client: undefined as unknown as NodeClient };
  const client = {
    name,
    async listCheckpoints(key: string) {
      return store.list(key);
    },
    async preDump(c: string) {
      h.calls.push(`pre-dump ${c}`);
    },
    async checkpointToStore(c: string, key: string, ref: CheckpointRef) {
      h.calls.push(`dump ${c} ${ref.group}/${ref.version}`);
      if (h.dump) await h.dump();
      const manifest = store.put(key, ref, name);
      return { manifest, timings: { dumpMs: 5, storeMs: 5 } };
    },
    async deleteCheckpointGroup(key: string, group: number) {
      h.calls.push(`delete ${key} ${group}`);
      store.groups.get(key)?.delete(group);
    },
    canPreDump,
  };
  h.client = client as unknown as NodeClient;
  return h;
}

function nodeRecord(name: string, canPreDump: boolean): NodeRecord {
  const report: NodeReport = {
    name,
    address: '10.0.0.1',
    labels: {},
    cpus: 2,
    memoryBytes: 1e9,
    containers: [],
    capabilities: { canCheckpoint: true, canPreDump, softDirty: '', criu: '4.2' },
    images: [],
  };
  return { report, apiUrl: 'local://', bootId: 'b', lastHeartbeat: Date.now(), status: 'healthy' };
}

class FakeNodes implements NodeDirectory {
  readonly hosts = new Map<string, FakeHost>();
  readonly down = new Set<string>();
  /** What each host's checkpoint store shows (absent: no store reported). */
  readonly sees = new Map<string, string[]>();
  constructor(private readonly preDump = new Set<string>()) {}
  client(name: string): NodeClient {
    return this.hosts.get(name)!.client;
  }
  peer(name: string): PeerRef {
    return { name, url: `local://${name}` };
  }
  async healthy(): Promise<NodeRecord[]> {
    return (await this.all()).filter((n) => !this.down.has(n.report.name));
  }
  async all(): Promise<NodeRecord[]> {
    return [...this.hosts.keys()].map((n) => {
      const r = nodeRecord(n, this.preDump.has(n));
      const sees = this.sees.get(n);
      return sees ? { ...r, report: { ...r.report, store: { sees } } } : r;
    });
  }
}

/** Timers that fire only when the test says so. */
class FakeTimers {
  readonly live = new Map<number, { fn: () => void; ms: number }>();
  private id = 0;
  readonly set: SetTimer = (fn, ms) => {
    const id = ++this.id;
    this.live.set(id, { fn, ms });
    return () => this.live.delete(id);
  };
}

function record(name: string, node: string, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    name,
    node,
    generation: 1,
    spec: { name, image: 'redis' },
    ticker: { intervalMs: 2000, versionGroup: 2 },
    phase: 'running',
    updatedAt: new Date().toISOString(),
    ...extra,
  };
}

let store: FakeStore;
let nodes: FakeNodes;
let state: ClusterState;
let events: EventLog;
let timers: FakeTimers;
let tickers: TickerService;

function setup(preDump: string[] = []): void {
  store = new FakeStore();
  nodes = new FakeNodes(new Set(preDump));
  for (const n of ['a', 'b']) nodes.hosts.set(n, fakeHost(n, store));
  events = new EventLog(2000, quiet);
  timers = new FakeTimers();
  tickers = new TickerService({ state, nodes, events, setTimer: timers.set, logger: quiet });
}

const types = (prefix: string): string[] => events.since(0, { type: prefix }).map((e) => e.type);

describe('TickerService (Algorithm 1)', () => {
  beforeEach(async () => {
    state = new ClusterState(await EmbeddedStore.open({}));
    setup();
  });

  test('one repeating timer per container at its interval; disarm cancels it', async () => {
    await state.createContainer(record('r1', 'a'));
    await state.createContainer(record('r2', 'b', { ticker: { intervalMs: 5000, versionGroup: 5 } }));
    await state.createContainer(record('plain', 'a', { ticker: undefined }));
    assert.deepEqual(await tickers.rebuild(), ['r1', 'r2']);
    assert.deepEqual([...timers.live.values()].map((t) => t.ms).sort(), [2000, 5000]);
    assert.equal(await tickers.arm('plain'), false);
    await tickers.disarm('r1');
    assert.equal(timers.live.size, 1);
    assert.equal(tickers.armed('r1'), false);
  });

  test('a host whose checkpoint store the others do not share gets no checkpoint, and says why once', async () => {
    await state.createContainer(record('r', 'a'));
    await tickers.arm('r');
    nodes.sees.set('a', ['a']);
    nodes.sees.set('b', ['b']);
    const out = await tickers.tick('r');
    assert.equal(out.kind, 'skipped');
    assert.match(
      (out as { reason: string }).reason,
      /the checkpoint store of a is not the one b sees: its checkpoints would die with it/,
    );
    await tickers.tick('r');
    const skipped = events.since(0, { type: 'checkpoint.skipped' });
    assert.equal(skipped.length, 1, 'once per reason');
    assert.equal(store.list('r').length, 0);
    nodes.sees.set('a', ['a', 'b']);
    nodes.sees.set('b', ['a', 'b']);
    assert.equal((await tickers.tick('r')).kind, 'done', 'a shared store: checkpoints again');
  });

  test('numbering, one pre-dump chance per group, at most three groups, state persisted', async () => {
    await state.createContainer(record('r', 'a'));
    await tickers.arm('r');
    for (let i = 0; i < 8; i++) assert.equal((await tickers.tick('r')).kind, 'done');
    assert.deepEqual(
      store.list('r').map((g) => [g.group, g.versions.map((v) => v.version)]),
      [
        [1, [2, 3]],
        [2, [4, 5]],
        [3, [6, 7]],
      ],
    );
    const calls = nodes.hosts.get('a')!.calls;
    assert.deepEqual(
      calls.filter((c) => c.startsWith('delete')),
      ['delete r 0'],
    );
    assert.equal(calls.filter((c) => c.startsWith('pre-dump')).length, 0, 'no soft-dirty: no pre-dump');
    const done = events.since(0, { type: 'checkpoint.done' });
    assert.equal(done.length, 8);
    // group starts say why there was no pre-dump
    assert.match(done[0]!.message, /pre-dump skipped: kernel lacks soft-dirty/);
    assert.doesNotMatch(done[1]!.message, /pre-dump/);
    assert.equal(done[7]!.fields?.['version'], 7);
    assert.equal(done[7]!.fields?.['frozenTimeUs'], 12_000);
    assert.deepEqual(
      { ...(await state.ticker('r')), lastCheckpointAt: undefined },
      { version: 8, group: 4, inGroup: 0, lastCheckpointAt: undefined, lastNode: 'a' },
    );
  });

  test('a host with soft-dirty tracking pre-dumps at each group start', async () => {
    setup(['a']);
    await state.createContainer(record('r', 'a'));
    await tickers.arm('r');
    for (let i = 0; i < 4; i++) await tickers.tick('r');
    assert.deepEqual(nodes.hosts.get('a')!.calls, [
      'pre-dump r',
      'dump r 0/0',
      'dump r 0/1',
      'pre-dump r',
      'dump r 1/2',
      'dump r 1/3',
    ]);
  });

  test('skips while the container is not running or its host is down, once per reason in the events', async () => {
    await state.createContainer(record('r', 'a', { phase: 'stopped' }));
    await tickers.arm('r');
    assert.deepEqual(await tickers.tick('r'), { kind: 'skipped', reason: 'container is stopped' });
    await tickers.tick('r');
    await state.updateContainer('r', (x) => ({ ...x, phase: 'running' }));
    nodes.down.add('a');
    assert.deepEqual(await tickers.tick('r'), { kind: 'skipped', reason: 'host a is not healthy' });
    assert.equal(types('checkpoint.skipped').length, 2);
    nodes.down.delete('a');
    assert.equal((await tickers.tick('r')).kind, 'done');
  });

  test('a slow checkpoint is never overlapped: the next ticks are skipped and logged', async () => {
    await state.createContainer(record('r', 'a'));
    await tickers.arm('r');
    let release!: () => void;
    nodes.hosts.get('a')!.dump = () => new Promise<void>((r) => (release = r));
    const first = tickers.tick('r');
    await new Promise((r) => setImmediate(r));
    const second = await tickers.tick('r');
    const third = await tickers.tick('r');
    assert.equal(second.kind, 'skipped');
    assert.match((third as { reason: string }).reason, /^slow checkpoint: tick skipped/);
    assert.equal(nodes.hosts.get('a')!.calls.filter((c) => c.startsWith('dump')).length, 1);
    release();
    assert.equal((await first).kind, 'done');
    nodes.hosts.get('a')!.dump = undefined;
    const after = await tickers.tick('r');
    assert.equal(after.kind === 'done' && after.version, 1);
    assert.equal(tickers.status()[0]!.skippedSlow, 2);
  });

  test('a failed dump does not advance: the same slot is tried next tick', async () => {
    await state.createContainer(record('r', 'a'));
    await tickers.arm('r');
    nodes.hosts.get('a')!.dump = async () => {
      throw new Error('CRIU dump failed: boom');
    };
    const out = await tickers.tick('r');
    assert.deepEqual(out, { kind: 'failed', reason: 'CRIU dump failed: boom' });
    const failed = events.since(0, { type: 'checkpoint.failed' });
    assert.equal(failed.length, 1);
    assert.match(failed[0]!.message, /boom/);
    nodes.hosts.get('a')!.dump = undefined;
    await tickers.tick('r');
    assert.deepEqual(nodes.hosts.get('a')!.calls, ['dump r 0/0', 'dump r 0/0']);
  });

  test('a new leader resumes numbering from the store and from the ticker record (thesis 3.4.3)', async () => {
    for (let v = 0; v < 5; v++) store.put('r', { group: Math.floor(v / 2), version: v }, 'a');
    await state.createContainer(record('r', 'a'));
    await tickers.rebuild();
    await tickers.tick('r');
    // groups 0,1 full, group 2 holds version 4: version 5 fills group 2
    assert.deepEqual(nodes.hosts.get('a')!.calls, ['dump r 2/5']);
    assert.match(
      events.since(0, { type: 'ticker.resumed' })[0]!.message,
      /version 5 in group 2 \(from the store/,
    );

    setup();
    store.put('q', { group: 0, version: 0 }, 'a');
    await state.createContainer(record('q', 'a'));
    await state.putTicker('q', { version: 9, group: 4, inGroup: 1 });
    await tickers.rebuild();
    await tickers.tick('q');
    assert.deepEqual(nodes.hosts.get('a')!.calls, ['dump q 4/9']);
  });

  test('rearm follows the container to its new host; a tick stuck on the old host does not block it', async () => {
    await state.createContainer(record('r', 'a'));
    await tickers.arm('r');
    await tickers.tick('r');
    nodes.hosts.get('a')!.dump = () => new Promise<void>(() => undefined);
    void tickers.tick('r');
    await new Promise((r) => setImmediate(r));
    await state.updateContainer('r', (x) => ({ ...x, node: 'b', generation: 2 }));
    assert.equal(await tickers.rearm('r'), true);
    assert.equal(timers.live.size, 1);
    assert.equal((await tickers.tick('r')).kind, 'done');
    assert.deepEqual(nodes.hosts.get('b')!.calls, ['dump r 0/1']);
    assert.equal(tickers.status()[0]!.node, 'b');
    assert.equal((await state.ticker('r'))?.lastNode, 'b');
  });
});
