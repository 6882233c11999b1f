import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { NodeClient, NodeReport } from '../node-api/node-client.ts';
import { EmbeddedStore } from '../store/index.ts';
import { createLogger } from '../util/log.ts';
import { ClusterState } from './cluster-state.ts';
import { EventLog } from './events.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { ContainerRecord, NodeRecord } from './records.ts';
import { settleStaleMoves, type SettleDeps } from './settle-moves.ts';

const NOW = Date.parse('2026-12-06T20:00:00Z');
const OLD = new Date(NOW - 300_000).toISOString();
const STALE_MS = 120_000;

let state: ClusterState;
let running: Map<string, Map<string, 'running' | 'exited'>>;
let removed: string[];
let restored: string[];
let restoreFails: boolean;

function client(host: string): NodeClient {
  return {
    name: host,
    report: async () =>
      ({
        name: host,
        containers: [...(running.get(host) ?? new Map())].map(([n, s]) => ({
          Names: [`/${n}`],
          State: s,
          Id: n,
        })),
      }) as unknown as NodeReport,
    remove: async (name: string) => {
      removed.push(`${name}@${host}`);
      running.get(host)?.delete(name);
    },
    restoreInPlace: async (name: string) => {
      if (restoreFails) throw new Error('no checkpoint images');
      restored.push(`${name}@${host}`);
      running.get(host)!.set(name, 'running');
    },
  } as unknown as NodeClient;
}

const nodes: NodeDirectory = {
  client,
  peer: () => {
    throw new Error('unused');
  },
  healthy: async () => ['a', 'b'].map((name) => ({ report: { name } }) as unknown as NodeRecord),
  all: async () => [],
};

function deps(busy: string[] = []): SettleDeps {
  return {
    state,
    nodes,
    events: new EventLog(
      100,
      createLogger('test', () => undefined),
    ),
    busy: (n) => busy.includes(n),
    exclusive: (_n, fn) => fn(),
    now: () => NOW,
  };
}

async function record(extra: Partial<ContainerRecord> = {}): Promise<void> {
  // the store stamps updatedAt on updates; created records keep theirs
  await state.createContainer({
    name: 'kv',
    node: 'a',
    generation: 3,
    spec: { name: 'kv', image: 'redis' },
    phase: 'migrating',
    updatedAt: OLD,
    ...extra,
  });
}

const rec = async (): Promise<ContainerRecord> => (await state.container('kv'))!.record;

beforeEach(async () => {
  state = new ClusterState(await EmbeddedStore.open({}));
  running = new Map([
    ['a', new Map()],
    ['b', new Map()],
  ]);
  removed = [];
  restored = [];
  restoreFails = false;
});

describe('settling moves a dead leader left unfinished', () => {
  test('still on its host: running again; the copy the target prepared goes', async () => {
    await record();
    running.get('a')!.set('kv', 'running');
    running.get('b')!.set('kv', 'exited');
    const [r] = await settleStaleMoves(deps(), STALE_MS);
    assert.equal(r!.outcome, 'back-on-source');
    assert.equal((await rec()).phase, 'running');
    assert.equal((await rec()).node, 'a');
    assert.deepEqual(removed, ['kv@b']);
  });

  test('runs on the target only: the record follows it with a new generation', async () => {
    await record();
    running.get('a')!.set('kv', 'exited');
    running.get('b')!.set('kv', 'running');
    const [r] = await settleStaleMoves(deps(), STALE_MS);
    assert.equal(r!.outcome, 'moved');
    assert.deepEqual(
      [(await rec()).node, (await rec()).generation, (await rec()).phase],
      ['b', 4, 'running'],
    );
    assert.deepEqual(removed, ['kv@a']);
  });

  test('runs on both: the record host keeps it, never two', async () => {
    await record();
    running.get('a')!.set('kv', 'running');
    running.get('b')!.set('kv', 'running');
    const [r] = await settleStaleMoves(deps(), STALE_MS);
    assert.equal(r!.outcome, 'kept-source');
    assert.deepEqual(removed, ['kv@b']);
  });

  test('frozen on the source by the dump: restored there; lost when that fails', async () => {
    await record();
    running.get('a')!.set('kv', 'exited');
    const [r] = await settleStaleMoves(deps(), STALE_MS);
    assert.equal(r!.outcome, 'restored-on-source');
    assert.deepEqual(restored, ['kv@a']);
    assert.equal((await rec()).phase, 'running');

    await state.deleteContainer('kv');
    await record({ restorePolicy: 'checkpoint' });
    running.get('a')!.set('kv', 'exited');
    restoreFails = true;
    const [again] = await settleStaleMoves(deps(), STALE_MS);
    assert.equal(again!.outcome, 'lost');
    assert.match(again!.detail, /the rescheduler restores it/);
    assert.equal((await rec()).phase, 'lost');
  });

  test('a manual restore left running nowhere: stopped again, the copy it began on the target goes', async () => {
    await record({ phase: 'restoring', movingTo: 'b' });
    running.get('b')!.set('kv', 'exited');
    const [r] = await settleStaleMoves(deps(), STALE_MS);
    assert.equal(r!.outcome, 'stopped');
    assert.deepEqual(removed, ['kv@b']);
    assert.deepEqual(restored, [], 'a restore is never redone on its own: it may have been from an archive');
    const after = await rec();
    assert.equal(after.phase, 'stopped');
    assert.equal(after.node, 'a');
    assert.match(after.note ?? '', /run `lifeboat restore` again/);
  });

  test('a restore-policy container whose restore was cut off: lost, for the rescheduler to restore', async () => {
    await record({ phase: 'restoring', movingTo: 'b', restorePolicy: 'checkpoint' });
    running.get('a')!.set('kv', 'exited'); // fenced on its host, which failed and came back
    const [r] = await settleStaleMoves(deps(), STALE_MS);
    assert.equal(r!.outcome, 'lost');
    assert.deepEqual(restored, []);
    assert.deepEqual(removed, [], "its host's fenced copy stays for the rescheduler");
    assert.equal((await rec()).phase, 'lost');
  });

  test('a manual restore that finished unrecorded: the record follows the container', async () => {
    await record({ phase: 'restoring', movingTo: 'b' });
    running.get('b')!.set('kv', 'running');
    const [r] = await settleStaleMoves(deps(), STALE_MS);
    assert.equal(r!.outcome, 'moved');
    const after = await rec();
    assert.deepEqual([after.phase, after.node, after.generation], ['running', 'b', 4]);
    assert.match(after.note ?? '', /restored from a/);
  });

  test("a restore from a failed host is the rescheduler's to finish", async () => {
    await record({ phase: 'restoring', node: 'gone', movingTo: 'b' });
    assert.deepEqual(await settleStaleMoves(deps(), STALE_MS), []);
    assert.equal((await rec()).phase, 'restoring');
  });

  test('a recent record, or one this manager is moving, is left alone', async () => {
    await record({ updatedAt: new Date(NOW - 10_000).toISOString() });
    assert.deepEqual(await settleStaleMoves(deps(), STALE_MS), []);
    await state.deleteContainer('kv');
    await record();
    assert.deepEqual(await settleStaleMoves(deps(['kv']), STALE_MS), []);
    assert.equal((await rec()).phase, 'migrating');
  });
});
