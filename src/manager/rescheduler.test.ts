import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { NodeClient } from '../node-api/node-client.ts';
import type { NodeReport } from '../node-api/node-client.ts';
import type { CheckpointGroup, CheckpointManifest, CheckpointRef } from '../checkpoint/store/index.ts';
import type { ContainerListEntry } from '../engine/types.ts';
import { CONSTRAINTS_LABEL, Scheduler } from '../scheduler/index.ts';
import { EmbeddedStore } from '../store/index.ts';
import { ClusterState } from './cluster-state.ts';
import { EventLog } from './events.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { ContainerRecord, NodeRecord } from './records.ts';
import { Rescheduler } from './rescheduler.ts';

// Algorithm 2's decisions against scripted hosts; real restores with CRIU are
// in test/manager/ha.test.ts.

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

function manifest(group: number, version: number): CheckpointManifest {
  return {
    format: 1,
    container: 'r',
    group,
    version,
    kind: 'full',
    file: `${version}.lbx`,
    size: 10,
    plainSize: 10,
    sha256: '',
    encrypted: true,
    node: 'a',
    createdAt: '2024-01-01T00:00:00.000Z',
  };
}

interface Host {
  name: string;
  labels: Record<string, string>;
  calls: string[];
  /** Versions whose restore fails, with the reason. */
  bad: Map<number, string>;
  containers: string[];
  client: NodeClient;
}

let groups: CheckpointGroup[];
let hosts: Map<string, Host>;
let down: Set<string>;
let state: ClusterState;
let events: EventLog;
let rearmed: { name: string; nodeAtRearm: string }[];
let rs: Rescheduler;

function host(name: string, labels: Record<string, string> = {}): Host {
  const h: Host = {
    name,
    labels,
    calls: [],
    bad: new Map(),
    containers: [],
    client: undefined as unknown as NodeClient,
  };
  const c = {
    name,
    async imageExists() {
      return true;
    },
    async listCheckpoints(key: string) {
      h.calls.push(`list ${key}`);
      return groups;
    },
    async restoreFromStore(key: string, ref: CheckpointRef) {
      h.calls.push(`restore ${key} v${ref.version}`);
      const why = h.bad.get(ref.version);
      if (why) throw new Error(why);
      return {};
    },
    async remove(n: string) {
      h.calls.push(`remove ${n}`);
    },
    async create(spec: { name: string }) {
      h.calls.push(`create ${spec.name}`);
      return 'id';
    },
    async start(n: string) {
      h.calls.push(`start ${n}`);
    },
    async inspect() {
      return { Image: 'sha256:abc' };
    },
    async report() {
      return { containers: h.containers.map((n) => ({ Names: [n], Id: n }) as ContainerListEntry) };
    },
    async reconcile(set: ReadonlySet<string>) {
      h.calls.push(`reconcile ${[...set].sort().join(',')}`);
      return [...set];
    },
  };
  h.client = c as unknown as NodeClient;
  return h;
}

function nodeRecord(h: Host): NodeRecord {
  const report: NodeReport = {
    name: h.name,
    address: '10.0.0.1',
    labels: h.labels,
    cpus: 2,
    memoryBytes: 1e9,
    containers: [],
    capabilities: { canCheckpoint: true, canPreDump: false, softDirty: '', criu: '4.2' },
    images: [],
  };
  return {
    report,
    apiUrl: 'local://',
    bootId: 'b',
    lastHeartbeat: Date.now(),
    status: down.has(h.name) ? 'failed' : 'healthy',
  };
}

const nodes: NodeDirectory = {
  client: (n) => hosts.get(n)!.client,
  peer: (n) => ({ name: n, url: `local://${n}` }),
  healthy: async () => [...hosts.values()].filter((h) => !down.has(h.name)).map(nodeRecord),
  all: async () => [...hosts.values()].map(nodeRecord),
};

function record(extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    name: 'r',
    node: 'a',
    generation: 3,
    spec: { name: 'r', image: 'redis', labels: { [CONSTRAINTS_LABEL]: JSON.stringify(['node==a']) } },
    restorePolicy: 'checkpoint',
    ticker: { intervalMs: 2000, versionGroup: 3 },
    phase: 'running',
    updatedAt: '',
    ...extra,
  };
}

async function reset(): Promise<void> {
  groups = [
    { group: 1, versions: [manifest(1, 3), manifest(1, 4)] },
    { group: 2, versions: [manifest(2, 5), manifest(2, 6)] },
  ];
  hosts = new Map(['a', 'b'].map((n) => [n, host(n)]));
  down = new Set(['a']);
  state = new ClusterState(await EmbeddedStore.open({}));
  for (const h of hosts.values()) await state.putNode(nodeRecord(h));
  events = new EventLog(2000, quiet);
  rearmed = [];
  rs = new Rescheduler({
    state,
    nodes,
    scheduler: new Scheduler(),
    events,
    logger: quiet,
    tickers: {
      rearm: async (name) => {
        rearmed.push({ name, nodeAtRearm: (await state.container(name))!.record.node });
        return true;
      },
    },
  });
}

describe('Rescheduler (Algorithm 2)', () => {
  beforeEach(reset);

  test('newest version fails its checksum: the next older one is restored; record moved before the ticker', async () => {
    await state.createContainer(record());
    hosts.get('b')!.bad.set(6, 'archive corrupt: sha256 mismatch');
    const [r] = await rs.onHostFailed('a');
    assert.equal(r!.outcome, 'restored');
    assert.equal(r!.to, 'b', 'create-time node==a pin set aside');
    assert.deepEqual(r!.version, { group: 2, version: 5, createdAt: '2024-01-01T00:00:00.000Z' });
    assert.deepEqual(
      r!.attempts.map((a) => [a.version, a.ok]),
      [
        [6, false],
        [5, true],
      ],
    );
    assert.deepEqual(hosts.get('b')!.calls, [
      'remove r',
      'list r',
      'restore r v6',
      'remove r',
      'restore r v5',
    ]);
    const rec = (await state.container('r'))!.record;
    assert.deepEqual([rec.node, rec.generation, rec.phase, rec.imageId], ['b', 4, 'running', 'sha256:abc']);
    assert.match(rec.note ?? '', /from version 5/);
    assert.deepEqual(rearmed, [{ name: 'r', nodeAtRearm: 'b' }]);
    const failedAttempt = events.since(0, { type: 'restore.attempt-failed' });
    assert.match(failedAttempt[0]!.message, /version 6 .*sha256 mismatch/);
    assert.equal(events.since(0, { type: 'restore.done' }).length, 1);
  });

  test('at most VG versions are tried, then a fresh start from the spec, reported with why', async () => {
    await state.createContainer(record());
    for (const v of [3, 4, 5, 6]) hosts.get('b')!.bad.set(v, `bad ${v}`);
    const [r] = await rs.onHostFailed('a');
    assert.equal(r!.outcome, 'fresh');
    assert.deepEqual(
      r!.attempts.map((a) => a.version),
      [6, 5, 4],
    );
    assert.match(
      r!.why ?? '',
      /all 3 checkpoint version\(s\) tried failed \(v6: bad 6; v5: bad 5; v4: bad 4\)/,
    );
    assert.deepEqual(hosts.get('b')!.calls.slice(-2), ['create r', 'start r']);
    const fresh = events.since(0, { type: 'restore.fresh' });
    assert.equal(fresh.length, 1);
    assert.match(fresh[0]!.message, /no state/);
    assert.equal((await state.container('r'))!.record.node, 'b');
  });

  test('no checkpoint at all, or policy on-node-failure: fresh start', async () => {
    groups = [];
    await state.createContainer(record());
    const [r] = await rs.onHostFailed('a');
    assert.deepEqual([r!.outcome, r!.why], ['fresh', 'no checkpoint in the store']);

    await reset();
    await state.createContainer(record({ restorePolicy: 'on-node-failure', ticker: undefined }));
    const [s] = await rs.onHostFailed('a');
    assert.equal(s!.outcome, 'fresh');
    assert.match(s!.why ?? '', /on-node-failure/);
    assert.deepEqual(hosts.get('b')!.calls, ['remove r', 'create r', 'start r']);
    assert.deepEqual(rearmed, [], 'no ticker to re-arm');
  });

  test('containers without a policy are left alone; other filters still apply', async () => {
    hosts.set('c', host('c', { zone: 'x' }));
    await state.putNode(nodeRecord(hosts.get('c')!));
    await state.createContainer(
      record({
        spec: {
          name: 'r',
          image: 'redis',
          labels: { [CONSTRAINTS_LABEL]: JSON.stringify(['node==a', 'zone==x']) },
        },
      }),
    );
    await state.createContainer(record({ name: 'plain', restorePolicy: undefined }));
    const out = await rs.onHostFailed('a');
    assert.deepEqual(
      out.map((r) => [r.container, r.to]),
      [['r', 'c']],
    );
    assert.equal((await state.container('plain'))!.record.node, 'a');
    assert.equal(events.since(0, { type: 'restore.none' }).length, 1);
  });

  test("the container's own stale copy elsewhere holds no port", async () => {
    await state.createContainer(
      record({
        spec: { name: 'r', image: 'redis', portMappings: [{ hostPort: 6380, containerPort: 6379 }] },
      }),
    );
    const b = nodeRecord(hosts.get('b')!);
    const stale = { Names: ['/r'], Id: 'old', Image: 'redis', ImageID: 'x', State: 'exited', Labels: {} };
    b.report.containers = [
      {
        ...stale,
        Ports: [{ host_ip: '', container_port: 6379, host_port: 6380, protocol: 'tcp' }],
      } as ContainerListEntry,
    ];
    const only: NodeDirectory = { ...nodes, healthy: async () => [b] };
    const r = new Rescheduler({ state, nodes: only, scheduler: new Scheduler(), events, logger: quiet });
    const [out] = await r.onHostFailed('a');
    assert.deepEqual([out!.outcome, out!.to], ['restored', 'b']);
  });

  test('a record already pointing elsewhere is not touched; a second call while one runs is a no-op', async () => {
    await state.createContainer(record({ node: 'b' }));
    const [r] = await rs.onHostFailed('a');
    assert.equal(r, undefined);
    assert.equal((await rs.restoreContainer('r', 'a')).outcome, 'skipped');
    assert.deepEqual(hosts.get('b')!.calls, []);

    await reset();
    await state.createContainer(record());
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const b = hosts.get('b')!.client as unknown as { restoreFromStore: () => Promise<unknown> };
    b.restoreFromStore = async () => {
      await gate;
      return {};
    };
    const first = rs.restoreContainer('r', 'a');
    const second = await rs.restoreContainer('r', 'a');
    assert.equal(second.outcome, 'skipped');
    assert.match(second.why ?? '', /already in progress/);
    release();
    assert.equal((await first).outcome, 'restored');
    // a new leader resuming afterwards finds nothing to do: the record points to b
    assert.deepEqual(await rs.resume(), []);
    assert.equal((await state.container('r'))!.record.generation, 4);
  });

  test('no host can take it: the record is left as it is, and resume() retries once one can', async () => {
    down.add('b');
    await state.putNode(nodeRecord(hosts.get('b')!));
    await state.createContainer(record());
    const [r] = await rs.onHostFailed('a');
    assert.equal(r!.outcome, 'failed');
    assert.match(r!.why ?? '', /no healthy host can take it/);
    assert.deepEqual((await state.container('r'))!.record.phase, 'running');
    assert.equal(events.since(0, { type: 'restore.failed' }).length, 1);
    down.delete('b');
    await state.putNode(nodeRecord(hosts.get('b')!));
    const again = await rs.resume();
    assert.deepEqual(
      again.map((x) => [x.outcome, x.to]),
      [['restored', 'b']],
    );
  });

  test('a returning host loses the copies of containers that live elsewhere now', async () => {
    await state.createContainer(record({ name: 'x', node: 'b' }));
    await state.createContainer(record({ name: 'y', node: 'a' }));
    await state.createContainer(record({ name: 'z', node: 'b', phase: 'restoring' }));
    await state.createContainer(record({ name: 'w', node: 'b' }));
    hosts.get('a')!.containers = ['x', 'y', 'z', 'other'];
    assert.deepEqual(await rs.reconcileReturningHost('a'), ['x']);
    assert.deepEqual(hosts.get('a')!.calls, ['reconcile x']);
    assert.match(events.since(0, { type: 'node.reconciled' })[0]!.message, /removed 1 stale copy/);
  });
  test('a host back within the failure timeout: what it no longer runs is restored elsewhere, what runs stays', async () => {
    down.delete('a');
    await state.putNode(nodeRecord(hosts.get('a')!));
    await state.createContainer(record({ name: 'r', node: 'a' }));
    await state.createContainer(record({ name: 'q', node: 'a' }));
    await state.createContainer(record({ name: 'p', node: 'a', restorePolicy: undefined }));
    const listed = [
      { Names: ['r'], Id: 'r', State: 'created' },
      { Names: ['q'], Id: 'q', State: 'running' },
    ] as ContainerListEntry[];
    (hosts.get('a')!.client as unknown as { report: () => Promise<unknown> }).report = async () => ({
      containers: listed,
    });
    const reports = await rs.onHostRebooted(nodeRecord(hosts.get('a')!));
    assert.deepEqual(
      reports.map((x) => [x.container, x.outcome, x.to]),
      [['r', 'restored', 'b']],
    );
    assert.equal((await state.container('q'))!.record.node, 'a');
    assert.equal((await state.container('p'))!.record.node, 'a');
  });
  test('a failed host back after its restores failed: what it does not run is restored now, by the return and by resume', async () => {
    // seed 2026, fault 98 of the chaos bench: every restore of c1's containers failed (the target was
    // being cut off), c1 came back without them, and the retry pass only looked at failed hosts
    down.delete('a');
    await state.putNode(nodeRecord(hosts.get('a')!));
    await state.createContainer(record({ name: 'gone', node: 'a', phase: 'lost' }));
    await state.createContainer(record({ name: 'later', node: 'a', phase: 'lost' }));
    await state.createContainer(record({ name: 'kept', node: 'a' }));
    const a = hosts.get('a')!;
    let listed = [{ Names: ['kept'], Id: 'kept', State: 'running' }] as ContainerListEntry[];
    (a.client as unknown as { report: () => Promise<unknown> }).report = async () => ({ containers: listed });
    const reports = await rs.onHostReturned('a');
    assert.deepEqual(
      reports.map((x) => [x.container, x.outcome, x.to]),
      [
        ['gone', 'restored', 'b'],
        ['later', 'restored', 'b'],
      ],
    );
    assert.equal((await state.container('kept'))!.record.node, 'a');
    assert.match(events.since(0, { type: 'reschedule.start' })[0]!.message, /host a is back: rescheduling 2/);
    // resume() retries a lost record on a healthy host only when that host does not run it
    await state.createContainer(record({ name: 'lost-runs', node: 'a', phase: 'lost' }));
    await state.createContainer(record({ name: 'lost-not', node: 'a', phase: 'lost' }));
    listed = [...listed, { Names: ['lost-runs'], Id: 'lost-runs', State: 'running' }] as ContainerListEntry[];
    const again = await rs.resume();
    assert.deepEqual(again.map((x) => [x.container, x.outcome]).sort(), [
      ['lost-not', 'restored'],
      ['lost-runs', 'skipped'],
    ]);
  });
  test("the target's network setup failing: the same version once more, not an older one", async () => {
    await state.createContainer(record());
    const b = hosts.get('b')!;
    b.bad.set(6, 'plugin type="bridge" failed (add): cni plugin bridge failed: could not set bridge\'s mac');
    const c = b.client as unknown as {
      restoreFromStore: (k: string, ref: CheckpointRef) => Promise<unknown>;
    };
    const inner = c.restoreFromStore.bind(c);
    c.restoreFromStore = async (k, ref) => {
      try {
        return await inner(k, ref);
      } finally {
        b.bad.delete(6);
      }
    };
    const [r] = await rs.onHostFailed('a');
    assert.equal(r!.outcome, 'restored');
    assert.deepEqual(
      r!.attempts.map((a) => [a.version, a.ok]),
      [
        [6, false],
        [6, true],
      ],
    );
    assert.match(events.since(0, { type: 'restore.attempt-failed' })[0]!.message, /trying it once more/);
  });
  test('a target that fails twice to set up the network: the same version on another host, not an older one', async () => {
    hosts.set('c', host('c'));
    await state.putNode(nodeRecord(hosts.get('c')!));
    await state.createContainer(record());
    // whichever host is tried first cannot set up networks at all
    let broken: string | undefined;
    for (const h of [hosts.get('b')!, hosts.get('c')!]) {
      const c = h.client as unknown as {
        restoreFromStore: (k: string, ref: CheckpointRef) => Promise<unknown>;
      };
      const inner = c.restoreFromStore.bind(c);
      c.restoreFromStore = async (k, ref) => {
        broken ??= h.name;
        if (broken === h.name) {
          h.calls.push(`restore ${k} v${ref.version}`);
          throw new Error(
            'plugin type="bridge" failed (add): cni plugin bridge failed: could not set bridge\'s mac',
          );
        }
        return inner(k, ref);
      };
    }
    const [r] = await rs.onHostFailed('a');
    const other = broken === 'b' ? 'c' : 'b';
    assert.equal(r!.outcome, 'restored');
    assert.equal(r!.to, other);
    assert.deepEqual(r!.version, { group: 2, version: 6, createdAt: '2024-01-01T00:00:00.000Z' });
    assert.deepEqual(
      r!.attempts.map((a) => [a.version, a.ok]),
      [
        [6, false],
        [6, false],
        [6, true],
      ],
    );
    assert.equal((await state.container('r'))!.record.node, other);
    assert.ok(hosts.get(broken!)!.calls.includes('remove r'), "the broken host's leftover is removed");
    assert.match(
      events.since(0, { type: 'restore.host-setup-failed' })[0]!.message,
      new RegExp(`${broken} could not set up the network of r twice: restoring the same version on ${other}`),
    );
  });
  test('the failed host back while its queue is restored: what it does not run is still restored', async () => {
    await state.createContainer(record({ name: 'r1' }));
    await state.createContainer(record({ name: 'r2' }));
    await state.createContainer(record({ name: 'r3' }));
    const a = hosts.get('a')!;
    (a.client as unknown as { report: () => Promise<unknown> }).report = async () => ({
      containers: [
        { Names: ['r2'], Id: 'r2', State: 'created' },
        { Names: ['r3'], Id: 'r3', State: 'running' },
      ] as ContainerListEntry[],
    });
    const b = hosts.get('b')!.client as unknown as {
      restoreFromStore: (...x: unknown[]) => Promise<unknown>;
    };
    const inner = b.restoreFromStore.bind(b);
    b.restoreFromStore = async (...x) => {
      down.delete('a'); // a quick power cycle: back during the first restore
      return inner(...x);
    };
    const reports = await rs.onHostFailed('a');
    assert.deepEqual(
      reports.map((x) => [x.container, x.outcome]),
      [
        ['r1', 'restored'],
        ['r2', 'restored'],
        ['r3', 'skipped'],
      ],
    );
    assert.match(reports[2]!.why ?? '', /healthy and runs it/);
  });
});
