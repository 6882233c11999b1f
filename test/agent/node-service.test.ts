import { machine, release } from 'node:os';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { FrozenWatch } from '../../src/agent/frozen-watch.ts';
import { NodeService } from '../../src/agent/node-service.ts';
import { HostileArchiveError } from '../../src/checkpoint/archive/index.ts';
import { generateClusterKey, Keyring, loadClusterKey } from '../../src/checkpoint/crypto/index.ts';
import { CheckpointStore } from '../../src/checkpoint/store/index.ts';
import { probeHostCapabilities } from '../../src/engine/capabilities.ts';
import { collectLogs } from '../../src/engine/demux-stream.ts';
import { BUSYBOX_IMAGE } from '../../src/images/test-images.ts';
import { removeTree } from '../../src/devcluster/remove-tree.ts';
import { createLogger } from '../../src/util/log.ts';
import { waitFor } from '../support/wait.ts';
import { cleanupTestNetwork, startTestHost, TEST_ROOT, type TestHost } from '../support/podman-host.ts';

// Agents' operations on real hosts: archives cross between hosts with
// different cgroup parents and run paths, through validation and rewrite.
let a: TestHost;
let b: TestHost;
let na: NodeService;
let nb: NodeService;
const storeRoot = `${TEST_ROOT}/agent-store`;
const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function lastCount(n: NodeService, name: string): Promise<number> {
  const text = await collectLogs(await n.podman.logs(name));
  return Math.max(
    0,
    ...text
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number),
  );
}

describe('agent node service on real hosts', () => {
  before(async () => {
    a = await startTestHost('tna', 4);
    b = await startTestHost('tnb', 5);
    await removeTree(storeRoot);
    mkdirSync(storeRoot, { recursive: true, mode: 0o700 });
    const key = await generateClusterKey(`${storeRoot}/cluster.key`);
    const store = new CheckpointStore({ root: `${storeRoot}/checkpoints`, keyring: new Keyring(key) });
    const caps = await probeHostCapabilities({ selfTest: false });
    const mk = (h: TestHost): NodeService =>
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
      });
    na = mk(a);
    nb = mk(b);
  });

  after(async () => {
    await a?.destroy();
    await b?.destroy();
    await removeTree(storeRoot);
    await cleanupTestNetwork();
  });

  test("the report carries classic Swarm's standard labels, Podman's storage driver among them", async () => {
    const labels = (await na.report()).labels;
    assert.equal(labels['architecture'], machine());
    assert.equal(labels['kernelversion'], release());
    assert.equal(labels['ostype'], 'linux');
    assert.equal(labels['storagedriver'], 'overlay');
    assert.ok(labels['operatingsystem'], 'operatingsystem from /etc/os-release');
  });

  test('stream migration: the archive is rewritten for the target host and the process continues', async () => {
    await na.create({ name: 'mig', image: BUSYBOX_IMAGE, command: COUNTER });
    await a.podman.startContainer('mig');
    await sleep(1000);
    const stream = await na.checkpointStream('mig', {});
    const before = await lastCount(na, 'mig');
    const out = await nb.restoreFromStream(stream);
    assert.equal(out.name, 'mig');
    assert.equal(out.info.cgroupParent, '/lifeboat_tna', 'archive came from A');
    const inspect = await b.podman.inspectContainer('mig');
    assert.equal(inspect.HostConfig.CgroupParent, '/lifeboat_tnb', "runs under B's cgroup parent");
    await waitFor('the counter continued on B', 15_000, async () =>
      (await lastCount(nb, 'mig')) > before ? true : undefined,
    );
    await a.podman.removeContainer('mig', { force: true });
    await b.podman.removeContainer('mig', { force: true });
  });

  test('store round trip: encrypted version with CRIU stats in the manifest, restored on the other host', async () => {
    await na.create({
      name: 'tick',
      image: BUSYBOX_IMAGE,
      command: COUNTER,
      labels: { 'lifeboat.reschedule': 'checkpoint' },
    });
    await a.podman.startContainer('tick');
    await sleep(800);
    const { manifest } = await na.checkpointToStore(
      'tick',
      'tick',
      { group: 0, version: 0 },
      { leaveRunning: true },
    );
    assert.equal(manifest.encrypted, true);
    assert.equal(manifest.node, 'tna');
    assert.ok((manifest.criu?.['frozen_time_us'] ?? 0) > 0, 'CRIU frozen time recorded');
    // host A "dies": its copy is gone; B restores from the store
    await a.podman.removeContainer('tick', { force: true });
    const out = await nb.restoreFromStore('tick', { group: 0, version: 0 });
    assert.equal(out.name, 'tick');
    assert.equal((await b.podman.inspectContainer('tick')).State.Running, true);
    await b.podman.removeContainer('tick', { force: true });
  });

  test('a full store refuses the next version before the dump: nobody frozen, older versions kept', async () => {
    await na.create({ name: 'full', image: BUSYBOX_IMAGE, command: COUNTER });
    await a.podman.startContainer('full');
    await sleep(500);
    const first = await na.checkpointToStore(
      'full',
      'full',
      { group: 0, version: 0 },
      { leaveRunning: true },
    );
    // the same store, its quota set just above what the first version takes
    const tight = new NodeService({
      name: a.name,
      address: a.address,
      podman: a.podman,
      hostPaths: {
        runroot: a.service.runroot,
        graphroot: a.service.graphroot,
        cgroupParent: a.service.cgroupParent,
      },
      store: new CheckpointStore({
        root: `${storeRoot}/checkpoints`,
        keyring: new Keyring(await loadClusterKey(`${storeRoot}/cluster.key`)),
        quotaBytes: first.manifest.size + 1000,
      }),
      spoolDir: `${TEST_ROOT}/${a.name}/spool`,
      capabilities: await probeHostCapabilities({ selfTest: false }),
    });
    await assert.rejects(
      tight.checkpointToStore('full', 'full', { group: 0, version: 1 }, { leaveRunning: true }),
      /container full's checkpoints take .* quota: no room for another version .*; the versions stored so far are kept/,
    );
    // no dump was started: the container ran on, and version 0 is still there
    const before = await lastCount(na, 'full');
    await waitFor('the counter to go on', 10_000, async () =>
      (await lastCount(na, 'full')) > before ? true : undefined,
    );
    assert.equal(tight.dumpActivity().started, 0);
    await a.podman.removeContainer('full', { force: true });
    const out = await nb.restoreFromStore('full', { group: 0, version: 0 });
    assert.equal(out.name, 'full');
    await b.podman.removeContainer('full', { force: true });
  });

  test('fencing stops only restore-policy containers', async () => {
    await na.create({ name: 'keep', image: BUSYBOX_IMAGE, command: COUNTER });
    await na.create({
      name: 'fenced',
      image: BUSYBOX_IMAGE,
      command: COUNTER,
      labels: { 'lifeboat.reschedule': 'checkpoint' },
    });
    await a.podman.startContainer('keep');
    await a.podman.startContainer('fenced');
    assert.deepEqual(await na.fence('test'), ['fenced']);
    assert.equal((await a.podman.inspectContainer('fenced')).State.Running, false);
    assert.equal((await a.podman.inspectContainer('keep')).State.Running, true);
    assert.deepEqual(await na.reconcile(new Set(['fenced'])), ['fenced']);
    assert.equal(await a.podman.containerExists('fenced'), false);
    await a.podman.removeContainer('keep', { force: true });
  });

  test('reconcile with the IDs a listing saw: a copy of that name created since is kept', async () => {
    await na.create({ name: 'twice', image: BUSYBOX_IMAGE, command: ['sleep', '600'] });
    const first = (await a.podman.inspectContainer('twice')).Id;
    await a.podman.removeContainer('twice', { force: true });
    // moved back here meanwhile: same name, another container
    await na.create({ name: 'twice', image: BUSYBOX_IMAGE, command: ['sleep', '600'] });
    const second = (await a.podman.inspectContainer('twice')).Id;
    assert.deepEqual(await na.reconcile(new Set(['twice']), new Map([['twice', first]])), []);
    assert.equal(await a.podman.containerExists('twice'), true);
    assert.deepEqual(await na.reconcile(new Set(['twice']), new Map([['twice', second]])), ['twice']);
    assert.equal(await a.podman.containerExists('twice'), false);
  });

  test('a hostile archive is refused before Podman sees it', async () => {
    const pack = tar.pack();
    pack.entry({ name: '../../etc/evil' }, 'x');
    pack.entry({ name: 'config.dump' }, '{}');
    pack.finalize();
    const before = (await b.podman.listContainers({ all: true })).length;
    await assert.rejects(nb.restoreFromStream(Readable.from(pack)), (err: unknown) => {
      assert.ok(err instanceof HostileArchiveError, String(err));
      assert.match(err.message, /\.\.\/\.\.\/etc\/evil/);
      return true;
    });
    assert.equal((await b.podman.listContainers({ all: true })).length, before);
  });

  test('a container left frozen by a checkpoint cut short is found and thawed; one being dumped is not', async () => {
    await na.create({ name: 'iced', image: BUSYBOX_IMAGE, command: COUNTER });
    await a.podman.startContainer('iced');
    const { Id } = await a.podman.inspectContainer('iced');
    const state = `/sys/fs/cgroup/freezer/${a.service.cgroupParent}/libpod-${Id}/freezer.state`;
    // what CRIU leaves when it (or runc, or Podman's service) dies in the middle of a dump
    writeFileSync(state, 'FROZEN');
    await waitFor('the container frozen', 10_000, async () =>
      readFileSync(state, 'utf8').trim() === 'FROZEN' ? true : undefined,
    );
    const log = createLogger('test/frozen');
    // a dump running here: the frozen container may be its own, it is left alone
    const busy = new FrozenWatch(a.service.cgroupParent, () => ({ started: 1, running: 1 }), log);
    assert.deepEqual([busy.scan(), busy.scan()], [[], []]);
    const watch = new FrozenWatch(a.service.cgroupParent, () => na.dumpActivity(), log);
    assert.deepEqual(watch.scan(), [], 'first sighting: a suspect only');
    assert.deepEqual(
      watch.scan(),
      [`${a.service.cgroupParent}/libpod-${Id}`],
      'frozen twice with no dump: thawed',
    );
    assert.equal(readFileSync(state, 'utf8').trim(), 'THAWED');
    const before = await lastCount(na, 'iced');
    await waitFor('the counter runs again', 15_000, async () =>
      (await lastCount(na, 'iced')) > before ? true : undefined,
    );
    await a.podman.removeContainer('iced', { force: true });
  });
});
