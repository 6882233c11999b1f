import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readdir } from 'node:fs/promises';
import type { ClusterEvent } from '../../src/manager/events.ts';
import { BUSYBOX_IMAGE, REDIS_IMAGE } from '../../src/images/test-images.ts';
import { RedisClient } from '../support/redis-client.ts';
import { startHarness, type Harness } from '../support/cluster-harness.ts';

// Checkpoint tickers (thesis Algorithm 1) and restore rescheduling
// (Algorithm 2) on real hosts with real CRIU. A host "dies" by going silent
// with its containers killed; the failure detector runs as on a leader.
// The detector and the heartbeat pump share this test's event loop with archive streaming and a
// redis writer: at 2 s, a stall of ~1.7 s on a loaded machine could declare a live host failed.
const FAILURE_TIMEOUT_MS = 3000;
let h: Harness;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function eventsOf(container: string, type: string, since = 0): ClusterEvent[] {
  return h.events.since(since, { container, type });
}

const lastSeq = (): number => h.events.since(0).at(-1)?.seq ?? 0;

async function nodeOf(name: string): Promise<string> {
  return (await h.state.container(name))!.record.node;
}

async function removeEverywhere(name: string): Promise<void> {
  await h.tickers.disarm(name);
  const rec = (await h.state.container(name))?.record;
  if (rec)
    await h.services
      .get(rec.node)!
      .remove(name, true)
      .catch(() => undefined);
  await h.state.deleteContainer(name);
}

/** A host comes back; the detector sees it and the rescheduler reconciles it. */
async function revive(node: string, since: number): Promise<void> {
  h.revive(node);
  await waitFor(`${node} back`, () =>
    h.events.since(since, { type: 'node.recovered' }).find((e) => e.node === node),
  );
}

const corrupted = new Set<string>();
/** Corrupts a stored archive (once: flipping the same byte again would repair it). */
async function flipByte(path: string): Promise<void> {
  if (corrupted.has(path)) return;
  corrupted.add(path);
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const at = Math.floor(size / 2);
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

async function storedVersions(name: string): Promise<{ group: number; version: number; file: string }[]> {
  const healthy = await h.registry.healthy();
  const groups = await h.registry.client(healthy[0]!.report.name).listCheckpoints(name);
  return groups.flatMap((g) => g.versions.map((v) => ({ group: v.group, version: v.version, file: v.file })));
}

describe('checkpoint tickers and restore rescheduling on a 4-host cluster', () => {
  before(async () => {
    h = await startHarness('th', 4, 30, { failureTimeoutMs: FAILURE_TIMEOUT_MS, ha: true });
  });
  after(async () => {
    await h?.destroy();
  });

  test('retention: VG=2, after 3*VG+2 ticks only three version groups remain in the store', async () => {
    await h.run('ret', BUSYBOX_IMAGE, {
      command: ['sleep', '3600'],
      env: ['constraint:node==th4'],
      labels: { 'lifeboat.checkpoint.interval': '1s', 'lifeboat.checkpoint.version-group': '2' },
    });
    assert.equal(await h.tickers.arm('ret'), true);
    await waitFor('8 checkpoints', () => eventsOf('ret', 'checkpoint.done').length >= 8 || undefined, 60_000);
    await h.tickers.disarm('ret');
    const done = eventsOf('ret', 'checkpoint.done');
    const n = done.length;
    assert.deepEqual(
      done.map((e) => e.fields?.['version']),
      [...Array(n).keys()],
      'versions numbered without gaps',
    );
    assert.match(done[0]!.message, /pre-dump skipped: kernel lacks soft-dirty memory tracking/);
    const onDisk = (await readdir(`${h.checkpointRoot}/ret`)).filter((d) => /^\d+$/.test(d)).map(Number);
    const newest = Math.floor((n - 1) / 2);
    assert.deepEqual(
      onDisk.sort((a, b) => a - b),
      [newest - 2, newest - 1, newest],
    );
    const listed = await storedVersions('ret');
    assert.equal(listed.at(-1)!.version, n - 1);
    assert.ok(
      done.some((e) => /deleted group\(s\) 0/.test(e.message)),
      'the oldest group was deleted',
    );
    assert.ok((await h.state.ticker('ret'))!.version === n, 'ticker state persisted for a new leader');
    await removeEverywhere('ret');
  });

  test('a checkpoint slower than the interval is never overlapped; skipped ticks are logged', async () => {
    await h.run('slow', BUSYBOX_IMAGE, {
      command: ['sleep', '3600'],
      env: ['constraint:node==th4'],
      labels: { 'lifeboat.checkpoint.interval': '1s' },
    });
    const svc = h.services.get('th4')!;
    const orig = svc.checkpointToStore.bind(svc);
    let active = 0;
    let maxActive = 0;
    svc.checkpointToStore = async (name, key, ref, o) => {
      if (name !== 'slow') return orig(name, key, ref, o);
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        await sleep(2500);
        return await orig(name, key, ref, o);
      } finally {
        active--;
      }
    };
    try {
      await h.tickers.arm('slow');
      await waitFor(
        '2 slow checkpoints',
        () => eventsOf('slow', 'checkpoint.done').length >= 2 || undefined,
        30_000,
      );
      await h.tickers.disarm('slow');
    } finally {
      svc.checkpointToStore = orig;
    }
    assert.equal(maxActive, 1, 'never two dumps of one container at once');
    const skipped = eventsOf('slow', 'checkpoint.skipped').filter((e) =>
      /slow checkpoint: tick skipped/.test(e.message),
    );
    assert.ok(skipped.length >= 2, `skipped ticks logged: ${skipped.length}`);
    // disarm() waits for a dump already running when it is called, so a third
    // version may complete after the wait above; what matters is that every
    // version number is used exactly once, in order.
    const versions = eventsOf('slow', 'checkpoint.done').map((e) => e.fields?.['version']);
    assert.ok(versions.length >= 2);
    assert.deepEqual(versions, [...versions.keys()], 'no slot lost or written twice');
    await removeEverywhere('slow');
  });

  test('redis: its host dies; it serves on another host with every key written before its last checkpoint', async () => {
    const from = await h.run('redis-a', REDIS_IMAGE, {
      ports: [[6379, 6379]],
      env: ['constraint:node==th1'],
      labels: { 'lifeboat.checkpoint.interval': '2s', 'lifeboat.reschedule': 'checkpoint' },
    });
    assert.equal(from, 'th1');
    const c = await RedisClient.waitReady(h.host('th1').address, 6379);
    assert.equal(await c.command(['DEBUG', 'POPULATE', 10_000, 'key']), 'OK');
    await h.tickers.arm('redis-a');
    await waitFor('a first checkpoint', () => eventsOf('redis-a', 'checkpoint.done')[0]);
    // a writer keeps writing while the ticker keeps checkpointing
    const ackedAt: number[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        try {
          await c.command(['SET', `w:${i}`, String(i)]);
          ackedAt.push(Date.now());
        } catch {
          return;
        }
        if (i % 50 === 0) await sleep(5);
      }
    })();
    const seq = lastSeq();
    await waitFor(
      'two more checkpoints under writes',
      () => eventsOf('redis-a', 'checkpoint.done', seq).length >= 2 || undefined,
    );
    await sleep(700);
    const killSeq = lastSeq();
    const killedAt = Date.now();
    await h.kill('th1');
    writing = false;
    await writer;
    c.close();
    const last = eventsOf('redis-a', 'checkpoint.done')
      .filter((e) => e.seq <= killSeq)
      .at(-1)!;
    const cutoff = Date.parse(String(last.fields?.['startedAt']));
    const mustHave = ackedAt.filter((t) => t < cutoff).length;
    assert.ok(mustHave > 0, 'keys were written before the last checkpoint');

    const done = await waitFor('restore.done', () => eventsOf('redis-a', 'restore.done', killSeq)[0], 30_000);
    const to = await nodeOf('redis-a');
    assert.notEqual(to, 'th1');
    assert.equal(done.node, to);
    const d = await RedisClient.waitReady(h.host(to).address, 6379);
    const servingMs = Date.now() - killedAt;
    const restoreMs = Number(done.fields?.['durationMs']);
    // The detection bound comes from the detector's own record: the silence it saw when it declared th1
    // failed. 1.5 s over the timeout cover its 250 ms tick on this test's event loop, which is busy with
    // archive streaming on a loaded machine. The restore's duration is its own record too.
    const failed = h.events.since(killSeq, { type: 'node.failed' }).find((e) => e.node === 'th1');
    assert.ok(failed, 'th1 declared failed');
    const silentMs = Number(/no heartbeat for (\d+) ms/.exec(failed.message)?.[1]);
    assert.ok(
      silentMs <= FAILURE_TIMEOUT_MS + 1500,
      `th1 declared failed after ${silentMs} ms of silence (failure timeout ${FAILURE_TIMEOUT_MS} ms)`,
    );
    // The wall clock adds the heartbeat pump, the detector's hand-off, this test's polling and redis's
    // start-up, all on the same busy event loop: bounded loosely, and printed.
    process.stderr.write(`# redis-a served again ${servingMs} ms after the kill (restore ${restoreMs} ms)\n`);
    assert.ok(
      servingMs <= FAILURE_TIMEOUT_MS + restoreMs + 10_000,
      `served again ${servingMs} ms after the kill (failure timeout ${FAILURE_TIMEOUT_MS} ms + restore ${restoreMs} ms)`,
    );
    assert.equal(await d.command(['GET', 'key:9999']), 'value:9999');
    for (let i = 0; i < mustHave; i += 500) {
      const keys = Array.from({ length: Math.min(500, mustHave - i) }, (_, k) => `w:${i + k}`);
      const values = (await d.command(['MGET', ...keys])) as (string | null)[];
      values.forEach((v, k) =>
        assert.equal(v, String(i + k), `w:${i + k}, written before the last checkpoint`),
      );
    }
    d.close();
    const rec = (await h.state.container('redis-a'))!.record;
    assert.deepEqual([rec.phase, rec.generation], ['running', 2]);
    assert.match(rec.note ?? '', /restored on .* from version \d+/);
    // the ticker followed it, and keeps the numbering going
    const seqAfter = lastSeq();
    const next = await waitFor(
      'a checkpoint on the new host',
      () => eventsOf('redis-a', 'checkpoint.done', seqAfter)[0],
    );
    assert.equal(next.node, to);
    assert.ok(Number(next.fields?.['version']) > Number(last.fields?.['version']));

    // th1 returns: its stale copy goes
    const backSeq = lastSeq();
    await revive('th1', backSeq);
    const rc = await waitFor('th1 reconciled', () =>
      h.events.since(backSeq, { type: 'node.reconciled' }).find((e) => e.node === 'th1'),
    );
    assert.match(rc.message, /redis-a/);
    assert.equal(await h.services.get('th1')!.podman.containerExists('redis-a'), false);
    await removeEverywhere('redis-a');
  });

  test('the newest archive is corrupt: the previous version is used; all corrupt: a fresh start, reported', async () => {
    await h.run('redis-b', REDIS_IMAGE, {
      ports: [[6380, 6379]],
      env: ['constraint:node==th2'],
      labels: { 'lifeboat.checkpoint.interval': '2s', 'lifeboat.reschedule': 'checkpoint' },
    });
    const c = await RedisClient.waitReady(h.host('th2').address, 6380);
    assert.equal(await c.command(['SET', 'precious', 'yes']), 'OK');
    c.close();
    await h.tickers.arm('redis-b');
    await waitFor('three checkpoints', () => eventsOf('redis-b', 'checkpoint.done').length >= 3 || undefined);
    await h.tickers.disarm('redis-b');
    const versions = await storedVersions('redis-b');
    const newest = versions.at(-1)!;
    const previous = versions.at(-2)!;
    await flipByte(`${h.checkpointRoot}/redis-b/${newest.group}/${newest.file}`);
    const seq = lastSeq();
    await h.kill('th2');
    const done = await waitFor('restore.done', () => eventsOf('redis-b', 'restore.done', seq)[0]);
    const failed = eventsOf('redis-b', 'restore.attempt-failed', seq);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.fields?.['version'], newest.version);
    assert.match(failed[0]!.message, /sha256|checksum|corrupt/i);
    assert.equal(done.fields?.['version'], previous.version);
    const mid = await nodeOf('redis-b');
    assert.notEqual(mid, 'th2');
    const d = await RedisClient.waitReady(h.host(mid).address, 6380);
    assert.equal(await d.command(['GET', 'precious']), 'yes');
    d.close();

    // every version corrupt, then its new host dies too
    await h.tickers.disarm('redis-b');
    const all = await storedVersions('redis-b');
    for (const v of all) await flipByte(`${h.checkpointRoot}/redis-b/${v.group}/${v.file}`);
    const seq2 = lastSeq();
    await h.kill(mid);
    const fresh = await waitFor('restore.fresh', () => eventsOf('redis-b', 'restore.fresh', seq2)[0]);
    const tried = Math.min(5, all.length);
    assert.match(fresh.message, new RegExp(`all ${tried} checkpoint version\\(s\\) tried failed`));
    assert.equal(eventsOf('redis-b', 'restore.attempt-failed', seq2).length, tried);
    const end = await nodeOf('redis-b');
    assert.ok(end !== mid && end !== 'th2');
    const e = await RedisClient.waitReady(h.host(end).address, 6380);
    assert.equal(await e.command(['GET', 'precious']), null, 'started without state');
    e.close();
    assert.match((await h.state.container('redis-b'))!.record.note ?? '', /started fresh/);
    await h.tickers.disarm('redis-b');
    const back = lastSeq();
    await revive('th2', back);
    await revive(mid, back);
    await removeEverywhere('redis-b');
  });

  test('reschedule:on-node-failure only: restarted fresh elsewhere, without state', async () => {
    const from = await h.run('redis-e', REDIS_IMAGE, {
      ports: [[6381, 6379]],
      env: ['constraint:node==th3', 'reschedule:on-node-failure'],
    });
    assert.equal(from, 'th3');
    const c = await RedisClient.waitReady(h.host('th3').address, 6381);
    assert.equal(await c.command(['SET', 'k', 'v']), 'OK');
    c.close();
    assert.equal(await h.tickers.arm('redis-e'), false, 'no ticker label: no checkpoints');
    const seq = lastSeq();
    await h.kill('th3');
    const fresh = await waitFor('restore.fresh', () => eventsOf('redis-e', 'restore.fresh', seq)[0]);
    assert.match(fresh.message, /on-node-failure/);
    assert.equal(eventsOf('redis-e', 'restore.attempt', seq).length, 0, 'no checkpoint tried');
    const to = await nodeOf('redis-e');
    assert.notEqual(to, 'th3');
    const d = await RedisClient.waitReady(h.host(to).address, 6381);
    assert.equal(await d.command(['GET', 'k']), null);
    d.close();
    await revive('th3', seq);
    await removeEverywhere('redis-e');
  });
});
