import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { keepLogsOnFailure } from '../support/e2e-cluster.ts';
import { clusterDown, clusterUp, type ClusterUpResult } from '../../src/devcluster/cluster-up.ts';
import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import { ManagerClient } from '../../src/cli/manager-client.ts';
import type { DrainProgress } from '../../src/manager/records.ts';
import { waitFor } from '../support/wait.ts';

// lifeboat node drain on 3 hosts with two managers on etcd: each container
// ends where its policy says and the host takes nothing new until activated;
// then the leader is killed in the middle of a drain and the new leader
// finishes it, every container running exactly once.
const run = promisify(execFile);
const ROOT = '/var/tmp/lifeboat-drain';
const CLUSTER = { bridge: 'lbdrain0', subnet: '10.85.0.0/24', namePrefix: 'g' };
let up: ClusterUpResult;
let clients: ManagerClient[];
/** The manager replica the tests talk to: the second, until a test kills one (then the survivor). */
let alive = 1;

async function docker(...args: string[]): Promise<string> {
  return (
    await run('docker', args, { env: { ...process.env, DOCKER_HOST: up.managers[alive]!.dockerHost } })
  ).stdout.trim();
}

async function dockerFails(...args: string[]): Promise<string> {
  try {
    await docker(...args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error(`docker ${args.join(' ')} succeeded`);
}

/** Hosts whose Podman runs `name` now (by name: `a1` is also a prefix of some hosts' container IDs). */
async function runningOn(name: string): Promise<string[]> {
  const cluster = new LocalCluster({ root: ROOT });
  const out: string[] = [];
  for (const h of ['g1', 'g2', 'g3']) {
    const r = await cluster
      .host(h)
      .podman.inspectNamed(name)
      .then(
        (i) => i.State.Running,
        () => false,
      );
    if (r) out.push(h);
  }
  return out;
}

const busybox = ['localhost/lifeboat/busybox:latest', 'sh', '-c', 'while true; do sleep 0.2; done'];

describe('lifeboat node drain', () => {
  const keepLogs = keepLogsOnFailure(ROOT, 'drain');
  before(async () => {
    await clusterDown(ROOT, undefined, CLUSTER).catch(() => undefined);
    up = await clusterUp({
      nodes: 3,
      root: ROOT,
      cluster: CLUSTER,
      managerPort: 7530,
      dockerPort: 23737,
      failureTimeoutMs: 3000,
      store: 'etcd',
      managers: 2,
      etcdBasePort: 23840,
    });
    clients = await Promise.all(
      up.managers.map((m) =>
        ManagerClient.open({ managerUrl: m.url, pkiDir: up.pkiDir, dockerHost: m.dockerHost }),
      ),
    );
  });
  after(async () => {
    keepLogs();
    await clusterDown(ROOT);
  });

  test('each container ends where its policy says; the host takes nothing new until activated', async () => {
    await docker(
      'run',
      '-d',
      '--name',
      'kv',
      '-e',
      'constraint:node==g1',
      '-l',
      'lifeboat.checkpoint.interval=5s',
      '-l',
      'lifeboat.reschedule=checkpoint',
      'localhost/lifeboat/redis:latest',
    );
    await docker('run', '-d', '--name', 'plain', '-e', 'constraint:node==g1', ...busybox);
    // a bind mount cannot move live: with a restore policy --force restarts it elsewhere, without one it stays
    await docker(
      'run',
      '-d',
      '--name',
      'swarmish',
      '-e',
      'constraint:node==g1',
      '-e',
      'reschedule:on-node-failure',
      '-v',
      '/tmp:/hosttmp',
      ...busybox,
    );
    await docker(
      'run',
      '-d',
      '--name',
      'pinned',
      '-e',
      'constraint:node==g1',
      '-v',
      '/tmp:/hosttmp',
      ...busybox,
    );
    await docker('create', '--name', 'idle', '-e', 'constraint:node==g1', ...busybox);
    const events: unknown[] = [];
    const last = await clients[0]!.request<{ result: DrainProgress }>(
      'POST',
      '/lifeboat/v1/nodes/g1/drain?force=1',
      undefined,
      (l) => events.push(l),
    );
    const r = last.result;
    assert.equal(r.status, 'done');
    assert.deepEqual(r.moved.map((m) => m.container).sort(), ['kv', 'plain']);
    assert.deepEqual(
      r.restarted.map((m) => m.container),
      ['swarmish'],
    );
    assert.deepEqual(r.left.map((m) => m.container).sort(), ['idle', 'pinned']);
    assert.match(
      r.left.find((l) => l.container === 'pinned')!.why,
      /bind-mounts \/tmp of its host.*no restore policy/,
    );
    assert.deepEqual(r.failed, []);
    assert.ok(
      events.some((l) => (l as { event?: { outcome: string } }).event?.outcome === 'moving'),
      'progress per container',
    );
    for (const c of ['kv', 'plain', 'swarmish']) {
      const where = await runningOn(c);
      assert.equal(where.length, 1, `${c} runs once: ${where.join(',')}`);
      assert.notEqual(where[0], 'g1', `${c} left g1`);
    }
    assert.deepEqual(await runningOn('pinned'), ['g1']);
    // nothing new lands there, and everyone can see why
    const refused = await dockerFails('run', '-d', '--name', 'late', '-e', 'constraint:node==g1', ...busybox);
    assert.match(refused, /drained/);
    assert.match(await docker('info'), /g1[\s\S]*?Availability: drain/);
    const nodes = await clients[1]!.request<{ name: string; availability: string }[]>(
      'GET',
      '/lifeboat/v1/nodes',
    );
    assert.equal(nodes.find((n) => n.name === 'g1')!.availability, 'drain');
    assert.deepEqual(await clients[0]!.request('POST', '/lifeboat/v1/nodes/g1/activate'), {
      wasDrained: true,
      progress: { ...r },
    });
    await docker('run', '-d', '--name', 'late', '-e', 'constraint:node==g1', ...busybox);
    assert.deepEqual(await runningOn('late'), ['g1']);
  });

  test('the leader dies mid-drain: the new leader finishes it, every container runs exactly once', async () => {
    const names = ['m1', 'm2', 'm3', 'm4'];
    for (const n of names)
      await docker(
        'run',
        '-d',
        '--name',
        n,
        '-e',
        'constraint:node==g2',
        '-l',
        'lifeboat.reschedule=checkpoint',
        ...busybox,
      );
    const leader = (await clients[0]!.request<{ leader?: { name: string } }>('GET', '/lifeboat/v1/leader'))
      .leader!.name;
    const li = up.managers.findIndex((m) => m.name === leader);
    const other = 1 - li;
    alive = other;
    // one move at a time, so that the kill lands with moves left to do
    let moved = 0;
    const killed = new Promise<void>((resolve) => {
      void clients[li]!.request('POST', '/lifeboat/v1/nodes/g2/drain?parallel=1', undefined, (l) => {
        if ((l as { event?: { outcome: string } }).event?.outcome === 'moved' && ++moved === 1) {
          const state = JSON.parse(readFileSync(`${ROOT}/state.json`, 'utf8')) as {
            processes: { role: string; pid: number }[];
          };
          process.kill(state.processes.find((p) => p.role === leader)!.pid, 'SIGKILL');
          resolve();
        }
      }).catch(() => resolve());
    });
    await killed;
    // usually within seconds; when the kill caught the next move under way, that move is settled by
    // the new leader once 120 s old (settle-moves.ts), and the resumed drain waits for it
    const done = await waitFor('the new leader to finish the drain', 180_000, async () => {
      const nodes = await clients[other]!.request<{ name: string; availability: string }[]>(
        'GET',
        '/lifeboat/v1/nodes',
      );
      if (nodes.find((n) => n.name === 'g2')?.availability !== 'drain') return undefined;
      const recs = await clients[other]!.request<{ name: string; node: string; phase: string }[]>(
        'GET',
        '/lifeboat/v1/containers',
      );
      return names.every((n) => recs.some((r) => r.name === n && r.node !== 'g2' && r.phase === 'running'))
        ? recs
        : undefined;
    });
    assert.ok(done);
    const events = await clients[other]!.request<{ type: string; node?: string }[]>(
      'GET',
      '/lifeboat/v1/events',
    );
    assert.ok(
      events.some((e) => e.type === 'drain.resume' && e.node === 'g2'),
      'the new leader resumed the drain',
    );
    // the drain goes on to g2's other containers: the next test starts once it has ended
    await waitFor('the resumed drain of g2 to end', 90_000, async () => {
      const ev = await clients[other]!.request<{ type: string; node?: string }[]>(
        'GET',
        '/lifeboat/v1/events',
      );
      const resumed = ev.findIndex((e) => e.type === 'drain.resume' && e.node === 'g2');
      return resumed >= 0 && ev.slice(resumed).some((e) => e.type === 'drain.done' && e.node === 'g2')
        ? true
        : undefined;
    });
    for (const n of names) {
      const where = await runningOn(n);
      assert.equal(where.length, 1, `${n} runs exactly once: ${where.join(',') || 'nowhere'}`);
      assert.notEqual(where[0], 'g2');
    }
  });

  test('rebalance --pack empties a host by live moves without breaking an affinity; the emptied host runs nothing', async () => {
    for (const id of (await docker('ps', '-aq')).split('\n').filter(Boolean)) await docker('rm', '-f', id);
    await clients[alive]!.request('POST', '/lifeboat/v1/nodes/g2/activate');
    await docker('run', '-d', '--name', 'a1', '-e', 'constraint:node==g1', ...busybox);
    await docker('run', '-d', '--name', 'a3', '-e', 'constraint:node==g3', ...busybox);
    await docker('run', '-d', '--name', 'a4', '-e', 'constraint:node==g3', ...busybox);
    // a2 must never share a host with a4: g2 can only be emptied onto g1, which is emptied first
    await docker(
      'run',
      '-d',
      '--name',
      'a2',
      '-e',
      'constraint:node==g2',
      '-e',
      'affinity:container!=a4',
      ...busybox,
    );
    const dry = await clients[alive]!.request<{
      result: {
        plan: {
          moves: { container: string; to: string }[];
          emptied: string[];
          kept: { host: string; why: string }[];
        };
      };
    }>('POST', '/lifeboat/v1/rebalance?mode=pack&dryRun=1', undefined, () => undefined);
    assert.deepEqual(dry.result.plan.emptied, ['g1']);
    assert.deepEqual(dry.result.plan.moves, [{ container: 'a1', from: 'g1', to: 'g3' }]);
    assert.match(dry.result.plan.kept.find((k) => k.host === 'g2')!.why, /a2 fits nowhere else/);
    assert.deepEqual(await runningOn('a1'), ['g1'], 'a dry run moves nothing');
    const done = await clients[alive]!.request<{ result: { emptied: string[]; failed: unknown[] } }>(
      'POST',
      '/lifeboat/v1/rebalance?mode=pack',
      undefined,
      () => undefined,
    );
    assert.deepEqual(done.result.emptied, ['g1']);
    assert.deepEqual(done.result.failed, []);
    assert.deepEqual(await runningOn('a1'), ['g3']);
    assert.deepEqual(await runningOn('a2'), ['g2']);
    const g1 = (
      await clients[alive]!.request<{ name: string; running: number }[]>('GET', '/lifeboat/v1/nodes')
    ).find((n) => n.name === 'g1');
    await waitFor('g1 to report no running container', 10_000, async () =>
      (await clients[alive]!.request<{ name: string; running: number }[]>('GET', '/lifeboat/v1/nodes')).find(
        (n) => n.name === 'g1',
      )?.running === 0
        ? true
        : undefined,
    );
    assert.ok(g1);
  });
});
