import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClusterCa } from './ca.ts';
import type { ClusterCa } from './ca.ts';
import { issueCertificate } from './issue.ts';
import type { IssueOptions } from './issue.ts';
import { authorizePeer, clientTlsOptions, createMutualTlsServer, serverTlsOptions } from './tls.ts';
import type { AuthorizedHandler, ClientTlsOptions, PeerIdentity, TlsBundle } from './tls.ts';

interface Reply {
  status: number;
  body: unknown;
}

function get(
  port: number,
  tls: Partial<ClientTlsOptions>,
  host = '127.0.0.1',
  path = '/whoami',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port, path, agent: false, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('mutual TLS over loopback', () => {
  let root: string;
  let ca: ClusterCa;
  const servers: https.Server[] = [];
  const bundles: Record<string, TlsBundle> = {};
  let handled = 0;

  const whoami: AuthorizedHandler = (_req, res, peer) => {
    handled++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(peer));
  };

  async function bundleFor(from: ClusterCa, opts: IssueOptions): Promise<TlsBundle> {
    const issued = await issueCertificate(from, opts);
    return { caPem: from.certPem, certPem: issued.certPem, keyPem: issued.keyPem };
  }

  async function listen(server: https.Server): Promise<number> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  let managerPort: number;
  let agentPort: number;
  const tlsClientErrors: string[] = [];

  async function nextTlsClientError(): Promise<string> {
    // up to 5 s: the client may see the failed handshake well before the server's event is handled
    for (let i = 0; i < 500 && tlsClientErrors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const message = tlsClientErrors.shift();
    assert.ok(message !== undefined, 'the server reported no handshake failure');
    return message;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lifeboat-pki-tls-'));
    ca = await createClusterCa(join(root, 'ca'));
    const foreignCa = await createClusterCa(join(root, 'foreign-ca'));
    bundles['manager'] = await bundleFor(ca, {
      role: 'manager',
      name: 'manager-1',
      ipAddresses: ['127.0.0.1'],
    });
    bundles['agent'] = await bundleFor(ca, { role: 'agent', name: 'node-1', ipAddresses: ['127.0.0.1'] });
    bundles['client'] = await bundleFor(ca, { role: 'client', name: 'alice' });
    bundles['foreign'] = await bundleFor(foreignCa, { role: 'client', name: 'mallory' });
    // Trusts the cluster CA for the server, so only the foreign client certificate is at fault. Both
    // CAs carry the same default name: the server must tell them apart by key, not by name.
    bundles['foreign'].caPem = ca.certPem;

    // The manager's Docker endpoint: operators, other managers, agents' heartbeats.
    const manager = createMutualTlsServer(
      bundles['manager'],
      { allowedRoles: ['manager', 'agent', 'client'] },
      whoami,
    );
    manager.on('tlsClientError', (err: Error) => tlsClientErrors.push(err.message));
    managerPort = await listen(manager);
    // An agent's node API: root on its host, so managers only.
    agentPort = await listen(createMutualTlsServer(bundles['agent'], { allowedRoles: ['manager'] }, whoami));
  });

  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await rm(root, { recursive: true, force: true });
  });

  function bundle(name: string): TlsBundle {
    const b = bundles[name];
    assert.ok(b !== undefined);
    return b;
  }

  test('a client certificate from the cluster CA is accepted and identified', async () => {
    const reply = await get(managerPort, clientTlsOptions(bundle('client'), { serverRoles: ['manager'] }));
    assert.equal(reply.status, 200);
    const peer = reply.body as PeerIdentity;
    assert.equal(peer.role, 'client');
    assert.equal(peer.name, 'alice');
  });

  test('an agent reaches the manager for heartbeats, a manager reaches the agent', async () => {
    const toManager = await get(managerPort, clientTlsOptions(bundle('agent'), { serverRoles: ['manager'] }));
    assert.deepEqual([toManager.status, (toManager.body as PeerIdentity).role], [200, 'agent']);
    const toAgent = await get(agentPort, clientTlsOptions(bundle('manager'), { serverRoles: ['agent'] }));
    assert.deepEqual([toAgent.status, (toAgent.body as PeerIdentity).name], [200, 'manager-1']);
  });

  test('a client without a certificate is refused at the handshake', async () => {
    const before = handled;
    tlsClientErrors.length = 0;
    const { cert: _c, key: _k, ...anonymous } = clientTlsOptions(bundle('client'));
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      await assert.rejects(
        get(managerPort, { ...anonymous, maxVersion } as Partial<ClientTlsOptions>),
        (err: Error) => {
          assert.match(err.message, /alert certificate required|alert handshake failure/);
          return true;
        },
      );
      assert.match(await nextTlsClientError(), /peer did not return a certificate/);
    }
    assert.equal(handled, before);
  });

  test('a client certificate from another CA is refused at the handshake', async () => {
    const before = handled;
    await assert.rejects(
      get(managerPort, clientTlsOptions(bundle('foreign'))),
      (err: NodeJS.ErrnoException) => {
        // Node verifies the chain once OpenSSL's handshake is done and then drops the connection without an alert.
        assert.equal(err.code, 'ECONNRESET');
        return true;
      },
    );
    assert.equal(handled, before);
  });

  test('an authorized certificate with a disallowed role gets 403 with a JSON message', async () => {
    const before = handled;
    for (const role of ['client', 'agent']) {
      const reply = await get(agentPort, clientTlsOptions(bundle(role)));
      assert.equal(reply.status, 403);
      const body = reply.body as { code: string; message: string; hint: string };
      assert.equal(body.code, 'pki_role_forbidden');
      assert.match(body.message, new RegExp(`has role ${role}; this endpoint accepts manager`));
    }
    assert.equal(handled, before);
  });

  test('clients refuse a server with the wrong role', async () => {
    await assert.rejects(
      get(agentPort, clientTlsOptions(bundle('manager'), { serverRoles: ['manager'] })),
      (err: NodeJS.ErrnoException) => err.code === 'pki_server_role',
    );
  });

  test("a client pinned to a node name refuses another node's certificate", async () => {
    const ok = await get(
      agentPort,
      clientTlsOptions(bundle('manager'), { serverRoles: ['agent'], serverIdentity: 'node-1' }),
    );
    assert.equal(ok.status, 200);
    await assert.rejects(
      get(
        agentPort,
        clientTlsOptions(bundle('manager'), { serverRoles: ['agent'], serverIdentity: 'node-2' }),
      ),
      (err: NodeJS.ErrnoException & { message: string }) =>
        err.code === 'pki_server_identity' && /certificate of node-1; expected node-2/.test(err.message),
    );
  });

  test('server addresses are verified against IP SANs, never skipped', async () => {
    // Issued for a name only: reaching it by IP must fail unless that name is what is verified.
    const named = await bundleFor(ca, { role: 'manager', name: 'manager-2' });
    const port = await listen(createMutualTlsServer(named, { allowedRoles: ['client'] }, whoami));
    await assert.rejects(
      get(port, clientTlsOptions(bundle('client'))),
      (err: NodeJS.ErrnoException) => err.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    const reply = await get(port, clientTlsOptions(bundle('client'), { servername: 'manager-2' }));
    assert.equal(reply.status, 200);
    // An IP servername is checked against IP SANs but never sent as SNI.
    const opts = clientTlsOptions(bundle('client'), { servername: '127.0.0.1' });
    assert.equal(opts.servername, undefined);
    assert.equal((await get(managerPort, opts)).status, 200);
  });

  test('a client certificate cannot serve (extended key usage)', async () => {
    const port = await listen(createMutualTlsServer(bundle('client'), { allowedRoles: ['client'] }, whoami));
    // Even with the name check out of the way, OpenSSL rejects the purpose.
    const opts = clientTlsOptions(bundle('manager'));
    opts.checkServerIdentity = (_host: string, _cert: PeerCertificate) => undefined;
    await assert.rejects(get(port, opts), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'INVALID_PURPOSE');
      return true;
    });
  });

  test('without required client certificates, callers are anonymous and the guard answers 401', async () => {
    const server = https.createServer(
      serverTlsOptions(bundle('manager'), { requireClientCert: false }),
      (req, res) => {
        if (authorizePeer(req, res, ['client']) !== undefined) res.end('{}');
      },
    );
    const port = await listen(server);
    const { cert: _c, key: _k, ...anonymous } = clientTlsOptions(bundle('client'));
    const reply = await get(port, anonymous);
    assert.equal(reply.status, 401);
    assert.equal((reply.body as { code: string }).code, 'pki_peer_unauthenticated');
  });

  test('a failing handler answers 500 instead of hanging', async () => {
    const port = await listen(
      createMutualTlsServer(bundle('manager'), { allowedRoles: ['client'] }, async () => {
        throw new Error('boom');
      }),
    );
    const reply = await get(port, clientTlsOptions(bundle('client')));
    assert.equal(reply.status, 500);
  });
});
