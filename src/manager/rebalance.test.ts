import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { NodeReport } from '../node-api/node-client.ts';
import { EmbeddedStore } from '../store/index.ts';
import { createLogger } from '../util/log.ts';
import { ClusterState } from './cluster-state.ts';
import { EventLog } from './events.ts';
import type { NodeDirectory } from './node-directory.ts';
import { rebalance } from './rebalance.ts';
import type { NodeRecord } from './records.ts';

// The drain e2e test's pack case, in miniature: a2 must never share a host
// with a4, so g3 (a3, a4) can be emptied only onto g1, which is emptied first.
let state: ClusterState;
/** What each host's last heartbeat reported: name -> Podman state. */
let reported: Record<string, Record<string, string>>;

function nodeRecord(name: string): NodeRecord {
  const report = {
    name,
    address: `10.0.0.${name.slice(1)}`,
    labels: {},
    cpus: 2,
    memoryBytes: 8 << 30,
    images: [],
    containers: Object.entries(reported[name] ?? {}).map(([n, s]) => ({
      Id: `${n}-id`,
      Names: [n],
      Image: 'busybox',
      ImageID: 'sha256:b',
      Labels: {},
      State: s,
      Ports: [],
    })),
  } as unknown as NodeReport;
  return { report, apiUrl: '', bootId: 'b', lastHeartbeat: 0, beat: 'x', status: 'healthy' } as NodeRecord;
}

const nodes: NodeDirectory = {
  client: () => {
    throw new Error('unused');
  },
  peer: () => {
    throw new Error('unused');
  },
  healthy: async () => ['g1', 'g2', 'g3'].map(nodeRecord),
  all: async () => ['g1', 'g2', 'g3'].map(nodeRecord),
};

async function container(name: string, node: string, labels: Record<string, string> = {}): Promise<void> {
  await state.createContainer({
    name,
    node,
    generation: 1,
    spec: { name, image: 'busybox', labels },
    phase: 'running',
    updatedAt: new Date().toISOString(),
  });
}

beforeEach(async () => {
  state = new ClusterState(await EmbeddedStore.open({}));
  reported = {
    g1: { a1: 'running' },
    g2: { a2: 'running' },
    g3: { a3: 'running', a4: 'running' },
  };
  await container('a1', 'g1');
  await container('a2', 'g2', { 'com.docker.swarm.affinities': '["container!=a4"]' });
  await container('a3', 'g3');
  await container('a4', 'g3');
});

async function plan() {
  const out = await rebalance(
    {
      state,
      nodes,
      events: new EventLog(
        100,
        createLogger('test', () => undefined),
      ),
      migrate: () => Promise.reject(new Error('a dry run moves nothing')),
    },
    'pack',
    { dryRun: true },
  );
  return out.plan;
}

describe('rebalance --pack over the cluster as it is', () => {
  test("a neighbour's affinity keeps a host from being emptied onto it", async () => {
    const p = await plan();
    assert.deepEqual(p.emptied, ['g1']);
    assert.deepEqual(p.moves, [{ container: 'a1', from: 'g1', to: 'g3' }]);
    assert.match(p.kept.find((k) => k.host === 'g2')!.why, /a2 fits nowhere else/);
  });

  test('a report taken between create and start does not hide a running container from the plan', async () => {
    // the heartbeat saw a2 created, not yet started; its record says it runs
    reported['g2'] = { a2: 'created' };
    const p = await plan();
    assert.deepEqual(p.emptied, ['g1'], 'g3 is not emptied onto a2');
    assert.match(p.kept.find((k) => k.host === 'g2')!.why, /a2 fits nowhere else/);
  });
});
