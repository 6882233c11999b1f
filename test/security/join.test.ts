import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Manager } from '../../src/manager/manager.ts';
import {
  createClusterCa,
  issueToDirectory,
  loadClusterCa,
  loadTlsBundle,
  type TlsBundle,
} from '../../src/pki/index.ts';
import { openStore, type ClusterStore } from '../../src/store/index.ts';
import { generateClusterKey, loadKeyring } from '../../src/checkpoint/crypto/index.ts';
import { joinCluster } from '../../src/join/client.ts';
import { HollowHost } from '../../src/bench/hollow/hollow-host.ts';

/** One HTTPS request to the manager API; `tls` undefined sends no certificate. */
function call(
  url: string,
  method: string,
  path: string,
  tls: TlsBundle | undefined,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      new URL(path, url),
      {
        method,
        rejectUnauthorized: false,
        ...(tls ? { cert: tls.certPem, key: tls.keyPem } : {}),
        headers: data ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function waitFor<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('joining with a token: a key made on the host, a certificate signed by a manager, revocation', () => {
  let root: string;
  let store: ClusterStore;
  let manager: Manager;
  let admin: TlsBundle;
  let url: string;
  let dockerTlsPort: number;
  const hosts: HollowHost[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'lifeboat-join-'));
    const ca = join(root, 'ca');
    await createClusterCa(ca);
    await issueToDirectory(ca, 'manager', 'm1', join(root, 'm1'), { ipAddresses: ['127.0.0.1'] });
    await issueToDirectory(ca, 'client', 'admin', join(root, 'admin'));
    await generateClusterKey(join(root, 'cluster.key'));
    store = await openStore('memory:');
    dockerTlsPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const tls = await loadTlsBundle(join(root, 'm1'));
    manager = await Manager.start({
      name: 'm1',
      store,
      listen: { host: '127.0.0.1', port: 0 },
      tls,
      dockerTls: { host: '127.0.0.1', port: dockerTlsPort, tls },
      ca: await loadClusterCa(ca),
      clusterKey: await loadKeyring(join(root, 'cluster.key')),
      docker: { host: '127.0.0.1', port: 0 },
      failureTimeoutMs: 2000,
      dockerCheckpointDir: join(root, 'docker-checkpoints'),
    });
    admin = await loadTlsBundle(join(root, 'admin'));
    url = manager.apiUrl;
  });

  after(async () => {
    for (const h of hosts) await h.kill().catch(() => undefined);
    await manager?.stop();
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const rotate = async (role: string, ttl = '1h'): Promise<string> => {
    const r = await call(url, 'POST', `/lifeboat/v1/join-tokens/${role}?ttl=${ttl}`, admin);
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { token: string }).token;
  };

  test('without a certificate, only the join endpoints answer', async () => {
    for (const path of ['/lifeboat/v1/nodes', '/lifeboat/v1/heartbeat', '/lifeboat/v1/join-tokens', '/ui/']) {
      const r = await call(url, 'GET', path, undefined);
      assert.equal(r.status, 401, `${path}: ${r.body}`);
    }
    const ca = await call(url, 'GET', '/lifeboat/v1/join/ca', undefined);
    assert.equal(ca.status, 200);
    assert.equal(ca.body, readFileSync(join(root, 'ca', 'ca.pem'), 'utf8'));
  });

  test('an agent joins: its key stays in its directory (0600), the certificate carries the role and its names', async () => {
    const token = await rotate('agent');
    const r = await joinCluster({
      manager: url,
      token,
      name: 'h1',
      ipAddresses: ['127.0.0.1'],
      pkiDir: join(root, 'h1'),
      clusterKeyPath: join(root, 'h1', 'cluster.key'),
    });
    assert.equal(r.role, 'agent');
    assert.equal(statSync(join(root, 'h1', 'key.pem')).mode & 0o777, 0o600);
    const cert = new X509Certificate(readFileSync(join(root, 'h1', 'cert.pem')));
    assert.match(cert.subject, /OU=lifeboat-agent/);
    assert.match(cert.subject, /CN=h1/);
    assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(
      readFileSync(join(root, 'h1', 'cluster.key'), 'utf8'),
      readFileSync(join(root, 'cluster.key'), 'utf8'),
      'the archive key the cluster uses',
    );
    // the key in the directory is the certificate's own: nothing but the public half left the host
    const bundle = await loadTlsBundle(join(root, 'h1'));
    assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(bundle.keyPem)));
    // a second join into the same directory is refused without --force
    await assert.rejects(
      joinCluster({ manager: url, token, name: 'h1', pkiDir: join(root, 'h1') }),
      /already holds an identity/,
    );
  });

  test('a rotated token, a token of another cluster and a malformed one are refused', async () => {
    const old = await rotate('agent');
    await rotate('agent');
    await assert.rejects(
      joinCluster({ manager: url, token: old, name: 'h2', pkiDir: join(root, 'h2') }),
      /not valid in this cluster \(unknown or rotated\)/,
    );
    const other = `LBTKN-1-${'a'.repeat(64)}-${old.slice(-32)}`;
    await assert.rejects(
      joinCluster({ manager: url, token: other, name: 'h2', pkiDir: join(root, 'h2') }),
      /presented a CA with digest/,
    );
    await assert.rejects(
      joinCluster({ manager: url, token: 'SWMTKN-1-abc', name: 'h2', pkiDir: join(root, 'h2') }),
      /not a lifeboat join token/,
    );
    const list = await call(url, 'GET', '/lifeboat/v1/join-tokens', admin);
    const tokens = JSON.parse(list.body) as { role: string; id: string }[];
    assert.deepEqual(
      tokens.map((t) => t.role),
      ['agent'],
    );
    assert.ok(!list.body.includes(old.slice(-32)), 'the list never shows a secret');
  });

  test('a manager token gives a manager certificate and the CA, so that manager can let hosts join', async () => {
    const token = await rotate('manager');
    const r = await joinCluster({
      manager: url,
      token,
      name: 'm2',
      ipAddresses: ['127.0.0.1'],
      pkiDir: join(root, 'm2'),
      caDir: join(root, 'm2-ca'),
    });
    assert.equal(r.role, 'manager');
    assert.match(
      new X509Certificate(readFileSync(join(root, 'm2', 'cert.pem'))).subject,
      /OU=lifeboat-manager/,
    );
    await loadClusterCa(join(root, 'm2-ca'));
    assert.equal(statSync(join(root, 'm2-ca', 'ca-key.pem')).mode & 0o777, 0o600);
  });

  test('node rm: refused while the host is up; with --force its next request is refused and it fails', async () => {
    const token = await rotate('agent');
    await joinCluster({
      manager: url,
      token,
      name: 'h3',
      ipAddresses: ['127.0.0.1'],
      pkiDir: join(root, 'h3'),
    });
    const tls = await loadTlsBundle(join(root, 'h3'));
    const port = Number(new URL(url).port);
    hosts.push(
      await HollowHost.start({
        name: 'h3',
        tls,
        managers: [{ host: '127.0.0.1', port }],
        containers: 0,
        failureTimeoutMs: 2000,
      }),
    );
    await waitFor('h3 healthy', 10_000, async () => {
      const r = await call(url, 'GET', '/lifeboat/v1/nodes', admin);
      return (JSON.parse(r.body) as { name: string; status: string }[]).some(
        (n) => n.name === 'h3' && n.status === 'healthy',
      )
        ? true
        : undefined;
    });
    // a second host cannot join under the name of a live one
    await assert.rejects(
      joinCluster({ manager: url, token, name: 'h3', pkiDir: join(root, 'h3-again') }),
      /host h3 is up/,
    );
    const refused = await call(url, 'DELETE', '/lifeboat/v1/nodes/h3', admin);
    assert.equal(refused.status, 409, refused.body);
    const rm = await call(url, 'DELETE', '/lifeboat/v1/nodes/h3?force=1', admin);
    assert.equal(rm.status, 200, rm.body);
    const removed = JSON.parse(rm.body) as { revoked: { serial: string }[]; recordRemoved: boolean };
    assert.equal(removed.revoked.length, 1);
    assert.equal(removed.recordRemoved, false, 'the record stays until the host counts as failed');
    // at once: the very next request with its certificate
    const next = await call(url, 'POST', '/lifeboat/v1/heartbeat', tls, {});
    assert.equal(next.status, 403);
    assert.match(next.body, /the certificate of agent h3 \(serial [0-9A-F]+\) was revoked/);
    await waitFor('h3 failed', 10_000, async () => {
      const r = await call(url, 'GET', '/lifeboat/v1/nodes', admin);
      return (JSON.parse(r.body) as { name: string; status: string }[]).some(
        (n) => n.name === 'h3' && n.status === 'failed',
      )
        ? true
        : undefined;
    });
    const again = await call(url, 'DELETE', '/lifeboat/v1/nodes/h3', admin);
    assert.equal(again.status, 200, again.body);
    assert.equal((JSON.parse(again.body) as { recordRemoved: boolean }).recordRemoved, true);
    // and it comes back by joining again, under a new certificate
    await joinCluster({
      manager: url,
      token,
      name: 'h3',
      ipAddresses: ['127.0.0.1'],
      pkiDir: join(root, 'h3'),
      force: true,
    });
    const back = await call(url, 'POST', '/lifeboat/v1/heartbeat', await loadTlsBundle(join(root, 'h3')), {});
    assert.equal(back.status, 400, 'a new certificate passes; the empty heartbeat is what is refused');
  });

  test("a revoked client certificate is refused on the next request, by the lifeboat API and the Docker endpoint's TLS", async () => {
    await issueToDirectory(join(root, 'ca'), 'client', 'bob', join(root, 'bob'));
    const bob = await loadTlsBundle(join(root, 'bob'));
    const docker = `https://127.0.0.1:${dockerTlsPort}`;
    assert.equal((await call(docker, 'GET', '/_ping', bob)).status, 200);
    assert.equal((await call(url, 'GET', '/lifeboat/v1/nodes', bob)).status, 200);
    const serial = new X509Certificate(bob.certPem).serialNumber;
    const r = await call(url, 'POST', '/lifeboat/v1/certificates/revoke', admin, {
      serial,
      name: 'bob',
      role: 'client',
    });
    assert.equal(r.status, 200, r.body);
    const ping = await call(docker, 'GET', '/_ping', bob);
    assert.equal(ping.status, 403);
    assert.match(ping.body, /the certificate of client bob \(serial [0-9A-F]+\) was revoked .* by admin/);
    assert.equal((await call(url, 'GET', '/lifeboat/v1/nodes', bob)).status, 403);
    assert.equal((await call(docker, 'GET', '/_ping', admin)).status, 200, 'others are not touched');
    const list = JSON.parse((await call(url, 'GET', '/lifeboat/v1/certificates', admin)).body) as {
      known: { name: string; via: string }[];
      revoked: { name: string }[];
    };
    assert.ok(list.revoked.some((x) => x.name === 'bob'));
    assert.ok(list.known.some((x) => x.name === 'h1' && x.via === 'join'));
    assert.ok(list.known.some((x) => x.name === 'h3' && x.via === 'join'));
  });

  test('an agent whose certificate does not name the address it reports is refused', async () => {
    const token = await rotate('agent');
    await joinCluster({
      manager: url,
      token,
      name: 'h4',
      ipAddresses: ['10.1.2.3'],
      pkiDir: join(root, 'h4'),
    });
    const tls = await loadTlsBundle(join(root, 'h4'));
    // a hollow host serves on 127.0.0.1, which its certificate does not name
    const host = await HollowHost.start({
      name: 'h4',
      tls,
      managers: [{ host: '127.0.0.1', port: Number(new URL(url).port) }],
      containers: 0,
      failureTimeoutMs: 2000,
    });
    hosts.push(host);
    await new Promise((r) => setTimeout(r, 1500));
    const nodes = JSON.parse((await call(url, 'GET', '/lifeboat/v1/nodes', admin)).body) as {
      name: string;
    }[];
    assert.ok(!nodes.some((n) => n.name === 'h4'), 'never registered');
    assert.equal(host.heartbeat.lastAccepted, undefined, 'no heartbeat accepted');
  });
});
