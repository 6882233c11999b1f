import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { clusterDown, type ClusterUpResult } from '../../src/devcluster/cluster-up.ts';
import type { ManagerClient } from '../../src/cli/manager-client.ts';
import type { MigrationResult } from '../../src/manager/migrate.ts';
import { freshCluster, keepLogsOnFailure } from '../support/e2e-cluster.ts';
import { RedisClient } from '../support/redis-client.ts';

// testcontainers (npm 11) against a 2-host cluster whose Docker endpoint is
// a unix socket and whose manager forwards published ports from 127.0.0.1:
// GenericContainer with its default wait strategy (the port from outside,
// and from inside through exec) reaches redis at the host and port it is
// given, and still does after the container moved to the other host.
const run = promisify(execFile);
const ROOT = '/var/tmp/lifeboat-tc';
const SOCKET = `${ROOT}/docker.sock`;
let up: ClusterUpResult;
let api: ManagerClient;

describe('testcontainers against a lifeboat cluster', () => {
  const keepLogs = keepLogsOnFailure(ROOT, 'testcontainers');
  before(async () => {
    ({ up, api } = await freshCluster({
      nodes: 2,
      root: ROOT,
      cluster: { bridge: 'lbtc0', subnet: '10.90.0.0/24', namePrefix: 't' },
      managerPort: 7420,
      dockerSocket: SOCKET,
      forwardPorts: true,
      failureTimeoutMs: 5000,
    }));
    process.env['DOCKER_HOST'] = `unix://${SOCKET}`;
    // no reaper: it is an image from Docker Hub, and lifeboat does not pull
    process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
    // this machine may itself be a container (/.dockerenv), where testcontainers would ask a
    // Docker network for a gateway; the forwarded ports are on 127.0.0.1 either way
    process.env['TESTCONTAINERS_HOST_OVERRIDE'] = '127.0.0.1';
  });

  after(async () => {
    keepLogs();
    await clusterDown(ROOT);
  });

  test('the Docker endpoint is a unix socket only root (and the lifeboat group) can use', async () => {
    assert.equal(up.dockerHost, `unix://${SOCKET}`);
    const st = statSync(SOCKET);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    const { stdout } = await run('docker', ['version', '--format', '{{.Server.Version}}'], {
      env: { ...process.env, DOCKER_HOST: `unix://${SOCKET}` },
    });
    assert.match(stdout, /^\d+\.\d+\.\d+/);
  });

  test('GenericContainer: default wait strategy, redis at its host and port, exec, logs; the port follows a move', async () => {
    const { GenericContainer } = await import('testcontainers');
    // testcontainers unrefs its log stream's socket; without a handle of the test's own, node:test
    // may find the event loop empty while a request is still on its way and end the test
    const keepAlive = setInterval(() => undefined, 1000);
    const c = await new GenericContainer('localhost/lifeboat/redis:latest').withExposedPorts(6379).start();
    try {
      assert.equal(c.getHost(), '127.0.0.1');
      const port = c.getMappedPort(6379);
      const r = await RedisClient.waitReady(c.getHost(), port);
      assert.equal(await r.command(['SET', 'moved', 'yes']), 'OK');
      r.close();
      const exec = await c.exec(['redis-cli', 'GET', 'moved']);
      assert.equal(exec.exitCode, 0);
      assert.equal(exec.output.trim(), 'yes');
      const logs = await c.logs();
      const text = await new Promise<string>((resolve) => {
        let out = '';
        logs.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ready to accept connections')) resolve(out);
        });
        logs.on('end', () => resolve(out));
        logs.on('close', () => resolve(out));
      });
      logs.destroy();
      assert.match(text, /Ready to accept connections/);

      const name = c.getName().replace(/^\//, '');
      const last = await api.request<{ result?: MigrationResult; error?: { message: string } }>(
        'POST',
        `/lifeboat/v1/containers/${name}/migrate`,
        { env: [], labels: {}, via: 'stream' },
        () => undefined,
      );
      assert.ok(last.result, `migrated: ${JSON.stringify(last)}`);
      // the same host and port the client was given reach the container on its new host, from
      // the first connection after the move returned (not once the next reports came)
      const again = await RedisClient.connect(c.getHost(), port);
      assert.equal(await again.command(['GET', 'moved']), 'yes');
      again.close();
    } finally {
      await c.stop();
      clearInterval(keepAlive);
    }
  });
});
