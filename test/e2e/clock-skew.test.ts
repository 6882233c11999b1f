import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagerClient } from '../../src/cli/manager-client.ts';
import { clusterDown, type ClusterUpResult } from '../../src/devcluster/cluster-up.ts';
import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import { freshCluster, keepLogsOnFailure } from '../support/e2e-cluster.ts';
import { sleep, waitFor } from '../support/wait.ts';

// Clocks that disagree, as on machines without time sync: the second
// manager's wall clock runs 30 s ahead and host k1's agent 30 s behind
// (libfaketime), with a 5 s failure timeout. Failure detection ages
// heartbeats on each manager's own monotonic clock, so no live host is ever
// declared failed; node ls shows each host's offset; a host that really
// dies (the skewed one) is still declared failed on time.
const ROOT = '/var/tmp/lifeboat-skew';
const CLUSTER = { bridge: 'lbskew0', subnet: '10.83.0.0/24', namePrefix: 'k' };
const FAILURE_TIMEOUT_MS = 5000;
/** How long live hosts are watched; LIFEBOAT_SKEW_WATCH_S=300 for the several minutes of a long run. */
const WATCH_MS = Number(process.env['LIFEBOAT_SKEW_WATCH_S'] ?? 60) * 1000;

interface NodeSummary {
  name: string;
  status: string;
  clockOffsetMs?: number;
}

let up: ClusterUpResult;
let clients: ManagerClient[];

async function nodes(): Promise<NodeSummary[]> {
  for (const c of clients) {
    const r = await c.request<NodeSummary[]>('GET', '/lifeboat/v1/nodes').catch(() => undefined);
    if (r) return r;
  }
  throw new Error('no manager answered');
}

describe('clocks 30 s apart: no live host declared failed, a dead one on time', () => {
  const keepLogs = keepLogsOnFailure(ROOT, 'clock-skew');
  before(async () => {
    ({ up } = await freshCluster({
      nodes: 3,
      root: ROOT,
      cluster: CLUSTER,
      managerPort: 7550,
      dockerPort: 23739,
      failureTimeoutMs: FAILURE_TIMEOUT_MS,
      store: 'etcd',
      managers: 2,
      etcdBasePort: 23870,
      clockSkew: { 'manager-2': '+30s', k1: '-30s' },
    }));
    clients = await Promise.all(
      up.managers.map((m) =>
        ManagerClient.open({ managerUrl: m.url, pkiDir: up.pkiDir, dockerHost: m.dockerHost }),
      ),
    );
  });
  after(async () => {
    keepLogs();
    await clusterDown(ROOT, undefined, CLUSTER);
  });

  test(`live hosts stay healthy for ${WATCH_MS / 1000} s; node ls shows the skewed host's offset`, async () => {
    const k1 = await waitFor('k1 reports its clock', 10_000, async () =>
      (await nodes()).find((n) => n.name === 'k1' && n.clockOffsetMs !== undefined),
    );
    // -30 s against manager-1, -60 s against manager-2: whichever took its last heartbeat
    assert.ok(k1.clockOffsetMs! < -25_000, `k1 offset ${k1.clockOffsetMs} ms`);
    const end = Date.now() + WATCH_MS;
    let checks = 0;
    while (Date.now() < end) {
      const ns = await nodes();
      const notHealthy = ns.filter((n) => n.status !== 'healthy');
      assert.deepEqual(notHealthy, [], `a live host was not healthy after ${checks} checks`);
      checks++;
      await sleep(1000);
    }
    for (const c of clients) {
      const events = await c.request<{ type: string; message: string }[]>('GET', '/lifeboat/v1/events');
      assert.deepEqual(
        events.filter((e) => e.type === 'node.failed').map((e) => e.message),
        [],
        'no host declared failed',
      );
    }
    process.stderr.write(
      `# ${checks} checks over ${WATCH_MS / 1000} s: every host healthy; k1 ${k1.clockOffsetMs} ms\n`,
    );
  });

  test('the skewed host dies: declared failed within the failure timeout (plus a heartbeat and a poll)', async () => {
    const t0 = Date.now();
    await new LocalCluster({ root: ROOT }).host('k1').kill();
    await waitFor('k1 declared failed', 30_000, async () =>
      (await nodes()).find((n) => n.name === 'k1' && n.status === 'failed'),
    );
    const ms = Date.now() - t0;
    process.stderr.write(
      `# k1 declared failed ${ms} ms after its power went (failure timeout ${FAILURE_TIMEOUT_MS} ms)\n`,
    );
    // correctness, not speed: a detector ageing k1 by a skewed wall clock would be ~30 s early or late
    assert.ok(ms >= FAILURE_TIMEOUT_MS - 1000, `not declared early (${ms} ms)`);
    assert.ok(ms < FAILURE_TIMEOUT_MS + 5000, `declared on time (${ms} ms)`);
    assert.deepEqual(
      (await nodes()).filter((n) => n.name !== 'k1' && n.status !== 'healthy'),
      [],
      'the others stay healthy',
    );
  });
});
