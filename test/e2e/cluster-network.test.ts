import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { clusterDown } from '../../src/devcluster/cluster-up.ts';
import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import type { ManagerClient } from '../../src/cli/manager-client.ts';
import type { MigrationResult } from '../../src/manager/migrate.ts';
import {
  checkpointStartedAfter,
  dockerCli,
  freshCluster,
  keepLogsOnFailure,
} from '../support/e2e-cluster.ts';
import { RedisClient, redisPingFrom } from '../support/redis-client.ts';
import { sleep, waitFor } from '../support/wait.ts';

// The cluster network (docs/cluster-network.md): a redis keeps its address and a client's one TCP
// connection across live moves between three hosts; containers on different hosts reach each other;
// a failover restore keeps the address. Its own bridge, subnet, ports and names.
const run = promisify(execFile);
const ROOT = '/var/tmp/lifeboat-netmove';
const CLUSTER = { bridge: 'lbnm0', subnet: '10.81.0.0/24', namePrefix: 'n' };
const DOCKER_PORT = 23760;
const { docker, dockerFails } = dockerCli(DOCKER_PORT);

let api: ManagerClient;

async function move(name: string, to: string, keepConnections = true): Promise<MigrationResult> {
  const last = await api.request<{ result?: MigrationResult; error?: { message: string } }>(
    'POST',
    `/lifeboat/v1/containers/${name}/migrate`,
    { to, keepConnections },
    () => undefined,
  );
  if (!last.result) throw new Error(`move of ${name} to ${to} failed: ${JSON.stringify(last.error)}`);
  return last.result;
}

async function addressOf(name: string): Promise<string> {
  return docker('inspect', '--format', '{{(index .NetworkSettings.Networks "lifeboat").IPAddress}}', name);
}

/** Until this machine routes `ip` (the manager's --cluster-routes, every 250 ms): before, it goes out the default route. */
async function routed(ip: string): Promise<void> {
  await waitFor(`a route to ${ip}`, 5000, async () =>
    (await run('ip', ['route', 'show', 'proto', '177'])).stdout.includes(`${ip} via`) ? true : undefined,
  );
}

async function hostOf(name: string): Promise<string> {
  const recs = await api.request<{ name: string; node: string }[]>('GET', '/lifeboat/v1/containers');
  return recs.find((r) => r.name === name)!.node;
}

describe('the cluster network: addresses and connections that follow a container across hosts', () => {
  const keepLogs = keepLogsOnFailure(ROOT, 'cluster-network');
  before(async () => {
    ({ api } = await freshCluster({
      nodes: 3,
      root: ROOT,
      cluster: CLUSTER,
      managerPort: 7460,
      dockerPort: DOCKER_PORT,
      failureTimeoutMs: 3000,
    }));
  });

  after(async () => {
    keepLogs();
    await clusterDown(ROOT);
    const { stdout } = await run('ip', ['route', 'show', 'proto', '177']);
    assert.doesNotMatch(stdout, /10\.181\./, 'no route of this cluster left on the machine');
  });

  test('docker network ls shows it; a container gets an address of the cluster subnet', async () => {
    assert.match(await docker('network', 'ls', '--format', '{{.Name}} {{.Scope}}'), /^lifeboat swarm$/m);
    await docker(
      'run',
      '-d',
      '--name',
      'kv',
      '--network',
      'lifeboat',
      '-e',
      'constraint:node==n1',
      '-l',
      'lifeboat.checkpoint.interval=2s',
      '-l',
      'lifeboat.reschedule=checkpoint',
      'localhost/lifeboat/redis',
    );
    assert.match(await addressOf('kv'), /^10\.181\.\d+\.\d+$/);
  });

  test('a container with a checkpoint policy that names no network joins it; --network bridge opts out', async () => {
    const policy = ['-l', 'lifeboat.reschedule=checkpoint', 'localhost/lifeboat/busybox', 'sleep', '3600'];
    await docker('run', '-d', '--name', 'dflt', ...policy);
    await docker('run', '-d', '--name', 'local', '--network', 'bridge', ...policy);
    assert.equal(await docker('inspect', '--format', '{{.HostConfig.NetworkMode}}', 'dflt'), 'lifeboat');
    assert.match(await addressOf('dflt'), /^10\.181\.\d+\.\d+$/);
    assert.equal(await docker('inspect', '--format', '{{.HostConfig.NetworkMode}}', 'local'), 'bridge');
    assert.doesNotMatch(
      await docker('inspect', '--format', '{{json .NetworkSettings.Networks}}', 'local'),
      /lifeboat/,
    );
    await docker('rm', '-f', 'dflt', 'local');
  });

  test('--keep-connections refuses, before anything is frozen, a container whose address cannot follow', async () => {
    await docker(
      'run',
      '-d',
      '--name',
      'plain',
      '-e',
      'constraint:node==n1',
      'localhost/lifeboat/busybox',
      'sleep',
      '3600',
    );
    await assert.rejects(
      move('plain', 'n2'),
      /plain cannot keep its connections across hosts: it is not on the cluster network/,
    );
    assert.equal(await hostOf('plain'), 'n1');
    assert.equal(await docker('inspect', '--format', '{{.State.Running}}', 'plain'), 'true');
    await move('plain', 'n2', false);
    // joined at create only; pre-defined, so a prune leaves it
    assert.match(
      await dockerFails('network', 'connect', 'lifeboat', 'plain'),
      /network connect is not supported for the cluster network lifeboat/,
    );
    await docker('network', 'prune', '-f');
    assert.match(await docker('network', 'ls', '--format', '{{.Name}}'), /^lifeboat$/m);
    await docker('rm', '-f', 'plain');
  });

  test('one TCP connection, no reconnect, a request every 10 ms: it survives three moves between three hosts', async () => {
    const ip = await addressOf('kv');
    await routed(ip);
    const client = await RedisClient.waitReady(ip, 6379);
    let running = true;
    let last = 0;
    let longestGapMs = 0;
    let lastAnswer = performance.now();
    let failure: unknown;
    const loop = (async () => {
      while (running) {
        const n = Number(await client.command(['INCR', 'counter']));
        const now = performance.now();
        longestGapMs = Math.max(longestGapMs, now - lastAnswer);
        lastAnswer = now;
        assert.equal(n, last + 1, 'no request lost or repeated');
        last = n;
        await sleep(10);
      }
    })().catch((err: unknown) => (failure = err));
    await sleep(300);
    const moves: { to: string; frozenMs: number; ms: number }[] = [];
    for (const to of ['n2', 'n3', 'n1']) {
      const r = await move('kv', to);
      assert.equal(await hostOf('kv'), to);
      assert.equal(await addressOf('kv'), ip, 'the address came along');
      // the container is down from the dump's start to the restore's end
      const downMs = r.phases.checkpointMs + r.phases.transferMs + r.phases.restoreMs;
      moves.push({ to, frozenMs: Math.round((r.criu.frozenTimeUs ?? 0) / 1000), ms: downMs });
      await sleep(1500);
    }
    running = false;
    await loop;
    client.close();
    assert.equal(failure, undefined, `the connection carried on: ${String(failure)}`);
    console.log(
      `# ${last} requests over one connection; longest gap ${Math.round(longestGapMs)} ms; moves ${JSON.stringify(moves)}`,
    );
    assert.ok(last > 100);
  });

  test('containers reach each other by address and by name, on other hosts and on the same, after every move', async () => {
    const ip = await addressOf('kv');
    await docker(
      'run',
      '-d',
      '--name',
      'peer',
      '--network',
      'lifeboat',
      '-e',
      'constraint:node==n3',
      'localhost/lifeboat/busybox',
      'sleep',
      '3600',
    );
    // a new container on a host learns the way to the others with that host's next heartbeat answer (1 s)
    const ping = (to: string): Promise<string> => redisPingFrom(docker, 'peer', to, 15_000);
    assert.notEqual(await hostOf('kv'), 'n3');
    assert.match(await ping(ip), /\+PONG/);
    assert.match(await ping('kv'), /\+PONG/, "by name: the peer's host knows kv, which lives elsewhere");
    // to the peer's own host, then away from it: the peer forgets kv's MAC, which left with kv
    for (const to of ['n3', 'n2']) {
      await move('kv', to);
      assert.match(await ping('kv'), /\+PONG/, `kv on ${to}, by name`);
      assert.match(await ping(ip), /\+PONG/, `kv on ${to}, by address`);
    }
    // and the other way round: kv's host reaches the peer's address
    const peerIp = await addressOf('peer');
    const r = await docker('exec', 'kv', 'sh', '-c', `redis-cli -h ${peerIp} -p 1 ping 2>&1 || true`);
    assert.match(r, /Connection refused/, `the peer's host answered for its address: ${r}`);
  });

  test('a partitioned host fences its copy; healed, it routes the address to the copy that lives on', async () => {
    const ip = await addressOf('kv');
    const from = await hostOf('kv');
    const cluster = new LocalCluster({ root: ROOT });
    const host = cluster.host(from);
    await sleep(2500); // a checkpoint of the ticker after the moves
    await host.partition();
    const to = await waitFor('kv restored away from the partitioned host', 30_000, async () => {
      const h = await hostOf('kv').catch(() => from);
      return h !== from ? h : undefined;
    });
    // never live on two hosts: the partitioned host's copy was fenced before the restore
    const runsOnOld = await host.podman.inspectNamed('kv').then(
      (i) => i.State.Running,
      () => false,
    );
    assert.equal(runsOnOld, false, `the copy on ${from} is not running`);
    const c = await RedisClient.waitReady(ip, 6379, 20_000);
    assert.equal(await c.command(['PING']), 'PONG');
    c.close();
    await host.heal();
    const via = cluster.host(to).address;
    await waitFor(`${from} routes ${ip} via ${to}`, 15_000, async () => {
      const r = await run('nsenter', [...host.nsenterArgs(), 'ip', 'route', 'show', 'proto', '177']);
      return r.stdout.includes(`${ip} via ${via}`) ? true : undefined;
    });
  });

  test('its host dies: restored elsewhere at the same address, where a new connection works; moved back once it rebooted', async () => {
    const ip = await addressOf('kv');
    const from = await hostOf('kv');
    const before = await RedisClient.waitReady(ip, 6379);
    await before.command(['SET', 'kept', 'yes']);
    await checkpointStartedAfter(api, 'kv', Date.now()); // a checkpoint of the ticker holds it
    await new LocalCluster({ root: ROOT }).host(from).kill();
    const after = await waitFor('kv restored elsewhere', 30_000, async () => {
      const h = await hostOf('kv').catch(() => from);
      return h !== from ? h : undefined;
    });
    assert.notEqual(after, from);
    assert.equal(await addressOf('kv'), ip, 'the same address on the new host');
    const fresh = await RedisClient.waitReady(ip, 6379, 20_000);
    assert.equal(await fresh.command(['GET', 'kept']), 'yes');
    fresh.close();
    // the old connection was checkpointed a moment before its last requests: what it does now is logged, not asserted
    const fate = await Promise.race([
      before.command(['PING']).then(
        (r) => `answered ${String(r)}`,
        (e: unknown) => `failed: ${String(e)}`,
      ),
      sleep(5000).then(() => 'no answer within 5 s'),
    ]);
    console.log(`# the connection from before the failover: ${fate}`);
    before.close();

    // the dead host boots with CNI's lease of the address still on its disk (its copy never tore its
    // network down): moved back there, the container gets its address all the same
    await new LocalCluster({ root: ROOT }).host(from).reboot();
    await waitFor(`${from} healthy again`, 30_000, async () => {
      const nodes = await api.request<{ name: string; status: string }[]>('GET', '/lifeboat/v1/nodes');
      return nodes.find((n) => n.name === from)?.status === 'healthy' ? true : undefined;
    });
    await move('kv', from);
    assert.equal(await hostOf('kv'), from);
    assert.equal(await addressOf('kv'), ip, 'the same address back on the rebooted host');
    const back = await RedisClient.waitReady(ip, 6379, 10_000);
    assert.equal(await back.command(['GET', 'kept']), 'yes');
    back.close();
  });
});
