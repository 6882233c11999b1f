import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { collectLogs } from '../../src/engine/demux-stream.ts';
import {
  ContainerNotFoundError,
  ImageNotFoundError,
  RestoreFailedError,
  UnsupportedError,
} from '../../src/engine/errors.ts';
import { hostHasSoftDirty } from '../../src/engine/soft-dirty.ts';
import { BUSYBOX_IMAGE, REDIS_IMAGE } from '../../src/images/test-images.ts';
import { RedisClient } from '../support/redis-client.ts';
import { cleanupTestNetwork, startTestHost, TEST_ROOT, type TestHost } from '../support/podman-host.ts';
import { waitFor } from '../support/wait.ts';

// Two independent Podman instances (each a host sandbox with its own storage,
// namespaces and service), real runc and real CRIU: archives from A restore on B.
let a: TestHost;
let b: TestHost;

const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'];

/** The counter's numbers in a container's log, or only in the lines logged after `since` (an ISO time). */
async function counterValues(host: TestHost, name: string, since?: string): Promise<number[]> {
  const text = await collectLogs(await host.podman.logs(name, since ? { since } : {}));
  return text
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

async function checkpointToFile(
  host: TestHost,
  name: string,
  file: string,
  opts: Parameters<TestHost['podman']['checkpointExport']>[1],
): Promise<void> {
  await pipeline(await host.podman.checkpointExport(name, opts), createWriteStream(file));
}

/** Sampled-value checksum: equal on both sides iff the sampled keys hold the same values. */
async function sampleChecksum(c: RedisClient, n: number): Promise<string> {
  const h = createHash('sha256');
  for (let i = 0; i < 100_000; i += Math.floor(100_000 / n)) {
    const v = await c.command(['GET', `key:${i}`]);
    h.update(`${i}=${String(v)};`);
  }
  return h.digest('hex');
}

describe('engine: real CRIU checkpoint/restore across two Podman instances', () => {
  before(async () => {
    a = await startTestHost('tea', 1);
    b = await startTestHost('teb', 2);
  });

  after(async () => {
    await a?.destroy();
    await b?.destroy();
    await cleanupTestNetwork();
  });

  for (const leaveRunning of [true, false]) {
    test(`counter continues from its in-memory value on the other host (leaveRunning=${leaveRunning})`, async () => {
      const name = `counter-${leaveRunning ? 'lr' : 'stop'}`;
      await a.podman.createContainer({
        name,
        image: BUSYBOX_IMAGE,
        command: COUNTER,
        cgroupParent: a.service.cgroupParent,
      });
      await a.podman.startContainer(name);
      // a line every 0.1 s when idle, far slower on a loaded machine: wait for the lines, not for a time
      await waitFor('5 counter lines on A', 20_000, async () =>
        (await counterValues(a, name)).length >= 5 ? true : undefined,
      );
      // Left running, A goes on counting through the export and the log read after it, so a value read
      // then overshoots the dumped one by what the load allows: read a lower bound before the export.
      // Stopped, A's log ends exactly at the dumped value.
      const beforeExport = Math.max(...(await counterValues(a, name)));
      const file = `${TEST_ROOT}/${name}.tar`;
      await checkpointToFile(a, name, file, { leaveRunning, printStats: true });
      const atCheckpoint = leaveRunning ? beforeExport : Math.max(...(await counterValues(a, name)));
      assert.ok(atCheckpoint >= 5, `counter ran before the checkpoint (saw ${atCheckpoint})`);
      const src = await a.podman.inspectContainer(name);
      assert.equal(src.State.Running, leaveRunning);

      const restoreStart = new Date().toISOString();
      const restored = await b.podman.restoreImport(createReadStream(file), {
        printStats: true,
        cleanupName: name,
      });
      assert.ok(restored.id.length > 0);
      // Only B's own lines: its log starts with A's, and with leaveRunning Podman copies A's log into
      // the archive after the dump let A go on, so A's last lines there run past the restored value.
      const values = await waitFor('3 lines printed on B', 20_000, async () => {
        const v = await counterValues(b, name, restoreStart);
        return v.length >= 3 ? v : undefined;
      });
      assert.ok(values[0]! > atCheckpoint, `B went on from A's value, not from 1 (first ${values[0]})`);
      const after = values.filter((v) => v > atCheckpoint);
      assert.ok(
        after.length >= 3,
        `counter kept counting on B (values after ${atCheckpoint}: ${after.length})`,
      );
      // Memory came along: the sequence never falls back to 1 after the restore.
      for (let i = 1; i < values.length; i++)
        assert.ok(values[i]! >= values[i - 1]!, `no reset: ${values[i - 1]} -> ${values[i]}`);
      assert.equal((await b.podman.inspectContainer(name)).State.Running, true);
      await a.podman.removeContainer(name, { force: true });
      await b.podman.removeContainer(name, { force: true });
    });
  }

  test('redis with 100,000 keys and a connected client restores with identical data', async () => {
    await a.podman.createContainer({
      name: 'redis1',
      image: REDIS_IMAGE,
      cgroupParent: a.service.cgroupParent,
      portMappings: [{ containerPort: 6379, hostPort: 6379 }],
    });
    await a.podman.startContainer('redis1');
    const client = await RedisClient.waitReady(a.address, 6379);
    assert.equal(await client.command(['DEBUG', 'POPULATE', 100_000, 'key']), 'OK');
    assert.equal(await client.command(['DBSIZE']), 100_000);
    const before = await sampleChecksum(client, 1000);
    // the client stays connected through the dump: needs tcpEstablished
    const file = `${TEST_ROOT}/redis1.tar`;
    await checkpointToFile(a, 'redis1', file, { tcpEstablished: true, printStats: true });
    assert.ok(statSync(file).size > 1_000_000, 'archive holds the memory');
    client.close();

    await b.podman.restoreImport(createReadStream(file), {
      tcpEstablished: true,
      printStats: true,
      cleanupName: 'redis1',
    });
    const c2 = await RedisClient.waitReady(b.address, 6379);
    assert.equal(await c2.command(['DBSIZE']), 100_000);
    assert.equal(await sampleChecksum(c2, 1000), before);
    c2.close();
    await a.podman.removeContainer('redis1', { force: true });
    await b.podman.removeContainer('redis1', { force: true });
  });

  test('pre-checkpoint is refused with a specific reason where the kernel lacks soft-dirty', async (t) => {
    await a.podman.createContainer({
      name: 'pre',
      image: BUSYBOX_IMAGE,
      command: COUNTER,
      cgroupParent: a.service.cgroupParent,
    });
    await a.podman.startContainer('pre');
    t.after(() => a.podman.removeContainer('pre', { force: true }));
    if (await hostHasSoftDirty()) {
      // a kernel with soft-dirty: the pre-dump really happens, then a dump on top of it
      await a.podman.checkpoint('pre', { preCheckpoint: true });
      await checkpointToFile(a, 'pre', `${TEST_ROOT}/pre.tar`, { withPrevious: true });
      return;
    }
    await assert.rejects(a.podman.checkpoint('pre', { preCheckpoint: true }), (err: unknown) => {
      assert.ok(err instanceof UnsupportedError);
      assert.equal(err.message, 'unsupported: kernel lacks soft-dirty memory tracking');
      assert.equal(err.feature, 'mem_dirty_track');
      return true;
    });
    assert.equal((await a.podman.inspectContainer('pre')).State.Running, true, 'container untouched');
  });

  test('checkpoint of a missing container is a typed not-found error', async () => {
    await assert.rejects(a.podman.checkpointExport('no-such-container'), (err: unknown) => {
      assert.ok(err instanceof ContainerNotFoundError);
      assert.match(err.message, /no-such-container/);
      return true;
    });
  });

  test('restore of a truncated archive fails cleanly and leaves no container', async () => {
    await a.podman.createContainer({
      name: 'trunc',
      image: BUSYBOX_IMAGE,
      command: COUNTER,
      cgroupParent: a.service.cgroupParent,
    });
    await a.podman.startContainer('trunc');
    const file = `${TEST_ROOT}/trunc.tar`;
    await checkpointToFile(a, 'trunc', file, { leaveRunning: true });
    await a.podman.removeContainer('trunc', { force: true });
    const size = statSync(file).size;
    const cut = `${TEST_ROOT}/trunc-cut.tar`;
    await pipeline(createReadStream(file, { start: 0, end: Math.floor(size / 2) }), createWriteStream(cut));
    const before = (await b.podman.listContainers({ all: true })).length;
    await assert.rejects(
      b.podman.restoreImport(createReadStream(cut), { cleanupName: 'trunc' }),
      (err: unknown) => {
        assert.ok(err instanceof RestoreFailedError, `typed restore error, got ${String(err)}`);
        return true;
      },
    );
    assert.equal((await b.podman.listContainers({ all: true })).length, before, 'no stray created container');
  });

  test('restore when the image is absent is a typed error and leaves no container', async () => {
    const c = await startTestHost('tec', 3, { loadImages: false });
    try {
      await a.podman.createContainer({
        name: 'noimg',
        image: BUSYBOX_IMAGE,
        command: COUNTER,
        cgroupParent: a.service.cgroupParent,
      });
      await a.podman.startContainer('noimg');
      const file = `${TEST_ROOT}/noimg.tar`;
      await checkpointToFile(a, 'noimg', file, {});
      await a.podman.removeContainer('noimg', { force: true });
      await assert.rejects(
        c.podman.restoreImport(createReadStream(file), { cleanupName: 'noimg' }),
        (err: unknown) => {
          assert.ok(err instanceof ImageNotFoundError, `typed image error, got ${String(err)}`);
          return true;
        },
      );
      assert.equal((await c.podman.listContainers({ all: true })).length, 0, 'no stray created container');
    } finally {
      await c.destroy();
    }
  });

  test('a JSON error answer is never taken for an archive', async () => {
    await assert.rejects(a.podman.checkpointExport('missing-again', { leaveRunning: true }));
  });
});
