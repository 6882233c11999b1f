import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ManagerClient } from '../../src/cli/manager-client.ts';
import { clusterDown } from '../../src/devcluster/cluster-up.ts';
import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import { checkpointStartedAfter, freshCluster, keepLogsOnFailure } from '../support/e2e-cluster.ts';
import { waitFor } from '../support/wait.ts';

/** Polls `cond` until it holds. */
const until = (what: string, ms: number, cond: () => boolean | Promise<boolean>): Promise<true> =>
  waitFor(what, ms, async () => ((await cond()) ? true : undefined));

// A docker compose project (Debian's docker-compose 1.29.2, Compose v1)
// against the cluster endpoint: a redis that mounts a named volume and
// carries a checkpoint interval, a busybox client that reaches it by service
// name on the project's own network. up, ps, logs -f, exec, restart, stop;
// then the project moves to another host as a unit (lifeboat migrate
// --with-network), keeps its keys, its volume's data and its names; then
// its host is killed and the project comes back on the other one from its
// checkpoints, volume included; then down -v leaves nothing behind.
const run = promisify(execFile);
const ROOT = '/var/tmp/lifeboat-compose';
const CLUSTER = { bridge: 'lbcmp0', subnet: '10.84.0.0/24', namePrefix: 'p' };
const DOCKER_PORT = 23738;
const PROJECT = 'lbcmp';
const env = { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${DOCKER_PORT}` };
const dir = mkdtempSync(join(tmpdir(), 'lb-compose-'));
let api: ManagerClient;

const COMPOSE = `version: "3.7"
services:
  redis:
    image: localhost/lifeboat/redis
    ports: ["26391:6379"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      retries: 3
    labels:
      lifeboat.checkpoint.interval: 2s
      lifeboat.reschedule: checkpoint
  client:
    image: localhost/lifeboat/busybox
    depends_on: [redis]
    command: ["sh", "-c", "while true; do echo PING | nc -w1 redis 6379; sleep 0.5; done"]
    labels:
      lifeboat.reschedule: on-node-failure
volumes:
  data: {}
`;

async function compose(...args: string[]): Promise<string> {
  const r = await run('docker-compose', ['-p', PROJECT, ...args], { cwd: dir, env });
  return (r.stdout + r.stderr).trim();
}

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { env })).stdout.trim();
}

const redisCli = (...args: string[]): Promise<string> => compose('exec', '-T', 'redis', 'redis-cli', ...args);

/** The host a container's record names. */
async function hostOf(container: string): Promise<string> {
  const recs = await api.request<{ name: string; node: string }[]>('GET', '/lifeboat/v1/containers');
  return recs.find((r) => r.name === container)!.node;
}

/** redis's health check: its status and when its latest check started (epoch ms; 0: none yet). */
async function health(): Promise<{ status: string; lastRun: number }> {
  const h = JSON.parse(await docker('inspect', '-f', '{{json .State.Health}}', `${PROJECT}_redis_1`)) as {
    Status: string;
    Log: { Start: string }[] | null;
  } | null;
  const starts = (h?.Log ?? []).map((l) => Date.parse(l.Start)).filter(Number.isFinite);
  return { status: h?.Status ?? 'none', lastRun: Math.max(0, ...starts) };
}

/** Lines of the client's log that answered PONG. */
async function pongs(): Promise<number> {
  const out = await compose('logs', '--no-color', 'client');
  return out.split('\n').filter((l) => l.includes('+PONG')).length;
}

/** The volume's directory on the host that has it (same machine: the local cluster's hosts share its disk). */
async function volumeDir(): Promise<{ node: string; path: string }> {
  const v = JSON.parse(await docker('volume', 'inspect', `${PROJECT}_data`)) as {
    Mountpoint: string;
    Status?: { Node?: string };
  }[];
  return { node: v[0]!.Status?.Node ?? '', path: v[0]!.Mountpoint };
}

describe('docker compose: a project on the cluster, moved as a unit and restored after its host dies', () => {
  const keepLogs = keepLogsOnFailure(ROOT, 'compose');
  before(async () => {
    ({ api } = await freshCluster({
      nodes: 2,
      root: ROOT,
      cluster: CLUSTER,
      managerPort: 7540,
      dockerPort: DOCKER_PORT,
    }));
    writeFileSync(join(dir, 'docker-compose.yml'), COMPOSE);
  });

  after(async () => {
    await compose('down', '-v', '-t', '1').catch(() => undefined);
    keepLogs();
    await clusterDown(ROOT);
    rmSync(dir, { recursive: true, force: true });
  });

  test('up -d, ps, logs -f, exec, restart, stop', async () => {
    const up = await compose('up', '-d');
    assert.match(up, /Creating network "lbcmp_default"/);
    assert.match(up, /Creating volume "lbcmp_data"/);
    const ps = await compose('ps');
    assert.match(ps, /lbcmp_redis_1 .* Up .*:26391->6379\/tcp/);
    assert.match(ps, /lbcmp_client_1 .* Up/);
    // both on one host: the network lives there
    assert.equal(await hostOf('lbcmp_client_1'), await hostOf('lbcmp_redis_1'));
    await until('the client reaches redis by its service name', 15_000, async () => (await pongs()) > 0);
    // the health check runs every second (the host's agent drives it: no systemd timers here)
    await until('redis healthy', 15_000, async () => (await health()).status === 'healthy');
    assert.match(await compose('ps'), /lbcmp_redis_1 .* Up \(healthy\)/);
    // logs -f follows until stopped
    const follow = spawn('docker-compose', ['-p', PROJECT, 'logs', '-f', '--no-color', 'client'], {
      cwd: dir,
      env,
    });
    let followed = '';
    follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    await until('logs -f shows the client', 10_000, () => followed.includes('+PONG'));
    follow.kill('SIGINT');
    assert.equal(await redisCli('SET', 'k', 'before-restart'), 'OK');
    // docker exec -i: stdin reaches the process and its output comes back after stdin ends
    const piped = await new Promise<string>((resolve, reject) => {
      const c = spawn('docker', ['exec', '-i', `${PROJECT}_redis_1`, 'cat'], { env });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('error', reject);
      c.on('close', () => resolve(out));
      c.stdin.end('through stdin\n');
    });
    assert.equal(piped, 'through stdin\n');
    assert.match(await compose('restart', '-t', '1'), /Restarting lbcmp_redis_1 .*done/);
    await until(
      'redis after restart',
      15_000,
      async () => (await redisCli('PING').catch(() => '')) === 'PONG',
    );
    assert.match(await compose('stop', '-t', '1'), /Stopping lbcmp_redis_1 .*done/);
    assert.match(await compose('ps'), /lbcmp_redis_1 .* Exit/);
    await compose('up', '-d');
    await until(
      'redis started again',
      15_000,
      async () => (await redisCli('PING').catch(() => '')) === 'PONG',
    );
  });

  test('a move alone is refused up front; --with-network moves the project, keys, volume data and names', async () => {
    const from = await hostOf('lbcmp_redis_1');
    assert.equal(await redisCli('SET', 'k', 'v1'), 'OK');
    // the volume's data: a file written into /data
    await compose('exec', '-T', 'redis', 'sh', '-c', 'echo on-disk > /data/marker');
    const before = await volumeDir();
    assert.equal(before.node, from);
    assert.equal(
      readFileSync(join(before.path, 'marker'), 'utf8'),
      'on-disk\n',
      'the file in the volume on its host',
    );

    const refused = await api.request<{ error?: { message: string; hint?: string } }>(
      'POST',
      '/lifeboat/v1/containers/lbcmp_redis_1/migrate',
      {},
    );
    assert.match(
      refused.error?.message ?? '',
      /cannot move alone: its network lbcmp_default is also used by lbcmp_client_1/,
    );
    assert.match(refused.error?.hint ?? '', /lifeboat migrate --with-network lbcmp_redis_1/);
    assert.equal(await hostOf('lbcmp_redis_1'), from, 'nothing moved');

    const lines: unknown[] = [];
    await api.request('POST', '/lifeboat/v1/containers/lbcmp_redis_1/migrate', { withNetwork: true }, (l) =>
      lines.push(l),
    );
    const last = lines[lines.length - 1] as { result?: { group?: { container: string; to: string }[] } };
    // a failed move says why in its last lines: shown when it fails (a CI run saw one end without a group)
    assert.deepEqual(
      last.result?.group?.map((g) => g.container).sort(),
      ['lbcmp_client_1', 'lbcmp_redis_1'],
      JSON.stringify(lines.slice(-4)),
    );
    const to = await hostOf('lbcmp_redis_1');
    assert.notEqual(to, from);
    assert.equal(await hostOf('lbcmp_client_1'), to);
    assert.equal(await redisCli('GET', 'k'), 'v1', 'memory came along');
    const after = await volumeDir();
    assert.equal(after.node, to, 'the volume record follows');
    assert.equal(
      readFileSync(join(after.path, 'marker'), 'utf8'),
      'on-disk\n',
      "the volume's data is on the new host",
    );
    assert.ok(!existsSync(before.path), 'and no longer on the old one');
    const net = JSON.parse(await docker('network', 'inspect', `${PROJECT}_default`)) as { Node?: string }[];
    assert.equal(net[0]!.Node, to);
    const n0 = await pongs();
    await until('the client still reaches redis by name', 15_000, async () => (await pongs()) > n0 + 2);
    // the health check goes on on the new host
    const moved = Date.now();
    await until('health checks after the move', 15_000, async () => {
      const h = await health();
      return h.status === 'healthy' && h.lastRun > moved;
    });
    assert.match(await docker('port', `${PROJECT}_redis_1`), /6379\/tcp -> 10\.84\.0\.\d+:26391/);
  });

  test('a drain of its host moves the project as a group', async () => {
    const host = await hostOf('lbcmp_redis_1');
    let drained: { result?: { moved: { container: string; to: string }[] } } = {};
    try {
      // NDJSON: progress lines, then {result}
      await api.request('POST', `/lifeboat/v1/nodes/${host}/drain`, undefined, (l) => {
        if ((l as { result?: unknown }).result) drained = l as typeof drained;
      });
    } finally {
      await api.request('POST', `/lifeboat/v1/nodes/${host}/activate`);
    }
    assert.deepEqual(
      drained.result?.moved.map((m) => m.container).sort(),
      ['lbcmp_client_1', 'lbcmp_redis_1'],
      JSON.stringify(drained),
    );
    const now = await hostOf('lbcmp_redis_1');
    assert.notEqual(now, host);
    assert.equal(await hostOf('lbcmp_client_1'), now);
    assert.equal(await redisCli('GET', 'k'), 'v1');
  });

  test('its host is killed: the project comes back on the other host, keys and volume data included', async () => {
    const dead = await hostOf('lbcmp_redis_1');
    assert.equal(await redisCli('SET', 'k', 'v2'), 'OK');
    // a checkpoint whose dump started after the write (interval 2 s)
    await checkpointStartedAfter(api, 'lbcmp_redis_1', Date.now());
    await new LocalCluster({ root: ROOT }).host(dead).kill();
    await until('both restored elsewhere', 60_000, async () => {
      const recs = await api.request<{ name: string; node: string; phase: string }[]>(
        'GET',
        '/lifeboat/v1/containers',
      );
      return recs
        .filter((r) => r.name.startsWith('lbcmp_'))
        .every((r) => r.node !== dead && r.phase === 'running');
    });
    await until(
      'the key of the checkpoint',
      15_000,
      async () => (await redisCli('GET', 'k').catch(() => '')) === 'v2',
    );
    const vol = await volumeDir();
    assert.notEqual(vol.node, dead);
    assert.equal(
      readFileSync(join(vol.path, 'marker'), 'utf8'),
      'on-disk\n',
      "the volume's data came back from the checkpoint",
    );
    const n0 = await pongs();
    await until('the client (started fresh) reaches redis by name', 20_000, async () => (await pongs()) > n0);
  });

  test('docker network and volume by hand: create, connect, disconnect, rm; what cannot be honoured is refused by name', async () => {
    const fails = async (...args: string[]): Promise<string> => {
      try {
        await docker(...args);
      } catch (err) {
        return String((err as { stderr?: string }).stderr);
      }
      throw new Error(`docker ${args.join(' ')} succeeded`);
    };
    assert.match(
      await fails('network', 'create', '-d', 'overlay', 'ov'),
      /Driver: "overlay" is not supported: .*local to one host/,
    );
    assert.match(await fails('volume', 'create', '-d', 'nfs', 'nv'), /Driver: "nfs" is not supported/);
    assert.match(await fails('volume', 'create', '-o', 'type=nfs', 'nv'), /DriverOpts is not supported/);
    assert.match(
      await fails('run', '-d', '-v', '/anon', 'localhost/lifeboat/busybox', 'true'),
      /"\/anon" is an anonymous volume/,
    );
    assert.match(
      await fails('run', '-d', '--network', 'nonet', 'localhost/lifeboat/busybox', 'true'),
      /network nonet not found/,
    );
    assert.match(
      await fails(
        'run',
        '-d',
        '-v',
        '/tmp:/x',
        '-l',
        'lifeboat.reschedule=checkpoint',
        'localhost/lifeboat/busybox',
        'true',
      ),
      /cannot bind-mount a host path: \/tmp would be another directory/,
    );
    await docker('run', '-d', '--name', 'hb', '-v', '/tmp:/x', 'localhost/lifeboat/busybox', 'sleep', '600');
    const refused = await api.request<{ error?: { message: string } }>(
      'POST',
      '/lifeboat/v1/containers/hb/migrate',
      {},
    );
    assert.match(refused.error?.message ?? '', /hb cannot move live: it bind-mounts \/tmp of its host/);
    await docker('rm', '-f', 'hb');
    await docker('network', 'create', '--subnet', '10.77.5.0/24', '--label', 'team=a', 'hand');
    await docker('volume', 'create', '--label', 'team=a', 'handv');
    await docker(
      'run',
      '-d',
      '--name',
      'h1',
      '--network',
      'hand',
      '--network-alias',
      'one',
      '-v',
      'handv:/v',
      'localhost/lifeboat/busybox',
      'sleep',
      '600',
    );
    await docker(
      'run',
      '-d',
      '--name',
      'h2',
      '-e',
      `constraint:node==${await hostOf('h1')}`,
      'localhost/lifeboat/busybox',
      'sleep',
      '600',
    );
    await docker('network', 'connect', '--alias', 'two', 'hand', 'h2');
    assert.match(await docker('exec', 'h2', 'ping', '-c', '1', '-W', '2', 'one'), /1 packets received/);
    assert.match(await docker('exec', 'h1', 'ping', '-c', '1', '-W', '2', 'two'), /1 packets received/);
    assert.match(
      await docker('inspect', '-f', '{{(index .NetworkSettings.Networks "hand").IPAddress}}', 'h1'),
      /^10\.77\.5\.\d+$/,
    );
    assert.match(
      await docker('network', 'ls', '--filter', 'label=team=a', '--format', '{{.Name}}'),
      /^hand$/,
    );
    assert.match(
      await docker('volume', 'ls', '--filter', 'label=team=a', '--format', '{{.Name}}'),
      /^handv$/,
    );
    assert.match(await fails('network', 'rm', 'hand'), /has active endpoints \(h1, h2\)/);
    assert.match(await fails('volume', 'rm', 'handv'), /volume is in use/);
    await docker('network', 'disconnect', 'hand', 'h2');
    await docker('rm', '-f', 'h1', 'h2');
    await docker('network', 'rm', 'hand');
    await docker('volume', 'rm', 'handv');
    assert.doesNotMatch(await docker('network', 'ls'), /hand/);
  });

  test('down -v removes the containers, the network and the volume', async () => {
    const out = await compose('down', '-v', '-t', '1');
    assert.match(out, /Removing network lbcmp_default/);
    assert.match(out, /Removing volume lbcmp_data/);
    assert.doesNotMatch(await docker('network', 'ls', '--format', '{{.Name}}'), /lbcmp_default/);
    assert.equal(await docker('volume', 'ls', '-q'), '');
  });
});
