import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readClusterState } from '../../src/devcluster/cluster-state.ts';
import { isAlive } from '../../src/devcluster/processes.ts';
import {
  httpGet,
  inHost,
  leftovers,
  startWebContainer,
  testCluster,
  testConfig,
  type ProgressEvent,
} from './fixture.ts';

// A real 3-host cluster (network and mount namespaces, one Podman each, images
// loaded), brought up and removed twice in a row: the second round proves that
// `down` leaves nothing that would get in the way.
const cfg = testConfig('a', 0);

describe('local cluster: up and down of 3 real hosts', () => {
  before(async () => {
    await testCluster(cfg).down();
  });
  after(async () => {
    await testCluster(cfg).down();
  });

  for (const round of [1, 2]) {
    test(`round ${round}: hosts answer, images match, ports reachable, down leaves nothing`, async () => {
      const events: ProgressEvent[] = [];
      const cluster = testCluster(cfg, events);
      const up = await cluster.up({ nodes: 3 });

      assert.deepEqual(
        up.hosts.map((h) => [h.name, h.address]),
        [
          ['dca1', '10.97.0.11'],
          ['dca2', '10.97.0.12'],
          ['dca3', '10.97.0.13'],
        ],
      );
      assert.equal(up.gateway, '10.97.0.1');
      assert.equal(up.images.length, 2);

      for (const h of cluster.hosts) {
        assert.equal(await h.podman.ping(), true, `${h.name}'s Podman answers`);
        for (const img of up.images) {
          const id = (await h.podman.inspectImage(img.reference)).Id;
          assert.equal(id.replace(/^sha256:/, ''), img.imageId, `${img.reference} on ${h.name}`);
        }
      }

      // progress: every host step reported done with its duration
      for (const name of ['dca1', 'dca2', 'dca3']) {
        const done = events.filter((e) => e.step === `host ${name}` && e.phase === 'done');
        assert.ok(done.length >= 2, `boot and image load of ${name} reported`);
        assert.ok(done.every((e) => typeof e.ms === 'number'));
      }

      // the state file records what another process needs for `down`
      const state = readClusterState(cluster.statePath);
      assert.ok(state);
      assert.equal(state.status, 'up');
      assert.equal(state.hosts.length, 3);
      for (const h of state.hosts) {
        const podman = h.processes.find((p) => p.role === 'podman');
        assert.ok(podman && isAlive(podman.pid), `${h.name}: podman PID recorded and alive`);
      }

      const [n1, n2, n3] = cluster.hosts;
      assert.ok(n1 && n2 && n3);
      await startWebContainer(n1, 'web', 18080, `hello-from-${n1.name}`);
      assert.equal(await httpGet(`http://10.97.0.11:18080/index.html`), 'hello-from-dca1');
      // hosts reach each other over the bridge
      const viaN2 = await inHost(n2, '/bin/busybox', [
        'wget',
        '-q',
        '-O',
        '-',
        'http://10.97.0.11:18080/index.html',
      ]);
      assert.equal(viaN2.trim(), 'hello-from-dca1');

      // the checkpoint directory is one directory, at the same path, in every host
      await inHost(n1, 'sh', ['-c', `echo round-${round} > ${up.checkpointDir}/probe`]);
      assert.equal((await inHost(n3, 'cat', [`${up.checkpointDir}/probe`])).trim(), `round-${round}`);

      // `down` from a fresh object, as another process would run it
      const report = await testCluster(cfg).down();
      assert.ok(report.removed.includes('host dca1'));
      assert.deepEqual(leftovers(cfg), []);
      assert.equal(existsSync(cfg.root), false);

      const again = await testCluster(cfg).down();
      assert.deepEqual(again.removed, [], 'a second down finds nothing to remove');
    });
  }
});
