import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { PodmanDockerBackend } from '../../src/api/docker/podman-backend.ts';
import { startDockerApiServer } from '../../src/api/docker/server.ts';
import type { RunningServer } from '../../src/api/http/serve.ts';
import { createLogger } from '../../src/util/log.ts';
import { cleanupTestNetwork, startTestHost, TEST_ROOT, type TestHost } from '../support/podman-host.ts';

// The Docker SDK for Python (Debian's python3-docker) through lifeboat's
// Docker API over a real Podman host: the flows in python_sdk_flow.py.
const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./python_sdk_flow.py', import.meta.url));

let host: TestHost;
let server: RunningServer;

describe('Docker SDK for Python over a real Podman host', () => {
  before(async () => {
    host = await startTestHost('tpy', 24);
    const logger = createLogger('docker-api', () => undefined);
    const backend = new PodmanDockerBackend({
      podman: host.podman,
      cgroupParent: host.service.cgroupParent,
      checkpointDir: `${TEST_ROOT}/tpy-checkpoints`,
      node: { name: host.name, address: host.address },
      logger,
    });
    server = await startDockerApiServer({ backend, logger });
  });

  after(async () => {
    if (host)
      for (const c of await host.podman.listContainers({ all: true }).catch(() => []))
        await host.podman.removeContainerIfExists(c.Id).catch(() => false);
    await server?.close();
    await host?.destroy();
    await cleanupTestNetwork();
  });

  test('run, exec_run, logs, images, list, refusals, stop, remove', async () => {
    // Debian's python3 and its python3-docker (provisioned), not whatever python3 is first on PATH
    const r = await run('/usr/bin/python3', [SCRIPT], {
      env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${server.port}` },
      timeout: 180_000,
    }).catch((err: { stdout?: string; stderr?: string }) => {
      assert.fail(`python3 ${SCRIPT} failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
    assert.match(r.stdout, /all ok/);
  });
});
