import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PodmanClient } from '../engine/podman-client.ts';
import type { ContainerListEntry } from '../engine/types.ts';
import type { NodeClient, NodeReport } from '../node-api/node-client.ts';
import type { Scheduler } from '../scheduler/index.ts';
import { EmbeddedStore } from '../store/index.ts';
import { ClusterDockerBackend } from './cluster-docker-backend.ts';
import { ClusterState } from './cluster-state.ts';
import { EventLog } from './events.ts';
import type { NodeRegistry } from './node-registry.ts';
import type { ContainerRecord, NodeRecord } from './records.ts';

// docker rm of a stale copy (a host that was cut off still has the container, found by its ID):
// the copy goes, and the container itself, on its own host, keeps its record. docker rm of a
// record whose host no longer has the container removes the record. docker rm of a container
// being moved waits for the move and removes it where it landed.

const entry = (id: string, name: string): ContainerListEntry =>
  ({
    Id: id,
    Names: [name],
    State: 'running',
    Image: 'busybox',
    Labels: {},
  }) as unknown as ContainerListEntry;

/** The record of a container `ghost` on `node`, which that host does not have. */
const ghostOn = (node: string, phase: ContainerRecord['phase']): ContainerRecord => ({
  name: 'ghost',
  node,
  generation: 1,
  spec: { name: 'ghost', image: 'busybox' },
  phase,
  updatedAt: new Date().toISOString(),
});

/** Two hosts with what they hold, the record of `web` on h1, and the cluster's docker backend. */
async function cluster(
  onHost: Record<string, ContainerListEntry[]>,
  o: {
    exclusive?: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
    staleMoveMs?: number;
  } = {},
): Promise<{ b: ClusterDockerBackend; state: ClusterState; events: EventLog; removed: string[] }> {
  const removed: string[] = [];
  const client = (name: string): NodeClient =>
    ({
      name,
      podman: {
        listContainers: async () => onHost[name] ?? [],
        removeContainer: async (id: string) => {
          removed.push(`${name}:${id}`);
          onHost[name] = (onHost[name] ?? []).filter((c) => c.Id !== id);
        },
      } as unknown as PodmanClient,
    }) as unknown as NodeClient;
  const record = (name: string): NodeRecord =>
    ({
      report: { name, address: '10.0.0.1', containers: onHost[name] ?? [] } as unknown as NodeReport,
      status: 'healthy',
    }) as NodeRecord;
  const nodes = {
    healthy: async () => ['h1', 'h2'].map(record),
    all: async () => ['h1', 'h2'].map(record),
    client,
  } as unknown as NodeRegistry;
  const state = new ClusterState(await EmbeddedStore.open({}));
  await state.createContainer({
    name: 'web',
    node: 'h1',
    id: 'aaaa1111',
    generation: 2,
    spec: { name: 'web', image: 'busybox' },
    phase: 'running',
    updatedAt: new Date().toISOString(),
  } as ContainerRecord);
  const events = new EventLog();
  const b = new ClusterDockerBackend({
    state,
    nodes,
    scheduler: {} as Scheduler,
    events,
    checkpointDir: '/nonexistent',
    ...o,
  });
  return { b, state, events, removed };
}

describe('docker rm across the cluster', () => {
  test('removing a stale copy by its ID leaves the live container and its record', async () => {
    const onHost: Record<string, ContainerListEntry[]> = {
      h1: [entry('aaaa1111', 'web')],
      h2: [entry('bbbb2222', 'web')], // the stale copy
    };
    const { b, state, events, removed } = await cluster(onHost);
    await b.removeContainer('bbbb2222', { force: true });
    assert.deepEqual(removed, ['h2:bbbb2222']);
    assert.equal((await state.container('web'))?.record.node, 'h1', 'the record stays');
    assert.match(
      events.since(0).at(-1)?.message ?? '',
      /removed a stale copy of web from h2; web itself runs on h1/,
    );

    // by name: the container itself goes, and its record with it
    await b.removeContainer('web', { force: true });
    assert.deepEqual(removed, ['h2:bbbb2222', 'h1:aaaa1111']);
    assert.equal(await state.container('web'), undefined);

    // a record whose host no longer has the container: rm removes the record (the name is free again)
    await state.createContainer(ghostOn('h2', 'running'));
    await b.removeContainer('ghost', { force: true });
    assert.equal(await state.container('ghost'), undefined);
    assert.match(events.since(0).at(-1)?.message ?? '', /removed the record of ghost: h2 no longer had/);

    // ... but not while it is being restored there: the copy may not be listed yet
    await state.createContainer(ghostOn('h2', 'restoring'));
    await assert.rejects(b.removeContainer('ghost', { force: true }), /No such container: ghost/);
    assert.equal((await state.container('ghost'))?.record.phase, 'restoring');
  });

  test('a record a dead manager left restoring, on a host without the container, goes once stale', async () => {
    const { b, state } = await cluster({ h1: [], h2: [] }, { staleMoveMs: 0 });
    await state.createContainer(ghostOn('h2', 'restoring'));
    await b.removeContainer('ghost', { force: true });
    assert.equal(await state.container('ghost'), undefined);
  });

  test('a container being moved is removed once the move ends, on the host it landed on', async () => {
    const onHost: Record<string, ContainerListEntry[]> = { h1: [entry('aaaa1111', 'web')], h2: [] };
    let release: () => void = () => undefined;
    const moving = new Promise<void>((r) => (release = r));
    let held: Promise<unknown> = Promise.resolve();
    const exclusive = async <T>(_name: string, fn: () => Promise<T>): Promise<T> => {
      await held;
      const p = fn();
      held = p.catch(() => undefined);
      return p;
    };
    const { b, state, removed } = await cluster(onHost, { exclusive });
    // the move holds the container: it lands on h2 before it lets go
    const move = exclusive('web', async () => {
      await moving;
      onHost['h2'] = [entry('aaaa1111', 'web')];
      onHost['h1'] = [];
      await state.updateContainer('web', (r) => ({ ...r, node: 'h2' }));
    });
    const rm = b.removeContainer('web', { force: true });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(removed, [], 'nothing removed while the move runs');
    release();
    await move;
    await rm;
    assert.deepEqual(removed, ['h2:aaaa1111']);
    assert.equal(await state.container('web'), undefined);
  });
});
