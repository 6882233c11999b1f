import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readClusterState } from '../../src/devcluster/cluster-state.ts';
import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import { isAlive, signal } from '../../src/devcluster/processes.ts';
import { eventually, leftovers, testCluster, testConfig } from './fixture.ts';

// `down` must work from another process, after the processes of the cluster
// died without any cleanup, and even when the state file is gone.
const cfg = testConfig('c', 2);
const child = fileURLToPath(new URL('./up-child.ts', import.meta.url));

function runUpInChild(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, JSON.stringify(cfg)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`the up process did not end by itself:\n${out}`));
    }, 120_000);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

describe('local cluster: down after a crash', () => {
  before(async () => {
    await testCluster(cfg).down();
  });
  after(async () => {
    await testCluster(cfg).down();
  });

  test('up in another process that then ends; processes SIGKILLed; down from here removes everything', async () => {
    const { code, out } = await runUpInChild();
    assert.equal(code, 0, out);
    assert.match(out, /READY/);

    const state = readClusterState(`${cfg.root}/state.json`);
    assert.ok(state, 'state file written by the other process');
    const pids = [
      ...state.hosts.flatMap((h) => h.processes.map((p) => p.pid)),
      ...state.processes.map((p) => p.pid),
    ];
    assert.equal(pids.length, 2 + 1 + 1, 'two podman services, an agent, a manager recorded');
    assert.ok(pids.every(isAlive), 'the cluster outlived the process that ran up');

    // the crash: every recorded process dies at once, nothing cleans up
    signal(pids, 'SIGKILL');
    // a multi-threaded Podman takes its time to exit on a loaded machine: wait for it, not for 300 ms
    assert.equal(await eventually(async () => !pids.some(isAlive), 10_000), true, 'every process died');
    assert.notDeepEqual(leftovers(cfg), []);

    // only the root: bridge, subnet and names come from the state file
    const report = await new LocalCluster({ root: cfg.root }).down();
    assert.ok(report.removed.includes('host dcc1') && report.removed.includes('host dcc2'));
    assert.ok(report.removed.includes('bridge lbdcc'), report.removed.join(', '));
    assert.deepEqual(leftovers(cfg), []);
  });

  test('without a state file, down finds the leftovers by their names', async () => {
    const cluster = testCluster(cfg);
    await cluster.up({ nodes: 2, images: false });
    const manager = cluster.spawnInRoot('manager', '/bin/busybox', ['sleep', '600']);
    rmSync(cluster.statePath);
    assert.equal(existsSync(cluster.statePath), false);

    const report = await testCluster(cfg).down();
    assert.ok(
      report.removed.includes('host dcc1') && report.removed.includes('host dcc2'),
      report.removed.join(),
    );
    assert.equal(isAlive(manager.pid), false);
    assert.deepEqual(leftovers(cfg), []);
  });

  test('up refuses to start over leftovers and says how to remove them', async () => {
    const cluster = testCluster(cfg);
    await cluster.up({ nodes: 1, images: false });
    await assert.rejects(testCluster(cfg).up({ nodes: 1, images: false }), { code: 'cluster_exists' });
    rmSync(cluster.statePath);
    await assert.rejects(testCluster(cfg).up({ nodes: 1, images: false }), { code: 'cluster_leftovers' });
    await testCluster(cfg).down();
    assert.deepEqual(leftovers(cfg), []);
  });

  test("down at another root with nothing recorded leaves this cluster alone (a bench's leftover root)", async () => {
    const cluster = testCluster(cfg);
    await cluster.up({ nodes: 1, images: false });
    const manager = cluster.spawnInRoot('manager', '/bin/busybox', ['sleep', '600']);
    const before = leftovers(cfg);
    const elsewhere = '/var/tmp/lbdc-elsewhere';
    rmSync(elsewhere, { recursive: true, force: true });
    // what a bench did at its own root, with no cluster recorded there and no names given
    await new LocalCluster({ root: elsewhere }).down();
    assert.deepEqual(leftovers(cfg), before, 'nothing of this cluster removed');
    assert.equal(isAlive(manager.pid), true, "this cluster's manager still runs");
    // with the names given, it is theirs to sweep, as ever (this cluster's own root directory aside)
    await new LocalCluster({ ...cfg, root: elsewhere }).down();
    assert.deepEqual(
      leftovers(cfg).filter((l) => !l.startsWith(`directory ${cfg.root}`)),
      [],
    );
    assert.equal(isAlive(manager.pid), false);
    await cluster.down();
    assert.deepEqual(leftovers(cfg), []);
  });
});
