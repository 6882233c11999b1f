import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Header } from 'tar-stream';
import { HostileArchiveError } from './errors.ts';
import { DEFAULT_ARCHIVE_LIMITS } from './limits.ts';
import { checkNestedMember, classifyOuterMember, normalizeMemberName } from './member-policy.ts';

function header(name: string, type: Header['type'] = 'file', extra: Partial<Header> = {}): Header {
  return {
    name,
    type,
    size: 10,
    mode: 0o644,
    mtime: new Date(0),
    linkname: '',
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
    ...extra,
  };
}

const role = (name: string, type: Header['type'] = 'file', extra: Partial<Header> = {}): string =>
  classifyOuterMember(header(name, type, extra), DEFAULT_ARCHIVE_LIMITS).role;

describe('normalizeMemberName', () => {
  test('drops ./ prefixes and trailing slashes', () => {
    assert.equal(normalizeMemberName('./checkpoint/'), 'checkpoint');
    assert.equal(normalizeMemberName('././config.dump'), 'config.dump');
    assert.equal(normalizeMemberName('./'), '');
    assert.equal(normalizeMemberName('.'), '');
  });
});

describe('classifyOuterMember', () => {
  test('knows every member Podman writes', () => {
    assert.equal(role('config.dump'), 'config-dump');
    assert.equal(role('spec.dump'), 'spec-dump');
    assert.equal(role('deleted.files'), 'deleted-files');
    assert.equal(role('stats-dump'), 'stats-dump');
    for (const name of [
      'network.status',
      'bind.mounts',
      'pod.options',
      'pod.dump',
      'checkpoint/descriptors.json',
    ]) {
      assert.equal(role(name), 'metadata', name);
    }
    for (const name of ['rootfs-diff.tar', 'devshm-checkpoint.tar', 'volumes/my_vol-1.2.tar'])
      assert.equal(role(name), 'nested-tar', name);
    for (const name of [
      'ctr.log',
      'checkpoint/pages-1.img',
      'checkpoint/tmpfs-dev-43.tar.gz.img',
      'checkpoint/irmap-cache',
      'pre-checkpoint/pagemap-1.img',
      'artifacts/anything',
    ]) {
      assert.equal(role(name), 'blob', name);
    }
    for (const name of ['artifacts/', 'checkpoint/', 'pre-checkpoint', 'volumes/', './'])
      assert.equal(role(name, 'directory'), 'directory', name);
    assert.equal(role('checkpoint/parent', 'symlink', { linkname: '../pre-checkpoint' }), 'parent-link');
  });

  test('refuses everything else', () => {
    const refused: Array<[string, Header['type'], Partial<Header>?]> = [
      ['config.json', 'file'],
      ['checkpoint/pages-1.img.sh', 'file'],
      ['checkpoint/x/pages-1.img', 'file'],
      ['volumes/a/b.tar', 'file'],
      ['volumes/.hidden.tar', 'file'],
      ['artifacts/a/b', 'file'],
      ['artifacts/.x', 'file'],
      ['checkpoint', 'file'],
      ['spec.dump', 'directory'],
      ['checkpoint/inventory.img', 'contiguous-file'],
      ['pre-checkpoint/parent', 'symlink', { linkname: '../pre-checkpoint' }],
      ['checkpoint/parent', 'symlink', { linkname: '../../pre-checkpoint' }],
    ];
    for (const [name, type, extra] of refused) {
      assert.throws(() => role(name, type, extra), HostileArchiveError, `${name} (${type})`);
    }
  });

  test('bounds metadata members by header size, not other members', () => {
    const limits = { ...DEFAULT_ARCHIVE_LIMITS, maxMetadataBytes: 100 };
    assert.throws(
      () => classifyOuterMember(header('network.status', 'file', { size: 101 }), limits),
      /101 bytes exceeds the 100-byte limit/,
    );
    assert.equal(
      classifyOuterMember(header('checkpoint/pages-1.img', 'file', { size: 10_000 }), limits).role,
      'blob',
    );
  });
});

describe('checkNestedMember', () => {
  test('allows absolute and relative symlinks and records them', () => {
    const links = new Set<string>();
    assert.equal(
      checkNestedMember(
        header('./usr/bin/sh', 'symlink', { linkname: '/bin/busybox' }),
        'rootfs-diff.tar',
        links,
      ),
      '/bin/busybox',
    );
    assert.equal(
      checkNestedMember(header('lib', 'symlink', { linkname: 'usr/lib' }), 'rootfs-diff.tar', links),
      'usr/lib',
    );
    assert.deepEqual([...links], ['usr/bin/sh', 'lib']);
    assert.equal(checkNestedMember(header('usr/bin/ls'), 'rootfs-diff.tar', links), undefined);
    assert.equal(
      checkNestedMember(header('dev/null', 'character-device'), 'rootfs-diff.tar', links),
      undefined,
    );
  });

  test('refuses escapes', () => {
    const links = new Set(['lib']);
    const cases: Array<[Header, string]> = [
      [header('a/../../b'), 'dot-dot'],
      [header('/etc/passwd'), 'absolute-path'],
      [header('x', 'link', { linkname: '/etc/shadow' }), 'link-escape'],
      [header('x', 'link', { linkname: 'a/../../../etc/shadow' }), 'link-escape'],
      [header('lib/libc.so'), 'through-symlink'],
      [header('./lib/x/y'), 'through-symlink'],
      [header('x', 'link', { linkname: 'lib/libc.so' }), 'through-symlink'],
      [header('x\0y'), 'nul-byte'],
    ];
    for (const [h, rule] of cases) {
      assert.throws(
        () => checkNestedMember(h, 'rootfs-diff.tar', links),
        (err: unknown) =>
          err instanceof HostileArchiveError && err.rule === rule && err.inside === 'rootfs-diff.tar',
        `${h.name} -> ${rule}`,
      );
    }
  });
});
