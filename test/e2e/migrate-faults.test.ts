import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagerClient } from '../../src/cli/manager-client.ts';
import { clusterDown, type ClusterUpResult } from '../../src/devcluster/cluster-up.ts';
import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import type { ClusterEvent } from '../../src/manager/events.ts';
import type { MigrationResult, MigrationStep } from '../../src/manager/migrate.ts';
import type { ContainerRecord } from '../../src/manager/records.ts';
import { dockerCli, freshCluster, keepLogsOnFailure } from '../support/e2e-cluster.ts';
import { RedisClient } from '../support/redis-client.ts';
import { waitFor } from '../support/wait.ts';

// A host loses power while a live migration streams its archive (step 7):
// the move fails cleanly and the container runs in exactly one place: on its
// source when the target died, else restored from its checkpoints by the
// rescheduler (Algorithm 2) when the source died.
const ROOT = '/var/tmp/lifeboat-mfault';
const DOCKER_PORT = 23740;
const KEYS = 250_000; // ~270 MB: step 7 lasts about a second
let up: ClusterUpResult;
let api: ManagerClient;
const { docker } = dockerCli(DOCKER_PORT);

interface MigrateLine {
  step?: MigrationStep;
  result?: MigrationResult;
  error?: { message: string; code: string; rolledBack?: boolean; step?: string };
}

/** Migrates over the lifeboat API and runs `atStep7` the moment step 7 (transfer and restore) starts. */
async function migrateKilling(
  container: string,
  to: string,
  atStep7: () => Promise<void>,
): Promise<MigrateLine> {
  let killing: Promise<void> | undefined;
  let last: MigrateLine = {};
  await api.request('POST', `/lifeboat/v1/containers/${container}/migrate`, { to }, (l) => {
    const line = l as MigrateLine;
    if (line.step?.id === 'restore' && line.step.status === 'running') killing ??= atStep7();
    if (line.result || line.error) last = line;
  });
  await killing;
  return last;
}

async function record(name: string): Promise<ContainerRecord | undefined> {
  return (await api.request<ContainerRecord[]>('GET', '/lifeboat/v1/containers')).find(
    (c) => c.name === name,
  );
}

async function fill(host: string): Promise<void> {
  const c = await RedisClient.waitReady(host, 6379);
  assert.equal(await c.command(['DEBUG', 'POPULATE', KEYS, 'key', 1000]), 'OK');
  c.close();
}

const address = (name: string): string => up.hosts.find((h) => h.name === name)!.address;

describe('a host dies during a live migration', () => {
  const keepLogs = keepLogsOnFailure(ROOT, 'migrate-faults');
  before(async () => {
    ({ up, api } = await freshCluster({
      nodes: 3,
      root: ROOT,
      cluster: { bridge: 'lbmf0', subnet: '10.91.0.0/24', namePrefix: 'm' },
      managerPort: 7500,
      dockerPort: DOCKER_PORT,
      failureTimeoutMs: 3000,
    }));
  });

  after(async () => {
    keepLogs();
    await clusterDown(ROOT);
  });

  test('the target dies mid-transfer: the move fails and the container runs again on its source', async () => {
    await docker(
      'run',
      '-d',
      '--name',
      'tgt',
      '-p',
      '6379:6379',
      '-e',
      'constraint:node==m1',
      'localhost/lifeboat/redis',
    );
    await fill(address('m1'));
    const cluster = new LocalCluster({ root: ROOT });
    const out = await migrateKilling('tgt', 'm2', async () => {
      await cluster.host('m2').kill();
    });
    assert.ok(out.error, `the move failed: ${JSON.stringify(out.result?.to)}`);
    assert.equal(out.error.step, 'restore');
    assert.equal(out.error.rolledBack, true, out.error.message);
    assert.match(out.error.message, /running again on m1/);
    assert.equal((await record('tgt'))?.node, 'm1');
    const c = await RedisClient.waitReady(address('m1'), 6379);
    assert.equal(await c.command(['DBSIZE']), KEYS, 'every key on the source');
    c.close();
    await docker('rm', '-f', 'tgt');
  });

  test('the source dies mid-transfer: the move fails or completes, and the container runs in exactly one place', async () => {
    await docker(
      'run',
      '-d',
      '--name',
      'src',
      '-p',
      '6380:6379',
      '-e',
      'constraint:node==m1',
      '-l',
      'lifeboat.checkpoint.interval=3s',
      '-l',
      'lifeboat.reschedule=checkpoint',
      'localhost/lifeboat/redis',
    );
    const c = await RedisClient.waitReady(address('m1'), 6380);
    assert.equal(await c.command(['DEBUG', 'POPULATE', KEYS, 'key', 1000]), 'OK');
    c.close();
    const stored = await waitFor(
      'a checkpoint version of src after its data was written',
      60_000,
      async () => {
        const events = await api.request<ClusterEvent[]>('GET', '/lifeboat/v1/events?container=src');
        return events.filter((e) => e.type === 'checkpoint.done').length >= 2 ? true : undefined;
      },
    );
    assert.ok(stored);
    const cluster = new LocalCluster({ root: ROOT });
    const out = await migrateKilling('src', 'm3', async () => {
      await cluster.host('m1').kill();
    });
    if (out.error) {
      // the archive was cut: the target dropped what it had, and the error says what happens now
      assert.match(out.error.message, /m1/);
      assert.match(out.error.message, /restores the container from its newest checkpoint|ROLLBACK FAILED/);
    } else {
      // the archive had arrived: the target restored it; only the source copy's removal could not happen
      assert.equal(out.result?.to, 'm3');
    }
    // Algorithm 2 (or the finished move): running again on a live host, with its data
    const rec = await waitFor('src running on a live host', 60_000, async () => {
      const r = await record('src');
      return r && r.node !== 'm1' && r.phase === 'running' ? r : undefined;
    });
    const d = await RedisClient.waitReady(address(rec.node), 6380, 30_000);
    assert.equal(await d.command(['DBSIZE']), KEYS, 'the keys of the last checkpoint');
    d.close();
    const copies = (await docker('ps', '--filter', 'name=src', '--format', '{{.Names}}'))
      .split('\n')
      .filter((n) => n === 'src');
    assert.equal(copies.length, 1, 'exactly one copy runs');
  });
});
