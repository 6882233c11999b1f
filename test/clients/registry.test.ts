import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { clusterDown } from '../../src/devcluster/cluster-up.ts';
import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import { freshCluster, keepLogsOnFailure } from '../support/e2e-cluster.ts';
import { waitFor } from '../support/wait.ts';

// docker login, push and pull through lifeboat's cluster endpoint against a
// real registry (Debian's docker-registry, distribution 2.8) with TLS and
// basic auth, started here on the cluster's gateway address: a pull lands
// on every host; a wrong password and an unreachable registry each say what
// went wrong and what to do.
const run = promisify(execFile);
const ROOT = '/var/tmp/lifeboat-reg';
const CLUSTER = { bridge: 'lbreg0', subnet: '10.87.0.0/24', namePrefix: 'r' };
const DOCKER_PORT = 23735;
const REG_PORT = 5443;
const USER = 'lifeboat';
const PASSWORD = 'not-a-secret-42';

let registry: ChildProcess | undefined;
let regAddr: string;
let certsDir: string | undefined;
const regDir = `${ROOT}-registry`;
const dockerConfig = mkdtempSync(join(tmpdir(), 'lb-docker-config-'));

async function docker(args: string[], opts: { config?: string; input?: string } = {}): Promise<string> {
  const child = run('docker', ['--config', opts.config ?? dockerConfig, ...args], {
    env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${DOCKER_PORT}` },
  });
  if (opts.input !== undefined) {
    child.child.stdin!.end(opts.input);
  }
  const r = await child;
  return (r.stdout + r.stderr).trim();
}

async function dockerFails(args: string[], opts: { config?: string; input?: string } = {}): Promise<string> {
  try {
    await docker(args, opts);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  throw new Error(`docker ${args.join(' ')} succeeded`);
}

/** Status of GET /v2/ with the test CA: the registry answers 401 without credentials. */
function registryStatus(ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(`https://${regAddr}/v2/`, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

describe('registry: docker login, push and pull through the cluster endpoint', () => {
  const keepLogs = keepLogsOnFailure(ROOT, 'registry');
  before(async () => {
    await freshCluster({
      nodes: 2,
      root: ROOT,
      cluster: CLUSTER,
      managerPort: 7510,
      dockerPort: DOCKER_PORT,
    });
    const gateway = CLUSTER.subnet.replace(/\.0\/24$/, '.1');
    regAddr = `${gateway}:${REG_PORT}`;
    rmSync(regDir, { recursive: true, force: true });
    mkdirSync(join(regDir, 'data'), { recursive: true });
    const at = (f: string): string => join(regDir, f);
    // a CA of its own and a server certificate for the gateway's address
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
      '-subj',
      '/CN=lifeboat test registry CA',
      '-days',
      '2',
    ]);
    await run('openssl', [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      at('registry.key'),
      '-out',
      at('registry.csr'),
      '-subj',
      '/CN=registry',
    ]);
    writeFileSync(at('san.ext'), `subjectAltName=IP:${gateway}\n`);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      at('registry.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-out',
      at('registry.crt'),
      '-days',
      '2',
      '-extfile',
      at('san.ext'),
    ]);
    const { stdout: htpasswd } = await run('htpasswd', ['-Bbn', USER, PASSWORD]);
    writeFileSync(at('htpasswd'), htpasswd);
    writeFileSync(
      at('config.yml'),
      [
        'version: 0.1',
        'log:',
        '  level: warn',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${at('data')}`,
        'http:',
        `  addr: ${regAddr}`,
        '  tls:',
        `    certificate: ${at('registry.crt')}`,
        `    key: ${at('registry.key')}`,
        'auth:',
        '  htpasswd:',
        '    realm: lifeboat-test',
        `    path: ${at('htpasswd')}`,
        '',
      ].join('\n'),
    );
    const regLog = openSync(at('registry.log'), 'a');
    registry = spawn('docker-registry', ['serve', at('config.yml')], { stdio: ['ignore', regLog, regLog] });
    closeSync(regLog);
    const ca = readFileSync(at('ca.crt'), 'utf8');
    await waitFor('the registry answers', 20_000, async () =>
      (await registryStatus(ca)) === 401 ? true : undefined,
    );
    // every host trusts it as an operator would set it up (containers' certs.d); only this address's directory
    certsDir = `/etc/containers/certs.d/${regAddr}`;
    mkdirSync(certsDir, { recursive: true });
    writeFileSync(join(certsDir, 'ca.crt'), ca);
  });

  after(async () => {
    registry?.kill('SIGTERM');
    if (certsDir) rmSync(certsDir, { recursive: true, force: true });
    keepLogs();
    await clusterDown(ROOT);
    rmSync(regDir, { recursive: true, force: true });
    rmSync(dockerConfig, { recursive: true, force: true });
  });

  test('a wrong password is refused by name; the right one logs in', async () => {
    const wrong = await dockerFails(['login', regAddr, '-u', USER, '--password-stdin'], { input: 'wrong\n' });
    assert.match(wrong, /login to .* failed: .*(unauthorized|authentication)/i);
    assert.match(
      await docker(['login', regAddr, '-u', USER, '--password-stdin'], { input: `${PASSWORD}\n` }),
      /Login Succeeded/,
    );
  });

  test('push from the host that has the image; pull puts it on every host with progress per host', async () => {
    const ref = `${regAddr}/team/busybox:1`;
    await docker(['tag', 'localhost/lifeboat/busybox:latest', ref]);
    const pushed = await docker(['push', ref]);
    assert.match(pushed, /Pushing from r\d/);
    assert.match(pushed, /digest: sha256:[0-9a-f]{64}/);
    // gone from every host, then pulled back onto each
    await docker(['rmi', ref]);
    await dockerFails(['image', 'inspect', ref]);
    const pulled = await docker(['pull', ref]);
    assert.match(pulled, /r1: Pulled|r1: Pulling/);
    assert.match(
      pulled,
      new RegExp(`${ref.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is on 2 host\\(s\\): r1, r2`),
    );
    const cluster = new LocalCluster({ root: ROOT });
    for (const h of ['r1', 'r2']) assert.ok(await cluster.host(h).podman.imageExists(ref), `${h} has ${ref}`);
    // and a container runs from it
    assert.equal(await docker(['run', '--rm', ref, 'echo', 'from the registry']), 'from the registry');
    process.stderr.write(
      `# pull output:\n${pulled
        .split('\n')
        .map((l) => `#   ${l}`)
        .join('\n')}\n`,
    );
  });

  test('docker search finds the pushed repository in the registry', async () => {
    const out = await docker(['search', '--format', '{{.Name}}', `${regAddr}/team`]);
    assert.match(out, new RegExp(`${regAddr.replace(/[.]/g, '\\.')}/team/busybox`));
  });

  test('without credentials the pull fails with the reason and the hint to log in', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lb-docker-config-'));
    try {
      const out = await dockerFails(['pull', `${regAddr}/team/busybox:1`], { config: empty });
      assert.match(out, /failed on every host: .*(unauthorized|authentication required)/i);
      assert.match(out, /docker login/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('an unreachable registry: the reason and what to check', async () => {
    const out = await dockerFails(['pull', `${regAddr.replace(`:${REG_PORT}`, ':1')}/team/busybox:1`]);
    assert.match(out, /failed on every host: .*connection refused/i);
    assert.match(out, /not reachable from the hosts/);
  });

  test('docker import is refused by name', async () => {
    const res = await fetch(`http://127.0.0.1:${DOCKER_PORT}/v1.47/images/create?fromSrc=-&repo=x`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-tar' },
      body: Buffer.alloc(1024),
    });
    assert.equal(res.status, 501);
    assert.match(
      ((await res.json()) as { message: string }).message,
      /importing a root file system \(docker import\) is not supported/,
    );
  });
});
