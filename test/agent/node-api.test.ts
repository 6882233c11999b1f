import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdirSync, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { Agent } from '../../src/agent/agent.ts';
import { HttpNodeClient } from '../../src/node-api/http-node-client.ts';
import { peerDialer } from '../../src/node-api/http-peer-client.ts';
import type { PeerRef } from '../../src/node-api/node-client.ts';
import { newGrant } from '../../src/manager/transfer-grant.ts';
import { startNodeApi, type RunningNodeApi } from '../../src/node-api/server.ts';
import { NodeService } from '../../src/agent/node-service.ts';
import { FakeManager, makeTestPki, type TestPki } from '../../src/agent/test-support.ts';
import { generateClusterKey, Keyring } from '../../src/checkpoint/crypto/index.ts';
import { CheckpointStore } from '../../src/checkpoint/store/index.ts';
import { removeTree } from '../../src/devcluster/remove-tree.ts';
import { probeHostCapabilities } from '../../src/engine/capabilities.ts';
import { collectLogs, demux } from '../../src/engine/demux-stream.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { BUSYBOX_IMAGE } from '../../src/images/test-images.ts';
import type { TlsBundle } from '../../src/pki/index.ts';
import { LifeboatError } from '../../src/util/errors.ts';
import { cleanupTestNetwork, startTestHost, TEST_ROOT, type TestHost } from '../support/podman-host.ts';
import { compromiseSource } from '../support/compromised-source.ts';
import { waitFor } from '../support/wait.ts';

// The node API on two real hosts: a manager-side HttpNodeClient drives
// each host's agent over mutual TLS, archives stream agent to agent.
let pki: TestPki;
let a: TestHost;
let b: TestHost;
let na: NodeService;
let nb: NodeService;
let apiA: RunningNodeApi;
let apiB: RunningNodeApi;
let ca: HttpNodeClient;
let cb: HttpNodeClient;
let tlsA: TlsBundle;
let tlsB: TlsBundle;
const peerOf = (api: RunningNodeApi, name: string): PeerRef => ({
  name,
  url: `https://127.0.0.1:${api.port}`,
});
const storeRoot = `${TEST_ROOT}/node-api-store`;
const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function lastCount(c: HttpNodeClient, name: string): Promise<number> {
  const text = await collectLogs(await c.logs(name, {}));
  return Math.max(
    0,
    ...text
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number),
  );
}

interface Raw {
  status: number;
  body: string;
}

/** One request to a node API with whatever certificate (or none) the test hands in. */
function raw(port: number, tls: Partial<TlsBundle> | undefined, method: string, path: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const r = https.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        ca: tls?.caPem ?? pki.agent.caPem,
        ...(tls?.certPem ? { cert: tls.certPem, key: tls.keyPem } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end();
  });
}

describe('node API on real hosts', () => {
  before(async () => {
    pki = await makeTestPki();
    a = await startTestHost('tapa', 6);
    b = await startTestHost('tapb', 7);
    await removeTree(storeRoot);
    mkdirSync(storeRoot, { recursive: true, mode: 0o700 });
    const key = await generateClusterKey(`${storeRoot}/cluster.key`);
    const store = new CheckpointStore({ root: `${storeRoot}/checkpoints`, keyring: new Keyring(key) });
    const caps = await probeHostCapabilities({ selfTest: false });
    // each host's agent has its own certificate (CN = host name): peers are told apart by it
    tlsA = await pki.issue('agent', a.name);
    tlsB = await pki.issue('agent', b.name);
    const mk = (h: TestHost, tls: TlsBundle): NodeService =>
      new NodeService({
        name: h.name,
        address: h.address,
        podman: h.podman,
        hostPaths: {
          runroot: h.service.runroot,
          graphroot: h.service.graphroot,
          cgroupParent: h.service.cgroupParent,
        },
        store,
        spoolDir: `${TEST_ROOT}/${h.name}/spool`,
        capabilities: caps,
        peers: peerDialer(tls),
        inHost: (cmd, args) => ['nsenter', [...h.sandbox.nsenterArgs(), cmd, ...args]],
      });
    na = mk(a, tlsA);
    nb = mk(b, tlsB);
    apiA = await startNodeApi({ service: na, tls: tlsA });
    apiB = await startNodeApi({ service: nb, tls: tlsB });
    ca = new HttpNodeClient({ name: a.name, url: `https://127.0.0.1:${apiA.port}`, tls: pki.manager });
    cb = new HttpNodeClient({ name: b.name, url: `https://127.0.0.1:${apiB.port}`, tls: pki.manager });
  });

  after(async () => {
    ca?.close();
    cb?.close();
    await apiA?.close();
    await apiB?.close();
    await a?.destroy();
    await b?.destroy();
    await removeTree(storeRoot);
    await pki?.remove();
    await cleanupTestNetwork();
  });

  test('migration agent to agent under a grant: B fetches from A, the counter continues on B', async () => {
    await ca.create({ name: 'mig', image: BUSYBOX_IMAGE, command: COUNTER });
    assert.equal(
      (await ca.inspect('mig')).HostConfig.CgroupParent,
      '/lifeboat_tapa',
      "created through the proxy under A's cgroup parent",
    );
    await ca.start('mig');
    await waitFor('the counter is running on A', 15_000, async () =>
      (await lastCount(ca, 'mig')) >= 3 ? true : undefined,
    );
    assert.equal(await cb.imageExists(BUSYBOX_IMAGE), true);
    const grant = newGrant('migration', 'mig', 'tapb');
    await ca.grantTransfer(grant);
    const prepared = await cb.prepareMigration({
      grant: grant.id,
      source: peerOf(apiA, 'tapa'),
      container: 'mig',
      compression: 'gzip',
    });
    assert.equal(prepared.mode, 'prepared');
    assert.equal((await cb.inspect('mig')).State.Status, 'created', 'created on B before the freeze');
    assert.equal((await ca.inspect('mig')).State.Running, true, 'still running on A while B prepares');
    const before = await lastCount(ca, 'mig');
    const phases: string[] = [];
    const out = await cb.completeMigration(grant.id, { onProgress: (p) => phases.push(p.phase) });
    assert.deepEqual(phases, ['dumped', 'received']);
    assert.equal(out.name, 'mig');
    assert.equal(out.mode, 'prepared');
    assert.equal(out.compression, 'gzip');
    assert.ok(
      out.wireBytes > 0 && out.wireBytes < out.bytes,
      `gzip on the wire: ${out.wireBytes} < ${out.bytes}`,
    );
    assert.equal(out.info.cgroupParent, '/lifeboat_tapa', 'archive came from A');
    assert.equal((await cb.inspect('mig')).HostConfig.CgroupParent, '/lifeboat_tapb');
    await waitFor('the counter continued on B', 15_000, async () =>
      (await lastCount(cb, 'mig')) > before ? true : undefined,
    );
    await ca.remove('mig', true);
    await cb.remove('mig', true);
  });

  test('grants: forged, expired, replayed, for another peer, or from a source with another name are refused', async () => {
    await ca.create({ name: 'guard', image: BUSYBOX_IMAGE, command: COUNTER });
    await ca.start('guard');
    const refused = (err: unknown, why: RegExp): boolean => {
      assert.ok(err instanceof LifeboatError, String(err));
      assert.equal(err.code, 'transfer_refused', err.message);
      assert.equal(err.status, 403);
      assert.match(err.message, why);
      return true;
    };
    const prepare = (grant: string, source = peerOf(apiA, 'tapa')) =>
      cb.prepareMigration({ grant, source, container: 'guard', compression: 'none' });
    // forged: an id no manager gave to A
    await assert.rejects(prepare(newGrant('migration', 'guard', 'tapb').id), (e) =>
      refused(e, /no such grant/),
    );
    // expired
    const short = newGrant('migration', 'guard', 'tapb', 50);
    await ca.grantTransfer(short);
    await sleep(120);
    await assert.rejects(prepare(short.id), (e) => refused(e, /no such grant/));
    // for another peer: a third agent's certificate with B's grant
    const other = newGrant('migration', 'guard', 'tapb');
    await ca.grantTransfer(other);
    const tlsC = await pki.issue('agent', 'tapc');
    const c = peerDialer(tlsC)(peerOf(apiA, 'tapa'));
    await assert.rejects(c.prepareCheckpoint(other.id), (e) => refused(e, /for tapb, not for tapc/));
    // a manager certificate is not a peer
    const asManager = await raw(apiA.port, pki.manager, 'POST', `/v1/peer/${other.id}/prepare`);
    assert.equal(asManager.status, 403);
    assert.equal(JSON.parse(asManager.body).code, 'pki_role_forbidden');
    // the source's certificate must name the host the manager said holds the data
    await assert.rejects(prepare(other.id, peerOf(apiA, 'tapx')), /tapx|certificate|identity/i);
    // replayed: prepared once, the same grant cannot prepare again; dumped once, not again
    await prepare(other.id);
    await assert.rejects(
      prepare(other.id),
      (e) => e instanceof LifeboatError && /already prepared|replay/.test(e.message),
    );
    const b = peerDialer(tlsB)(peerOf(apiA, 'tapa'));
    await assert.rejects(b.prepareCheckpoint(other.id), (e) => refused(e, /replay/));
    await cb.discardMigration(other.id);
    assert.equal(await cb.podman.containerExists('guard'), false, 'the prepared container is gone');
    assert.equal((await ca.inspect('guard')).State.Running, true, 'nothing was frozen on A');
    await ca.remove('guard', true);
  });

  test('a compromised source: a hostile archive is refused mid-stream, nothing stays on the target', async () => {
    await ca.create({ name: 'vic', image: BUSYBOX_IMAGE, command: COUNTER });
    await ca.start('vic');
    // what a compromised agent might send: a member that climbs out of the container directory
    const restoreHonest = compromiseSource(na, [
      { name: 'config.dump', body: '{"id":"x","name":"vic"}' },
      { name: '../../etc/evil', body: 'x' },
    ]);
    try {
      const grant = newGrant('migration', 'vic', 'tapb');
      await ca.grantTransfer(grant);
      await cb.prepareMigration({
        grant: grant.id,
        source: peerOf(apiA, 'tapa'),
        container: 'vic',
        compression: 'none',
      });
      await assert.rejects(cb.completeMigration(grant.id), (err: unknown) => {
        assert.ok(err instanceof LifeboatError, String(err));
        assert.equal(err.code, 'archive_rejected');
        assert.equal(err.status, 400);
        assert.match(err.message, /dot-dot/);
        return true;
      });
    } finally {
      restoreHonest();
    }
    assert.equal(await cb.podman.containerExists('vic'), false, 'the prepared container was removed on B');
    assert.deepEqual(readdirSync(`${TEST_ROOT}/tapb/spool`), [], 'no staging left on B');
    // what a manager's rollback does: A restores from the images its dump kept
    await ca.restoreInPlace('vic', { tcpEstablished: true });
    assert.equal((await ca.inspect('vic')).State.Running, true);
    await ca.remove('vic', true);
  });

  test('health: /v1/healthz and /v1/readyz say the agent, Podman and CRIU are there (managers only)', async () => {
    const health = await raw(apiA.port, pki.manager, 'GET', '/v1/healthz');
    assert.equal(health.status, 200);
    const ready = await raw(apiA.port, pki.manager, 'GET', '/v1/readyz');
    assert.equal(ready.status, 200, ready.body);
    const r = JSON.parse(ready.body) as { ready: boolean; podman: string; criu: string };
    assert.equal(r.ready, true);
    assert.match(r.podman, /^podman 4\./);
    assert.equal(
      (await raw(apiA.port, pki.agent, 'GET', '/v1/readyz')).status,
      403,
      'an agent certificate is refused',
    );
  });

  test('container lifecycle, logs and attach through the Podman proxy', async () => {
    await ca.create({
      name: 'px',
      image: BUSYBOX_IMAGE,
      command: ['sh', '-c', 'echo hello; sleep 0.3; exec sleep 30'],
    });
    await ca.start('px');
    assert.equal((await ca.inspect('px')).State.Running, true);
    assert.ok((await ca.podman.listContainers()).some((c) => c.Names.includes('px')));
    await waitFor('hello in the logs', 15_000, async () =>
      /hello/.test(await collectLogs(await ca.logs('px', {}))) ? true : undefined,
    );
    await ca.stop('px', 1);
    assert.equal((await ca.inspect('px')).State.Running, false);
    assert.notEqual(await ca.wait('px'), undefined);
    await ca.remove('px');
    assert.equal(await ca.podman.containerExists('px'), false);
    await assert.rejects(
      ca.inspect('px'),
      (err: unknown) => err instanceof EngineError && err.status === 404,
    );

    await ca.create({ name: 'att', image: BUSYBOX_IMAGE, command: COUNTER });
    await ca.start('att');
    const conn = await ca.podman.attach('att');
    let seen = '';
    for await (const f of demux(conn)) {
      seen += f.data.toString();
      if (/\d+\n\d+\n/.test(seen)) break;
    }
    conn.destroy();
    assert.match(seen, /^\d+\n/m, 'attached output passed through the proxy');
    await ca.remove('att', true);
  });

  test('checkpoint store over the node API: write on A, list, restore on B, delete', async () => {
    await ca.create({ name: 'tick', image: BUSYBOX_IMAGE, command: COUNTER });
    await ca.start('tick');
    await sleep(500);
    const { manifest } = await ca.checkpointToStore(
      'tick',
      'tick',
      { group: 0, version: 0 },
      { leaveRunning: true },
    );
    assert.equal(manifest.node, 'tapa');
    const groups = await cb.listCheckpoints('tick');
    assert.equal(groups[0]?.versions.length, 1);
    await ca.remove('tick', true);
    const out = await cb.restoreFromStore('tick', { group: 0, version: 0 });
    assert.equal(out.name, 'tick');
    assert.equal((await cb.inspect('tick')).State.Running, true);
    await cb.remove('tick', true);
    await cb.deleteCheckpoints('tick');
    assert.deepEqual(await cb.listCheckpoints('tick'), []);
  });

  test('only managers of this cluster get in', async () => {
    await assert.rejects(raw(apiA.port, undefined, 'GET', '/v1/report'), 'no certificate: handshake refused');
    await assert.rejects(raw(apiA.port, pki.foreign, 'GET', '/v1/report'), 'foreign CA: handshake refused');
    const client = await raw(apiA.port, pki.client, 'GET', '/v1/report');
    assert.equal(client.status, 403);
    assert.equal(JSON.parse(client.body).code, 'pki_role_forbidden');
    const manager = await raw(apiA.port, pki.manager, 'GET', '/v1/report');
    assert.equal(manager.status, 200);
    assert.equal(JSON.parse(manager.body).name, 'tapa');
    // the manager refuses a node API whose certificate is not an agent's
    const fake = new FakeManager(pki.manager);
    const port = await fake.listen();
    const wrong = new HttpNodeClient({ name: 'x', url: `https://127.0.0.1:${port}`, tls: pki.manager });
    await assert.rejects(wrong.report(), /expected agent/);
    wrong.close();
    await fake.close();
  });

  test('restore through the proxy is refused; hostile archives and bad names are 400s', async () => {
    const r = await raw(
      apiA.port,
      pki.manager,
      'POST',
      '/podman/v4.0.0/libpod/containers/import/restore?import=true',
    );
    assert.equal(r.status, 403);
    assert.match(JSON.parse(r.body).message, /\/v1\/restore/);
    assert.equal(
      (await raw(apiA.port, pki.manager, 'POST', '/podman/v4.0.0/libpod/system/prune')).status,
      403,
    );

    const pack = tar.pack();
    pack.entry({ name: '../../etc/evil' }, 'x');
    pack.entry({ name: 'config.dump' }, '{}');
    pack.finalize();
    await assert.rejects(cb.restoreFromStream(Readable.from(pack)), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.code, 'archive_rejected');
      assert.equal(err.status, 400);
      return true;
    });
    const bad = await raw(apiA.port, pki.manager, 'POST', '/v1/containers/a..b/checkpoint');
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).code, 'invalid_input');
    await assert.rejects(ca.checkpointStream('no-such', {}), (err: unknown) => {
      assert.ok(err instanceof EngineError, String(err));
      assert.equal(err.status, 404);
      return true;
    });
  });

  test('heartbeats: cut off, the agent fences; back with `elsewhere`, it removes its copy', async (t) => {
    const manager = new FakeManager(pki.manager);
    manager.answer = { failureTimeoutMs: 2000, elsewhere: [] };
    const agent = await Agent.start({
      service: na,
      tls: pki.agent,
      listen: { host: '127.0.0.1', port: 0 },
      managers: [{ host: '127.0.0.1', port: await manager.listen() }],
      heartbeatIntervalMs: 200,
    });
    t.after(async () => {
      await agent.stop();
      await manager.close();
      await a.podman.removeContainerIfExists('guarded');
      await a.podman.removeContainerIfExists('plain');
    });
    await ca.create({
      name: 'guarded',
      image: BUSYBOX_IMAGE,
      command: COUNTER,
      labels: { 'lifeboat.reschedule': 'checkpoint' },
    });
    await ca.create({ name: 'plain', image: BUSYBOX_IMAGE, command: COUNTER });
    await ca.start('guarded');
    await ca.start('plain');
    const hb = await manager.next(
      (h) => h.report.containers.some((c) => c.Names.includes('guarded')),
      20_000,
    );
    assert.equal(hb.apiUrl, agent.url);
    assert.equal(hb.state, 'connected');

    manager.mode = 'hang';
    const cut = Date.now();
    // the fence decision is the agent's own: timed in-process, not through Podman's answers
    while (agent.heartbeat.state !== 'fenced' && Date.now() - cut < 5000) await sleep(20);
    const fencedAfter = Date.now() - cut;
    assert.ok(
      fencedAfter < 2000,
      `fenced ${fencedAfter} ms after contact was lost (manager timeout 2000 ms)`,
    );
    await waitFor('guarded stopped', 15_000, async () =>
      (await a.podman.inspectContainer('guarded')).State.Running ? undefined : true,
    );
    assert.equal(
      (await a.podman.inspectContainer('plain')).State.Running,
      true,
      'no restore policy: untouched',
    );

    manager.answer = { failureTimeoutMs: 2000, elsewhere: ['guarded'] };
    manager.mode = 'accept';
    const healthy = await manager.next((h) => h.state === 'connected', 20_000);
    assert.equal(await a.podman.containerExists('guarded'), false, 'the copy restored elsewhere is gone');
    assert.ok(!healthy.report.containers.some((c) => c.Names.includes('guarded')));
  });
});
