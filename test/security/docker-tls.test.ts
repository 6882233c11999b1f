import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { PodmanDockerBackend } from '../../src/api/docker/podman-backend.ts';
import { startDockerApiTlsServer, type RunningTlsServer } from '../../src/api/docker/tls-server.ts';
import { loadTlsBundle, type TlsBundle } from '../../src/pki/index.ts';
import { createLogger } from '../../src/util/log.ts';
import { cleanupTestNetwork, startTestHost, TEST_ROOT, type TestHost } from '../support/podman-host.ts';
import { waitFor } from '../support/wait.ts';

// The Docker endpoint the way dockerd serves --tlsverify: the real docker CLI
// with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH against lifeboat's Docker router
// over mutual TLS, backed by a real Podman host. Certificates come from the
// real `lifeboat cert` command.
// the docker CLI on PATH (provisioning installs Debian's when there is none)
const DOCKER = 'docker';
const REPO = new URL('../..', import.meta.url).pathname;
const CHECKPOINTS = `${TEST_ROOT}/tsec1-checkpoints`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function spawnCollect(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

async function lifeboat(args: string[]): Promise<unknown> {
  const r = await spawnCollect(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--json'], {
    ...process.env,
    LIFEBOAT_LOG_LEVEL: 'warn',
  });
  assert.equal(r.code, 0, `lifeboat ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

let host: TestHost;
let server: RunningTlsServer;
let root: string;
let configDir: string;
const serverLog: string[] = [];
const dirs = {
  ca: '',
  foreignCa: '',
  manager: '',
  alice: '',
  agent: '',
  mallory: '',
  caNew: '',
  alice2: '',
};

/** The docker CLI with a clean environment plus `env`. */
function docker(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: configDir, DOCKER_CLI_HINTS: 'false' };
  for (const k of [
    'DOCKER_HOST',
    'DOCKER_CONTEXT',
    'DOCKER_TLS_VERIFY',
    'DOCKER_CERT_PATH',
    'DOCKER_API_VERSION',
  ])
    delete base[k];
  return spawnCollect(DOCKER, args, { ...base, ...env });
}

function tlsEnv(certDir: string): Record<string, string> {
  return {
    DOCKER_HOST: `tcp://127.0.0.1:${server.port}`,
    DOCKER_TLS_VERIFY: '1',
    DOCKER_CERT_PATH: certDir,
  };
}

/** One HTTPS request with `bundle` as client identity; resolves with status and body. */
async function httpsGet(bundle: TlsBundle, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: 'GET',
        ca: bundle.caPem,
        cert: bundle.certPem,
        key: bundle.keyPem,
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('docker CLI over mutual TLS (--tlsverify) against a real Podman host', () => {
  before(async () => {
    assert.ok(
      spawnSync(DOCKER, ['--version']).status === 0,
      'the docker CLI is expected on PATH (scripts/provision.sh installs it)',
    );
    root = mkdtempSync(join(tmpdir(), 'lifeboat-tsec1-'));
    configDir = join(root, 'docker-config');
    for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) dirs[k] = join(root, k);

    const started = startTestHost('tsec1', 40);
    await lifeboat(['cert', 'init', '--dir', dirs.ca]);
    await lifeboat(['cert', 'init', '--dir', dirs.foreignCa, '--common-name', 'somebody else']);
    await Promise.all([
      lifeboat([
        'cert',
        'issue',
        '--role',
        'manager',
        '--name',
        'm1',
        '--ip',
        '127.0.0.1',
        '--ca',
        dirs.ca,
        '--out',
        dirs.manager,
      ]),
      lifeboat([
        'cert',
        'issue',
        '--role',
        'client',
        '--name',
        'alice',
        '--docker',
        '--ca',
        dirs.ca,
        '--out',
        dirs.alice,
      ]),
    ]);
    await Promise.all([
      lifeboat([
        'cert',
        'issue',
        '--role',
        'agent',
        '--name',
        'node-x',
        '--ca',
        dirs.ca,
        '--out',
        dirs.agent,
      ]),
      lifeboat([
        'cert',
        'issue',
        '--role',
        'client',
        '--name',
        'mallory',
        '--ca',
        dirs.foreignCa,
        '--out',
        dirs.mallory,
      ]),
    ]);
    // Mallory trusts the real cluster CA (she can verify the server) but her own certificate is foreign.
    copyFileSync(join(dirs.ca, 'ca.pem'), join(dirs.mallory, 'ca.pem'));

    host = await started;
    rmSync(CHECKPOINTS, { recursive: true, force: true });
    const logger = createLogger('docker-api', (l) => serverLog.push(l));
    const backend = new PodmanDockerBackend({
      podman: host.podman,
      cgroupParent: host.service.cgroupParent,
      checkpointDir: CHECKPOINTS,
      node: { name: host.name, address: host.address },
      logger,
    });
    server = await startDockerApiTlsServer({ backend, logger, tls: await loadTlsBundle(dirs.manager) });
  });

  after(async () => {
    if (host) {
      for (const c of await host.podman.listContainers({ all: true }).catch(() => []))
        await host.podman.removeContainerIfExists(c.Id).catch(() => false);
    }
    await server?.close();
    await host?.destroy();
    await cleanupTestNetwork();
    if (root) rmSync(root, { recursive: true, force: true });
    rmSync(CHECKPOINTS, { recursive: true, force: true });
  });

  test('DOCKER_TLS_VERIFY + DOCKER_CERT_PATH with a client certificate: version, run, ps, rm', async () => {
    const env = tlsEnv(dirs.alice);
    const v = await docker(['version'], env);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout.slice(v.stdout.indexOf('Server:')), /Server: lifeboat \d+\.\d+\.\d+/);
    assert.match(v.stdout, /Podman Engine/);

    const run = await docker(['run', '-d', '--name', 'tsec-web', 'busybox', 'sleep', '300'], env);
    assert.equal(run.code, 0, run.stderr);
    const ps = await docker(['ps', '--format', '{{.Names}} {{.Status}}'], env);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /^tsec-web Up /m);
    const rm = await docker(['rm', '-f', 'tsec-web'], env);
    assert.equal(rm.code, 0, rm.stderr);
  });

  test('the same with --tlsverify and explicit --tlscacert/--tlscert/--tlskey flags', async () => {
    const r = await docker([
      '--tlsverify',
      '--tlscacert',
      join(dirs.alice, 'ca.pem'),
      '--tlscert',
      join(dirs.alice, 'cert.pem'),
      '--tlskey',
      join(dirs.alice, 'key.pem'),
      '-H',
      `tcp://127.0.0.1:${server.port}`,
      'ps',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /CONTAINER ID\s+IMAGE/);
  });

  test('plain HTTP (no TLS at all) is refused', async () => {
    const r = await docker(['-H', `tcp://127.0.0.1:${server.port}`, 'ps']);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /CONTAINER ID/);
    assert.match(r.stderr, /error during connect/);
    const v = await docker(['-H', `tcp://127.0.0.1:${server.port}`, 'version']);
    assert.notEqual(v.code, 0);
    assert.doesNotMatch(v.stdout, /Server:/);
  });

  test('--tlsverify without a client certificate is refused during the handshake', async () => {
    const r = await docker([
      '--tlsverify',
      '--tlscacert',
      join(dirs.ca, 'ca.pem'),
      '-H',
      `tcp://127.0.0.1:${server.port}`,
      'ps',
    ]);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /CONTAINER ID/);
    assert.match(r.stderr, /tls: certificate required/);
  });

  test('--tlsverify with a client certificate from a foreign CA is refused', async () => {
    const r = await docker([
      '--tlsverify',
      '--tlscacert',
      join(dirs.mallory, 'ca.pem'),
      '--tlscert',
      join(dirs.mallory, 'cert.pem'),
      '--tlskey',
      join(dirs.mallory, 'key.pem'),
      '-H',
      `tcp://127.0.0.1:${server.port}`,
      'ps',
    ]);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /CONTAINER ID/);
    // Go's TLS stack does not even offer a certificate the server's CA list does not name.
    assert.match(r.stderr, /remote error: tls: /);

    // A client that insists on presenting it fails the handshake all the same.
    const before = serverLog.length;
    const bundle = await loadTlsBundle(dirs.mallory);
    await assert.rejects(httpsGet(bundle, '/_ping'), /certificate|socket hang up|ECONNRESET|alert/i);
    // the client may see the rejection before the server's tlsClientError handler has logged it
    const logged = await waitFor('the refused handshake in the server log', 5000, async () =>
      serverLog.slice(before).some((l) => /refused a TLS handshake/.test(l)) ? true : undefined,
    ).catch(() => false);
    assert.ok(logged, `the server logs the refused handshake: ${serverLog.slice(before).join('\n')}`);
  });

  test('a cluster certificate with role agent gets 403 with a message, also for attach upgrades', async () => {
    const agent = await loadTlsBundle(dirs.agent);
    const r = await httpsGet(agent, '/v1.47/containers/json');
    assert.equal(r.status, 403);
    const body = JSON.parse(r.body) as { code: string; message: string };
    assert.equal(body.code, 'pki_role_forbidden');
    assert.match(body.message, /role agent; this endpoint accepts client, manager/);

    const cli = await docker(['ps'], tlsEnv(dirs.agent));
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /role agent/);

    const upgrade = await new Promise<string>((resolve, reject) => {
      const s = tls.connect(
        { host: '127.0.0.1', port: server.port, ca: agent.caPem, cert: agent.certPem, key: agent.keyPem },
        () =>
          s.write(
            'POST /v1.47/containers/x/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
          ),
      );
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('close', () => resolve(out));
      s.on('error', reject);
    });
    assert.match(upgrade, /^HTTP\/1\.1 403 /);
    assert.match(upgrade, /pki_role_forbidden/);
  });

  test('a manager certificate is served (replicas forwarding to the leader)', async () => {
    const r = await httpsGet(await loadTlsBundle(dirs.manager), '/_ping');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'OK');
  });

  // The procedure of docs/security.md, "Rotating the cluster CA", at the Docker endpoint.
  test('CA rotation: trust both, reissue from the new CA, drop the old one; reload without a restart', async () => {
    const oldCaPem = readFileSync(join(dirs.ca, 'ca.pem'), 'utf8');
    await lifeboat(['cert', 'init', '--dir', dirs.caNew]);
    const newCaPem = readFileSync(join(dirs.caNew, 'ca.pem'), 'utf8');
    const ps = (dir: string): Promise<Run> => docker(['ps', '--format', '{{.Names}}'], tlsEnv(dir));

    // 1. servers trust both CAs (their own certificate unchanged)
    const managerOld = await loadTlsBundle(dirs.manager);
    server.reload({ ...managerOld, caPem: oldCaPem + newCaPem });
    // 2. clients are reissued from the new CA, trusting both
    await lifeboat([
      'cert',
      'issue',
      '--role',
      'client',
      '--name',
      'alice',
      '--ca',
      dirs.caNew,
      '--also-trust',
      join(dirs.ca, 'ca.pem'),
      '--out',
      dirs.alice2,
    ]);
    assert.equal((await ps(dirs.alice2)).code, 0, 'a new-CA client is served');
    assert.equal((await ps(dirs.alice)).code, 0, 'an old-CA client still is');
    // 3. servers are reissued from the new CA, trusting both
    await lifeboat([
      'cert',
      'issue',
      '--role',
      'manager',
      '--name',
      'm1',
      '--ip',
      '127.0.0.1',
      '--ca',
      dirs.caNew,
      '--also-trust',
      join(dirs.ca, 'ca.pem'),
      '--out',
      dirs.manager,
      '--force',
    ]);
    server.reload(await loadTlsBundle(dirs.manager));
    assert.equal((await ps(dirs.alice2)).code, 0);
    const stale = await ps(dirs.alice);
    assert.notEqual(
      stale.code,
      0,
      'a client that trusts only the old CA cannot verify the new server certificate',
    );
    assert.match(stale.stderr, /certificate signed by unknown authority/);
    // 4. the old CA is dropped everywhere
    server.reload({ ...(await loadTlsBundle(dirs.manager)), caPem: newCaPem });
    assert.equal((await ps(dirs.alice2)).code, 0);
    const oldCert = await docker(['ps'], { ...tlsEnv(dirs.alice2), DOCKER_CERT_PATH: dirs.alice });
    assert.notEqual(oldCert.code, 0);
    const mixed = await docker([
      '--tlsverify',
      '--tlscacert',
      join(dirs.alice2, 'ca.pem'),
      '--tlscert',
      join(dirs.alice, 'cert.pem'),
      '--tlskey',
      join(dirs.alice, 'key.pem'),
      '-H',
      `tcp://127.0.0.1:${server.port}`,
      'ps',
    ]);
    assert.notEqual(mixed.code, 0, 'a certificate of the retired CA is refused');
    assert.match(mixed.stderr, /error during connect/);
  });
});
