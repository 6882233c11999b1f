import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { processTable, isAlive } from '../../src/devcluster/processes.ts';
import { inHost, leftovers, tcpConnects, testCluster, testConfig } from './fixture.ts';

// The shared checkpoint store on real GlusterFS: a private glusterd, a
// replica-3 volume with its bricks under the cluster root, FUSE-mounted
// before the hosts start so every host sees it at the same path.
const cfg = testConfig('g', 3);
const hasGluster = ['/usr/sbin/glusterd', '/usr/sbin/gluster', '/sbin/mount.glusterfs'].every(existsSync);

function mountType(path: string): string | undefined {
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = l.split(' ');
    if (f[4] === path) return f[f.indexOf('-') + 1];
  }
  return undefined;
}

describe(
  'local cluster with GlusterFS checkpoint storage',
  { skip: hasGluster ? false : 'GlusterFS not installed' },
  () => {
    before(async () => {
      await testCluster(cfg).down();
    });
    after(async () => {
      await testCluster(cfg).down();
    });

    test('a file written in one host is read in another; down removes volume, mount and glusterd', async () => {
      const cluster = testCluster(cfg);
      const up = await cluster.up({ nodes: 2, storage: 'gluster', images: false });
      const g = cluster.recorded?.storage.gluster;
      assert.ok(g && g.glusterdPid !== null);
      assert.equal(isAlive(g.glusterdPid), true);
      assert.equal(mountType(up.checkpointDir), 'fuse.glusterfs');

      const info = execFileSync(
        'gluster',
        [
          '--mode=script',
          `--glusterd-sock=${g.dir}/glusterd.socket`,
          `--log-file=${g.dir}/log/cli.log`,
          'volume',
          'info',
          g.volume,
        ],
        { encoding: 'utf8' },
      );
      assert.match(info, /Type: Replicate/);
      assert.match(info, /Number of Bricks: 1 x 3 = 3/);
      assert.match(info, /Status: Started/);

      const [n1, n2] = cluster.hosts;
      assert.ok(n1 && n2);
      const file = `${up.checkpointDir}/archive.tar`;
      const written = await inHost(n1, 'sh', [
        '-c',
        `head -c 4194304 /dev/urandom > ${file} && sha256sum ${file}`,
      ]);
      const seen = await inHost(n2, 'sha256sum', [file]);
      assert.equal(seen.split(' ')[0], written.split(' ')[0], 'node2 reads what node1 wrote');
      // replica 3: each brick holds a full copy
      const sum = written.split(' ')[0] ?? '';
      for (const b of g.bricks)
        assert.equal(
          createHash('sha256')
            .update(readFileSync(`${b}/archive.tar`))
            .digest('hex'),
          sum,
        );

      const brickPids = processTable()
        .filter((p) => p.argv.some((a) => a.startsWith(`${g.dir}/`)) && p.state !== 'Z')
        .map((p) => p.pid);
      assert.ok(brickPids.length >= 4, 'glusterd, three bricks (and self-heal) run');

      const report = await testCluster(cfg).down();
      assert.ok(report.removed.includes(`gluster volume ${g.volume}`), report.removed.join(', '));
      assert.equal(isAlive(g.glusterdPid), false, 'the glusterd it started is gone');
      assert.deepEqual(brickPids.filter(isAlive), []);
      assert.equal(mountType(up.checkpointDir), undefined);
      for (const s of g.runSockets) assert.equal(existsSync(s), false, `${s} removed`);
      assert.equal(
        await tcpConnects('127.0.0.1', 24007, 1_000),
        false,
        'nothing listens on the management port',
      );
      assert.deepEqual(leftovers(cfg), []);
    });
  },
);
