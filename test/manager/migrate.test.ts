import { after, before, describe, test } from 'node:test';
import { readdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { MigrationError, type MigrationStep } from '../../src/manager/migrate.ts';
import { NoNodeFitsError } from '../../src/scheduler/index.ts';
import { BUSYBOX_IMAGE, REDIS_IMAGE } from '../../src/images/test-images.ts';
import { collectLogs } from '../../src/engine/demux-stream.ts';
import { RedisClient } from '../support/redis-client.ts';
import { startHarness, type Harness } from '../support/cluster-harness.ts';
import { compromiseSource } from '../support/compromised-source.ts';
import { TEST_ROOT } from '../support/podman-host.ts';
import { waitFor } from '../support/wait.ts';

// Live migration (thesis 3.3) between real hosts with real CRIU: the nine
// steps, data safety under a writing client, and failures that must leave the
// container running where it was.
let h: Harness;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function nodeOf(name: string): Promise<string> {
  return (await h.state.container(name))!.record.node;
}

describe('migration on a 3-host cluster', () => {
  before(async () => {
    h = await startHarness('tm', 3, 20);
  });
  after(async () => {
    await h?.destroy();
  });

  test('redis with 100,000 keys moves under a writing client; no acknowledged write is lost', async () => {
    const from = await h.run('redis', REDIS_IMAGE, { ports: [[6379, 6379]], env: ['constraint:node==tm1'] });
    assert.equal(from, 'tm1');
    const c = await RedisClient.waitReady(h.host('tm1').address, 6379);
    assert.equal(await c.command(['DEBUG', 'POPULATE', 100_000, 'key']), 'OK');
    const acked: number[] = [];
    let writing = true;
    let client: RedisClient | undefined = c;
    let reconnects = 0;
    const writer = (async () => {
      let i = 0;
      while (writing) {
        try {
          if (!client) {
            const node = await nodeOf('redis');
            client = await RedisClient.connect(h.host(node).address, 6379, 500);
            reconnects++;
          }
          await Promise.race([
            client.command(['SET', `w:${i}`, String(i)]),
            sleep(1000).then(() => {
              throw new Error('stalled');
            }),
          ]);
          acked.push(i);
          i++;
        } catch {
          client?.close();
          client = undefined;
          await sleep(50);
        }
      }
    })();
    await sleep(500);
    const seen: MigrationStep[] = [];
    const result = await h.migrator.migrate({ container: 'redis' }, (s) => seen.push(s));
    const ackedAtEnd = acked.length;
    await waitFor('the writer reconnected and wrote on the new host', 20_000, async () =>
      reconnects >= 1 && acked.length > ackedAtEnd ? true : undefined,
    );
    writing = false;
    await writer;
    client?.close();
    assert.notEqual(result.to, 'tm1');
    assert.equal(await nodeOf('redis'), result.to);
    assert.equal(result.steps.length, 9);
    assert.deepEqual(
      result.steps.map((s) => s.status),
      ['ok', 'ok', 'ok', 'ok', 'skipped', 'ok', 'ok', 'ok', 'skipped'],
    );
    assert.match(result.steps[4]!.detail ?? '', /no soft-dirty/);
    assert.ok(result.phases.checkpointMs > 0 && result.phases.restoreMs > 0);
    assert.ok((result.criu.frozenTimeUs ?? 0) > 0, 'CRIU frozen time reported');
    assert.ok(
      seen.some((s) => s.status === 'running'),
      'steps were reported live',
    );
    const d = await RedisClient.waitReady(h.host(result.to).address, 6379);
    assert.ok(reconnects >= 1, 'the client reconnected to the new host');
    assert.ok(acked.length > 10, `writes acknowledged: ${acked.length}`);
    for (const i of acked)
      assert.equal(await d.command(['GET', `w:${i}`]), String(i), `acknowledged write w:${i} present`);
    assert.equal(await d.command(['GET', 'key:99999']), 'value:99999');
    d.close();
    assert.equal(await h.services.get('tm1')!.podman.containerExists('redis'), false, 'source copy removed');
  });

  test('back and forth five times; a file written inside survives', async () => {
    await h.run('files', BUSYBOX_IMAGE, {
      command: [
        'sh',
        '-c',
        // a fresh start finds the file only if the writable layer moved with the container
        'if [ -f /data/file ]; then echo "found $(cat /data/file)"; else echo precious > /data/file; fi; i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done',
      ],
    });
    const start = await nodeOf('files');
    const other = start === 'tm1' ? 'tm2' : 'tm1';
    for (let i = 0; i < 5; i++) {
      const to = i % 2 === 0 ? other : start;
      const r = await h.migrator.migrate({ container: 'files', to });
      assert.equal(r.to, to);
    }
    const node = await nodeOf('files');
    assert.equal(node, other);
    const logs = await collectLogs(await h.services.get(node)!.logs('files', {}));
    const values = logs
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    for (let i = 1; i < values.length; i++)
      assert.ok(values[i]! >= values[i - 1]!, 'counter never restarted');
    assert.equal((await h.services.get(node)!.inspect('files')).State.Running, true);
    // the file lives in the container's writable layer: it moved with it
    const out = await h.migrator.migrate({ container: 'files', to: start });
    assert.equal(out.to, start);
    await h.services.get(start)!.stop('files', 1);
    const c = h.services.get(start)!;
    await c.podman.startContainer('files');
    // a fresh start prints "found precious" only if the file came along through six moves
    const fresh = await waitFor('"found precious" from the restarted container', 15_000, async () => {
      const l = await collectLogs(await c.logs('files', {}));
      return /found precious/.test(l) ? l : undefined;
    });
    assert.equal((await c.inspect('files')).State.Running, true);
    assert.match(fresh, /found precious/, 'the file written before six moves is still there');
  });

  test('the target lacks the image: it is shipped with the same ID', async () => {
    const t3 = h.services.get('tm3')!;
    await h.run('shipme', BUSYBOX_IMAGE, { command: ['sleep', '3600'], env: ['constraint:node==tm1'] });
    const imageId = (await h.services.get('tm1')!.inspect('shipme')).Image;
    await t3.podman.removeImage(BUSYBOX_IMAGE, true).catch(() => undefined);
    assert.equal(await t3.imageExists(imageId), false);
    await h.heartbeatsNow();
    const r = await h.migrator.migrate({ container: 'shipme', to: 'tm3' });
    assert.match(r.steps[3]!.detail ?? '', /shipped/);
    assert.equal((await t3.inspect('shipme')).Image, imageId);
  });

  test('a filter that leaves no candidate: clear error, container untouched', async () => {
    const node = await nodeOf('shipme');
    await assert.rejects(
      h.migrator.migrate({ container: 'shipme', env: ['constraint:region==mars'] }),
      (err: unknown) => {
        assert.ok(err instanceof MigrationError);
        assert.equal(err.step, 'exclude-source');
        assert.ok(err.cause instanceof NoNodeFitsError);
        assert.match(err.message, /region==mars/);
        return true;
      },
    );
    assert.equal(await nodeOf('shipme'), node);
    assert.equal((await h.services.get(node)!.inspect('shipme')).State.Running, true);
  });

  test('the target dies mid-migration: the container runs again on the source', async () => {
    await h.run('victim', BUSYBOX_IMAGE, {
      command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'],
      env: ['constraint:node==tm1'],
    });
    const target = h.host('tm2');
    // the target's Podman goes away the moment the move completes (the source dumps)
    const svc = h.services.get('tm2')!;
    const orig = svc.completeMigration.bind(svc);
    svc.completeMigration = async (grant, opts) => {
      await target.service.stop();
      return orig(grant, opts);
    };
    try {
      await assert.rejects(h.migrator.migrate({ container: 'victim', to: 'tm2' }), (err: unknown) => {
        assert.ok(err instanceof MigrationError, String(err));
        assert.equal(err.step, 'restore');
        assert.equal(err.rolledBack, true);
        assert.match(err.message, /running again on tm1/);
        return true;
      });
    } finally {
      svc.completeMigration = orig;
      await target.service.start();
    }
    assert.equal(await nodeOf('victim'), 'tm1');
    const t1 = h.services.get('tm1')!;
    assert.equal((await t1.inspect('victim')).State.Running, true);
    const before = await collectLogs(await t1.logs('victim', {}));
    await waitFor('still counting on the source', 15_000, async () =>
      (await collectLogs(await t1.logs('victim', {}))).length > before.length ? true : undefined,
    );
  });

  test('a compromised source sends a hostile archive: refused mid-stream, the container runs on its source, nothing stays on the target', async () => {
    await h.run('evil', BUSYBOX_IMAGE, {
      command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'],
      env: ['constraint:node==tm1'],
    });
    const src = h.services.get('tm1')!;
    // the real dump freezes the container; then a path that climbs out of the container directory
    const restoreHonest = compromiseSource(src, [
      { name: 'config.dump', body: '{"id":"x","name":"evil"}' },
      { name: 'checkpoint/../../../../etc/cron.d/evil', body: '* * * * * root sh' },
    ]);
    try {
      await assert.rejects(h.migrator.migrate({ container: 'evil', to: 'tm2' }), (err: unknown) => {
        assert.ok(err instanceof MigrationError, String(err));
        assert.equal(err.step, 'restore');
        assert.equal(err.rolledBack, true);
        assert.match(err.message, /archive rejected.*dot-dot/);
        assert.match(err.message, /running again on tm1/);
        return true;
      });
    } finally {
      restoreHonest();
    }
    assert.equal(await nodeOf('evil'), 'tm1');
    assert.equal((await src.inspect('evil')).State.Running, true);
    assert.equal(await h.services.get('tm2')!.podman.containerExists('evil'), false, 'nothing on the target');
    assert.deepEqual(readdirSync(`${TEST_ROOT}/tm2/spool`), [], 'no staging left on the target');
  });
});
