import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startDockerApiHost, type DockerApiHost } from '../support/docker-api-host.ts';

// The Docker SDK for Python (Debian's python3-docker) through lifeboat's
// Docker API over a real Podman host: the flows in python_sdk_flow.py.
const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./python_sdk_flow.py', import.meta.url));

let api: DockerApiHost | undefined;

describe('Docker SDK for Python over a real Podman host', () => {
  before(async () => {
    api = await startDockerApiHost('tpy', 24);
  });

  after(async () => {
    await api?.close();
  });

  test('run, exec_run, logs, images, list, refusals, stop, remove', async () => {
    // Debian's python3 and its python3-docker (provisioned), not whatever python3 is first on PATH
    const r = await run('/usr/bin/python3', [SCRIPT], {
      env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${api!.server.port}` },
      timeout: 180_000,
    }).catch((err: { stdout?: string; stderr?: string }) => {
      assert.fail(`python3 ${SCRIPT} failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
    assert.match(r.stdout, /all ok/);
  });
});
