import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { ContainerCreateSpec } from '../engine/types.ts';
import { EmbeddedStore } from '../store/index.ts';
import { createLogger } from '../util/log.ts';
import { ClusterState } from './cluster-state.ts';
import { EventLog } from './events.ts';
import { LocalResources, needsOf } from './local-resources.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { ContainerRecord, NodeRecord } from './records.ts';

const quiet = createLogger('test', () => undefined);
let state: ClusterState;
let res: LocalResources;

const nodes: NodeDirectory = {
  client: () => {
    throw new Error('no host calls in these tests');
  },
  peer: () => {
    throw new Error('no host calls in these tests');
  },
  healthy: async () => [],
  all: async () => [],
} as unknown as NodeDirectory;

function container(name: string, node: string, spec: Partial<ContainerCreateSpec>): ContainerRecord {
  return {
    name,
    node,
    generation: 1,
    spec: { name, image: 'busybox', ...spec },
    phase: 'running',
    updatedAt: '',
  };
}

const host = (name: string): NodeRecord => ({ report: { name } }) as unknown as NodeRecord;

beforeEach(async () => {
  state = new ClusterState(await EmbeddedStore.open({}));
  res = new LocalResources({ state, nodes, events: new EventLog(100, quiet) });
});

describe('networks and volumes live on one host; their users go there', () => {
  test("needsOf: a spec's networks and named volumes", () => {
    assert.deepEqual(
      needsOf({
        networks: { app: { aliases: ['db'] } },
        volumes: [
          { name: 'data', dest: '/data' },
          { name: 'data', dest: '/again' },
        ],
      }),
      { networks: ['app'], volumes: ['data'] },
    );
    assert.deepEqual(needsOf({}), { networks: [], volumes: [] });
  });

  test('unplaced resources pin nothing; placed ones pin to their host; a network must exist', async () => {
    await res.createNetwork({ name: 'app', internal: false, labels: {}, subnets: [], options: {} });
    assert.deepEqual(await res.pin({ networks: ['app'], volumes: ['data'] }), { why: [] });
    await assert.rejects(res.pin({ networks: ['nope'], volumes: [] }), /network nope not found/);
    await res.claim({ networks: ['app'], volumes: ['data'] }, 'n1');
    assert.equal((await state.volume('data'))?.implicit, true, 'a volume used first is made implicitly');
    await state.createContainer(container('m', 'n1', { networks: { app: {} } }));
    assert.deepEqual(await res.pin({ networks: ['app'], volumes: [] }), { node: 'n1', why: ['network app'] });
    assert.deepEqual(
      res.filter([host('n1'), host('n2')], { node: 'n1', why: ['network app'] }).map((n) => n.report.name),
      ['n1'],
    );
    assert.throws(
      () => res.filter([host('n2')], { node: 'n1', why: ['network app'] }),
      /network app lives on n1, which cannot take the container now/,
    );
  });

  test('a network nobody uses pins nothing and moves with its next member', async () => {
    await res.createNetwork({ name: 'app', internal: false, labels: {}, subnets: [], options: {} });
    await res.claim({ networks: ['app'], volumes: [] }, 'n1');
    assert.deepEqual(
      await res.pin({ networks: ['app'], volumes: [] }),
      { why: [] },
      'n1 may be dead: no one is on it',
    );
    await res.claim({ networks: ['app'], volumes: [] }, 'n2');
    assert.equal((await state.network('app'))?.node, 'n2');
    await state.createContainer(container('a', 'n2', { networks: { app: {} } }));
    assert.deepEqual(await res.pin({ networks: ['app'], volumes: [] }), { node: 'n2', why: ['network app'] });
    await assert.rejects(
      res.claim({ networks: ['app'], volumes: [] }, 'n3'),
      /network app was placed on n2 meanwhile/,
    );
  });

  test('resources on two hosts cannot be used together', async () => {
    await res.createNetwork({ name: 'app', internal: false, labels: {}, subnets: [], options: {} });
    await res.claim({ networks: ['app'], volumes: [] }, 'n1');
    await state.createContainer(container('m', 'n1', { networks: { app: {} } }));
    await res.claim({ networks: [], volumes: ['data'] }, 'n2');
    await assert.rejects(
      res.pin({ networks: ['app'], volumes: ['data'] }),
      /network app on n1; volume data on n2/,
    );
  });

  test('a claim never takes a resource from another host, except from a host it is told is gone', async () => {
    await res.claim({ networks: [], volumes: ['data'] }, 'n1');
    await assert.rejects(
      res.claim({ networks: [], volumes: ['data'] }, 'n2'),
      /volume data was placed on n1 meanwhile/,
    );
    await res.claim({ networks: [], volumes: ['data'] }, 'n2', { from: new Set(['n1']) });
    assert.equal((await state.volume('data'))?.node, 'n2');
    // on a failed host the resource does not pin: the first restored user takes it along
    assert.deepEqual(await res.pin({ networks: [], volumes: ['data'] }, new Set(['n2'])), { why: [] });
  });

  test('sharers, groups and volumes shared inside a group', async () => {
    const a = container('a', 'n1', { networks: { app: {} }, volumes: [{ name: 'va', dest: '/a' }] });
    const b = container('b', 'n1', { networks: { app: {} } });
    const c = container('c', 'n1', { volumes: [{ name: 'va', dest: '/c' }] });
    const d = container('d', 'n1', {});
    for (const r of [a, b, c, d]) await state.createContainer(r);
    assert.deepEqual(await res.sharers(needsOf(a.spec), new Set(['a'])), [
      { resource: 'network app', containers: ['b'] },
      { resource: 'volume va', containers: ['c'] },
    ]);
    assert.deepEqual(await res.sharers(needsOf(a.spec), new Set(['a', 'b', 'c'])), []);
    assert.deepEqual((await res.group(b)).map((r) => r.name).sort(), ['a', 'b', 'c'], 'transitively');
    assert.deepEqual(await res.volumesSharedWithin([a, b, c]), ['va']);
    assert.deepEqual(
      (await res.group(d)).map((r) => r.name),
      ['d'],
    );
  });

  test('a network in use is not removed; nor is a pre-defined name created', async () => {
    await res.createNetwork({ name: 'app', internal: false, labels: {}, subnets: [], options: {} });
    await assert.rejects(
      res.createNetwork({ name: 'app', internal: false, labels: {}, subnets: [], options: {} }),
      /network with name app already exists/,
    );
    await assert.rejects(
      res.createNetwork({ name: 'bridge', internal: false, labels: {}, subnets: [], options: {} }),
      /pre-defined network/,
    );
    await state.createContainer(container('a', 'n1', { networks: { app: {} } }));
    await assert.rejects(res.removeNetwork('app'), /has active endpoints \(a\)/);
    await state.deleteContainer('a');
    await res.removeNetwork('app');
    assert.equal(await state.network('app'), undefined);
  });
});
