import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../util/errors.ts';
import { FIXTURE_SOURCE, fixtureText } from './fixtures/synthetic-archive.ts';
import {
  cgroupParentOf,
  checkTargetPaths,
  rewriteConfigDump,
  rewriteSpecDump,
  storageRootOf,
  type HostPaths,
} from './host-paths.ts';

const ID = FIXTURE_SOURCE.containerId;
const SOURCE = {
  runroot: FIXTURE_SOURCE.runroot,
  graphroot: FIXTURE_SOURCE.graphroot,
  cgroupParent: FIXTURE_SOURCE.cgroupParent,
};
const TARGET: HostPaths = {
  runroot: '/var/lib/lifeboat/n2/run',
  graphroot: '/var/lib/lifeboat/n2/storage',
  cgroupParent: '/lifeboat_n2',
};

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}

describe('storageRootOf / cgroupParentOf', () => {
  test('finds the storage root before <driver>-containers/<id>/userdata', () => {
    assert.equal(
      storageRootOf(`/tmp/lbx/n1/runroot/overlay-containers/${ID}/userdata/conmon.pid`, ID),
      '/tmp/lbx/n1/runroot',
    );
    assert.equal(
      storageRootOf(`/var/lib/containers/storage/vfs-containers/${ID}/userdata`, ID),
      '/var/lib/containers/storage',
    );
    assert.equal(storageRootOf(`/run/user/conmon-${ID}.pid`, ID), undefined);
    assert.equal(storageRootOf(`/x/overlay-containers/other/userdata/pidfile`, ID), undefined);
    assert.equal(storageRootOf(undefined, ID), undefined);
  });

  test('reads the cgroup parent out of linux.cgroupsPath', () => {
    assert.equal(cgroupParentOf(`/lifeboat_n1/libpod-${ID}`, ID), '/lifeboat_n1');
    assert.equal(cgroupParentOf(`machine.slice:libpod:${ID}`, ID), 'machine.slice');
    assert.equal(cgroupParentOf('/somewhere/else', ID), undefined);
  });
});

describe('checkTargetPaths', () => {
  test('accepts absolute paths and slices, trimming trailing slashes', () => {
    assert.deepEqual(checkTargetPaths({ runroot: '/r/', graphroot: '/g', cgroupParent: '/cg/' }), {
      runroot: '/r',
      graphroot: '/g',
      cgroupParent: '/cg',
    });
    assert.equal(
      checkTargetPaths({ ...TARGET, cgroupParent: 'machine.slice' }).cgroupParent,
      'machine.slice',
    );
  });

  test('refuses relative, root, dot-dot and empty paths', () => {
    for (const bad of [
      { ...TARGET, runroot: 'run' },
      { ...TARGET, graphroot: '/' },
      { ...TARGET, graphroot: '/a/../b' },
      { ...TARGET, cgroupParent: '' },
      { ...TARGET, cgroupParent: 'lifeboat_n2' },
    ]) {
      assert.throws(() => checkTargetPaths(bad), ValidationError, JSON.stringify(bad));
    }
  });
});

describe('rewriteConfigDump', () => {
  test('moves every runroot and graphroot path and the cgroup parent to the target', () => {
    const before = fixtureText('config.dump');
    const out = rewriteConfigDump(before, SOURCE, TARGET);
    const cfg = JSON.parse(out.text) as Record<string, unknown>;
    assert.equal(cfg['cgroupParent'], '/lifeboat_n2');
    assert.equal(
      cfg['conmonPidFile'],
      `/var/lib/lifeboat/n2/run/overlay-containers/${ID}/userdata/conmon.pid`,
    );
    assert.equal(cfg['pid_file'], `/var/lib/lifeboat/n2/run/overlay-containers/${ID}/userdata/pidfile`);
    assert.equal(cfg['staticDir'], `/var/lib/lifeboat/n2/storage/overlay-containers/${ID}/userdata`);
    assert.equal(cfg['ShmDir'], `/var/lib/lifeboat/n2/storage/overlay-containers/${ID}/userdata/shm`);
    assert.deepEqual(cfg['mounts'], [`/var/lib/lifeboat/n2/storage/overlay-containers/${ID}/userdata/shm`]);
    assert.ok(!strings(cfg).some((s) => s.includes('/tmp/lbx/n1')), 'no source path is left');
    assert.deepEqual(out.warnings, []);
    assert.equal(out.changed, 8);
    // Everything but the rewritten strings is byte-identical.
    const norm = (s: string): string => s.replace(/"\/[^"]*"/g, '"PATH"').replace('"/lifeboat_n1"', '"PATH"');
    assert.equal(norm(out.text), norm(before));
  });

  test('adds cgroupParent when config.dump has none', () => {
    const text = JSON.stringify(
      { id: ID, name: 'c', staticDir: `/g/overlay-containers/${ID}/userdata` },
      null,
      2,
    );
    const out = rewriteConfigDump(text, { graphroot: '/g' }, TARGET);
    const cfg = JSON.parse(out.text) as Record<string, unknown>;
    assert.equal(cfg['cgroupParent'], '/lifeboat_n2');
    assert.equal(cfg['staticDir'], `/var/lib/lifeboat/n2/storage/overlay-containers/${ID}/userdata`);
  });

  test('replaces the longer root first when one lies inside the other', () => {
    const text = JSON.stringify({ a: '/var/x/run/pid', b: '/var/x/layer', c: '/var/xy/other', d: '/var/x' });
    const out = rewriteConfigDump(text, { graphroot: '/var/x', runroot: '/var/x/run' }, TARGET);
    const cfg = JSON.parse(out.text) as Record<string, unknown>;
    assert.equal(cfg['a'], '/var/lib/lifeboat/n2/run/pid');
    assert.equal(cfg['b'], '/var/lib/lifeboat/n2/storage/layer');
    assert.equal(cfg['c'], '/var/xy/other', 'a path that merely shares a prefix string is left alone');
    assert.equal(cfg['d'], '/var/lib/lifeboat/n2/storage');
  });
});

describe('rewriteSpecDump', () => {
  test('rewrites root.path, mount sources and linux.cgroupsPath', () => {
    const out = rewriteSpecDump(fixtureText('spec.dump'), SOURCE, TARGET);
    const spec = JSON.parse(out.text) as {
      root: { path: string };
      mounts: Array<{ source: string }>;
      linux: { cgroupsPath: string };
    };
    assert.match(spec.root.path, /^\/var\/lib\/lifeboat\/n2\/storage\/overlay\/[0-9a-f]{64}\/merged$/);
    assert.equal(spec.linux.cgroupsPath, `/lifeboat_n2/libpod-${ID}`);
    assert.deepEqual(out.cgroupsPath, { from: `/lifeboat_n1/libpod-${ID}`, to: `/lifeboat_n2/libpod-${ID}` });
    const sources = spec.mounts.map((m) => m.source).filter((s) => s.startsWith('/'));
    assert.equal(sources.length, 5);
    for (const s of sources)
      assert.match(s, /^\/var\/lib\/lifeboat\/n2\/(run|storage)\/overlay-containers\//);
    assert.ok(!out.text.includes('/tmp/lbx/n1') && !out.text.includes('lifeboat_n1'));
  });

  test('rewrites a systemd cgroupsPath', () => {
    const text = JSON.stringify({ linux: { cgroupsPath: `machine.slice:libpod:${ID}` } });
    const out = rewriteSpecDump(
      text,
      { cgroupParent: 'machine.slice' },
      { ...TARGET, cgroupParent: 'lifeboat.slice' },
    );
    assert.equal(
      (JSON.parse(out.text) as { linux: { cgroupsPath: string } }).linux.cgroupsPath,
      `lifeboat.slice:libpod:${ID}`,
    );
  });

  test('warns when cgroupsPath is not under the source cgroup parent', () => {
    const text = JSON.stringify({ linux: { cgroupsPath: `/elsewhere/libpod-${ID}` } });
    const out = rewriteSpecDump(text, SOURCE, TARGET);
    assert.equal(out.changed, 0);
    assert.match(
      out.warnings[0] ?? '',
      /linux\.cgroupsPath .* not under the source cgroup parent "\/lifeboat_n1"/,
    );
  });
});
