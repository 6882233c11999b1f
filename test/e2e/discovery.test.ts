import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManagerClient } from '../../src/cli/manager-client.ts';
import { clusterDown } from '../../src/devcluster/cluster-up.ts';
import { dockerCli, freshCluster, keepLogsOnFailure } from '../support/e2e-cluster.ts';
import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import type { ContainerRecord } from '../../src/manager/records.ts';
import { waitFor } from '../support/wait.ts';
import { redisPingFrom } from '../support/redis-client.ts';

// Swarm's static discovery (file://): the manager polls the agents listed in a
// file, re-read every poll; agents run with --polled and count polls as contact.
const run = promisify(execFile);

describe('static discovery: a file:// host list polled by the manager', () => {
  const ROOT = '/var/tmp/lifeboat-e2e-disc';
  const keepLogs = keepLogsOnFailure(ROOT, 'discovery');
  const DOCKER_PORT = 23796;
  let api: ManagerClient;
  const hostsFile = join(ROOT, 'manager', 'hosts');
  const { docker } = dockerCli(DOCKER_PORT);
  type NodeSummary = { name: string; status: string };
  const nodes = async (): Promise<Record<string, string>> =>
    Object.fromEntries(
      (await api.request<NodeSummary[]>('GET', '/lifeboat/v1/nodes')).map((n) => [n.name, n.status]),
    );

  before(async () => {
    ({ api } = await freshCluster({
      nodes: 2,
      root: ROOT,
      cluster: { bridge: 'lbdisc0', subnet: '10.92.0.0/24', namePrefix: 'd' },
      managerPort: 7490,
      dockerPort: DOCKER_PORT,
      failureTimeoutMs: 3000,
      discovery: 'file',
    }));
  });
  after(async () => {
    keepLogs();
    await clusterDown(ROOT);
  });

  test('listed hosts join without heartbeats; the docker CLI places a container on one', async () => {
    // the agents were started without a manager to heartbeat to
    const { stdout } = await run('ps', ['-eo', 'args']);
    const agents = stdout.split('\n').filter((l) => / agent --name d\d /.test(l));
    assert.equal(agents.length, 2, stdout);
    for (const a of agents) assert.ok(a.includes('--polled') && !a.includes('--manager'), a);
    assert.deepEqual(await nodes(), { d1: 'healthy', d2: 'healthy' });
    await docker(
      'run',
      '-d',
      '--name',
      'polled',
      '-e',
      'constraint:node==d2',
      '-l',
      'lifeboat.reschedule=on-node-failure',
      'localhost/lifeboat/busybox:latest',
      'sleep',
      '3600',
    );
    const rec = (await api.request<ContainerRecord[]>('GET', '/lifeboat/v1/containers')).find(
      (r) => r.name === 'polled',
    );
    assert.equal(rec?.node, 'd2');
  });

  test('a host taken off the list is failed and fences itself; listed again, it reconciles', async () => {
    const original = readFileSync(hostsFile, 'utf8');
    const d2 = new LocalCluster({ root: ROOT }).host('d2');
    writeFileSync(
      hostsFile,
      original
        .split('\n')
        .filter((l) => !l.startsWith(d2.address))
        .join('\n'),
    );
    // no one polls d2 any more: the manager declares it failed and restarts its container on d1 ...
    const moved = await waitFor('polled started on d1', 30_000, async () => {
      const r = (await api.request<ContainerRecord[]>('GET', '/lifeboat/v1/containers')).find(
        (x) => x.name === 'polled',
      );
      return r?.node === 'd1' && r.phase === 'running' ? r : undefined;
    });
    assert.equal(moved.node, 'd1');
    assert.equal((await nodes())['d2'], 'failed');
    // ... and d2's agent, polled by no manager, stopped its copy by itself
    await waitFor('the unpolled copy fenced', 20_000, async () =>
      (await d2.podman.inspectContainer('polled')).State.Running ? undefined : true,
    );
    writeFileSync(hostsFile, original);
    await waitFor('d2 healthy again', 30_000, async () =>
      (await nodes())['d2'] === 'healthy' ? true : undefined,
    );
    await waitFor('the stale copy on d2 removed', 30_000, async () =>
      (await d2.podman.containerExists('polled')) ? undefined : true,
    );
    await docker('rm', '-f', 'polled');
  });

  test('the cluster network on polled agents: the plan comes with the answer to each pulled heartbeat', async () => {
    const net = ['--network', 'lifeboat'];
    await docker(
      'run',
      '-d',
      '--name',
      'kv',
      ...net,
      '-e',
      'constraint:node==d1',
      'localhost/lifeboat/redis',
    );
    await docker(
      'run',
      '-d',
      '--name',
      'peer',
      ...net,
      '-e',
      'constraint:node==d2',
      'localhost/lifeboat/busybox',
      'sleep',
      '3600',
    );
    const ip = await docker(
      'inspect',
      '--format',
      '{{(index .NetworkSettings.Networks "lifeboat").IPAddress}}',
      'kv',
    );
    const ping = (to: string): Promise<string> => redisPingFrom(docker, 'peer', to, 10_000);
    assert.match(await ping(ip), /\+PONG/, 'd2 routes the address of a container on d1');
    assert.match(await ping('kv'), /\+PONG/, 'and knows its name');
    // moved to the peer's host and back: the way follows it each time
    for (const to of ['d2', 'd1']) {
      const last = await api.request<{ result?: unknown; error?: unknown }>(
        'POST',
        `/lifeboat/v1/containers/kv/migrate`,
        { to, keepConnections: true },
        () => undefined,
      );
      assert.ok(last.result, `moved to ${to}: ${JSON.stringify(last.error)}`);
      assert.match(await ping('kv'), /\+PONG/, `kv on ${to}, by name`);
      assert.match(await ping(ip), /\+PONG/, `kv on ${to}, by address`);
    }
    await docker('rm', '-f', 'kv', 'peer');
  });
});
