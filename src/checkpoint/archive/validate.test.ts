import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { HostileArchiveError, type ArchiveRule } from './errors.ts';
import {
  buildCheckpointArchive,
  checkpointMembers,
  chunked,
  FIXTURE_SOURCE,
  packMembers,
  SAMPLE_ROOTFS_DIFF,
  type CheckpointArchiveOptions,
  type SyntheticMember,
} from './fixtures/synthetic-archive.ts';
import type { ArchiveLimits } from './limits.ts';
import { validateArchive } from './validate.ts';

async function expectRejected(
  archive: Buffer,
  rule: ArchiveRule,
  message: RegExp,
  limits?: Partial<ArchiveLimits>,
): Promise<HostileArchiveError> {
  let caught: unknown;
  try {
    await validateArchive(chunked(archive, 1500), limits);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HostileArchiveError, `expected HostileArchiveError, got ${String(caught)}`);
  assert.equal(caught.code, 'archive_rejected');
  assert.equal(caught.status, 400);
  assert.equal(caught.rule, rule, caught.message);
  assert.match(caught.message, message);
  return caught;
}

const withExtra = (extra: SyntheticMember[], opts: CheckpointArchiveOptions = {}): Promise<Buffer> =>
  buildCheckpointArchive({ ...opts, extra });

describe('validateArchive: valid archives', () => {
  test('reports what a Podman-shaped checkpoint holds', async () => {
    const archive = await buildCheckpointArchive({
      rootfsDiff: SAMPLE_ROOTFS_DIFF,
      deletedFiles: ['/etc/issue', '/var/cache'],
    });
    const info = await validateArchive(chunked(archive, 777));
    assert.equal(info.containerName, FIXTURE_SOURCE.containerName);
    assert.equal(info.containerId, FIXTURE_SOURCE.containerId);
    assert.equal(info.imageId, FIXTURE_SOURCE.imageId);
    assert.equal(info.imageName, FIXTURE_SOURCE.imageName);
    assert.equal(info.cgroupParent, '/lifeboat_n1');
    assert.equal(info.runroot, '/tmp/lbx/n1/runroot');
    assert.equal(info.graphroot, '/tmp/lbx/n1/storage');
    assert.equal(info.kind, 'checkpoint');
    assert.equal(info.tcpEstablished, false);
    assert.equal(info.withPrevious, false);
    assert.equal(info.memberCount, 14);
    assert.equal(info.archiveBytes, archive.length);
    assert.equal(info.hasRootfsDiff, true);
    assert.equal(info.deletedFiles, 2);
    assert.deepEqual(info.rootfsDiff?.symlinks, [
      { path: 'data/current', target: '/data/counter' },
      { path: 'data/previous', target: '../etc/motd' },
    ]);
    assert.equal(info.rootfsDiff?.absoluteSymlinkCount, 1);
    assert.equal(info.rootfsDiff?.entries, SAMPLE_ROOTFS_DIFF.length);
    assert.equal(info.dumpStats?.pagesWritten, 35);
    assert.equal(info.dumpStats?.frozenTimeUs, 168069);
    assert.deepEqual(info.warnings, []);
    const sizes = (
      await checkpointMembers({ rootfsDiff: SAMPLE_ROOTFS_DIFF, deletedFiles: ['/etc/issue', '/var/cache'] })
    ).reduce((n, m) => n + (m.body === undefined ? 0 : Buffer.byteLength(m.body)), 0);
    assert.equal(info.totalBytes, sizes);
  });

  test('accepts a Node Readable and the archive without a rootfs diff', async () => {
    const info = await validateArchive(Readable.from(chunked(await buildCheckpointArchive(), 65536)));
    assert.equal(info.hasRootfsDiff, false);
    assert.equal(info.rootfsDiff, undefined);
  });

  test('spots dumped TCP connections, volumes and --with-previous dumps', async () => {
    const volume = await packMembers([
      { name: './', type: 'directory' },
      { name: './dump.rdb', body: 'x' },
    ]);
    const archive = await withExtra([
      { name: 'checkpoint/tcp-stream-1a2b.img', body: 'x' },
      { name: 'checkpoint/parent', type: 'symlink', linkname: '../pre-checkpoint' },
      { name: 'volumes/', type: 'directory' },
      { name: 'volumes/redis-data.tar', body: volume },
    ]);
    const info = await validateArchive(chunked(archive));
    assert.equal(info.tcpEstablished, true);
    assert.equal(info.withPrevious, true);
    assert.deepEqual(info.volumes, ['redis-data']);
  });

  test('accepts ./-prefixed names and names long enough for pax headers', async () => {
    const long = `volumes/${'v'.repeat(120)}.tar`;
    const members = (await checkpointMembers()).map((m) =>
      m.name === 'spec.dump' ? { ...m, name: './spec.dump' } : m,
    );
    members.push({ name: long, body: await packMembers([{ name: 'a', body: 'b' }]) });
    const info = await validateArchive(chunked(await packMembers(members)));
    assert.deepEqual(info.volumes, ['v'.repeat(120)]);
  });

  test('keeps going with a warning when stats-dump is unreadable', async () => {
    const info = await validateArchive(
      chunked(await buildCheckpointArchive({ bodies: { 'stats-dump': 'garbage!!!!!!!' } })),
    );
    assert.equal(info.dumpStats, undefined);
    assert.match(info.warnings[0] ?? '', /stats-dump ignored: .*bad image magic/);
  });
});

describe('validateArchive: hostile archives', () => {
  test('a ../etc/passwd member', async () => {
    await expectRejected(
      await withExtra([{ name: '../etc/passwd', body: 'root::0:0::/:/bin/sh\n' }]),
      'dot-dot',
      /member "\.\.\/etc\/passwd": member name has a "\.\." component/,
    );
    await expectRejected(
      await withExtra([{ name: 'checkpoint/../../x', body: '' }]),
      'dot-dot',
      /"checkpoint\/\.\.\/\.\.\/x"/,
    );
  });

  test('an absolute /etc/passwd member', async () => {
    await expectRejected(
      await withExtra([{ name: '/etc/passwd', body: 'x' }]),
      'absolute-path',
      /member "\/etc\/passwd": member name is an absolute path/,
    );
  });

  test('a symlink member to /etc', async () => {
    await expectRejected(
      await withExtra([{ name: 'artifacts/etc', type: 'symlink', linkname: '/etc' }]),
      'symlink-member',
      /member "artifacts\/etc": symbolic link \(to "\/etc"\) not allowed/,
    );
    await expectRejected(
      await withExtra([{ name: 'checkpoint/parent', type: 'symlink', linkname: '/etc' }]),
      'symlink-member',
      /checkpoint\/parent/,
    );
  });

  test('a hardlink member', async () => {
    await expectRejected(
      await withExtra([{ name: 'artifacts/shadow', type: 'link', linkname: 'config.dump' }]),
      'hardlink-member',
      /member "artifacts\/shadow": hard link \(to "config\.dump"\) not allowed/,
    );
  });

  test('device and fifo members', async () => {
    await expectRejected(
      await withExtra([{ name: 'artifacts/mem', type: 'character-device' }]),
      'special-member',
      /"artifacts\/mem": member of type character-device not allowed/,
    );
    await expectRejected(
      await withExtra([{ name: 'artifacts/sda', type: 'block-device' }]),
      'special-member',
      /block-device/,
    );
    await expectRejected(
      await withExtra([{ name: 'artifacts/pipe', type: 'fifo' }]),
      'special-member',
      /fifo/,
    );
  });

  test('an unexpected member', async () => {
    await expectRejected(
      await withExtra([{ name: 'evil.sh', body: '#!/bin/sh\n' }]),
      'unexpected-member',
      /member "evil\.sh": not a member Podman writes/,
    );
    await expectRejected(
      await withExtra([{ name: 'checkpoint/run.sh', body: 'x' }]),
      'unexpected-member',
      /"checkpoint\/run\.sh"/,
    );
    await expectRejected(
      await withExtra([{ name: 'checkpoint/sub/', type: 'directory' }]),
      'unexpected-member',
      /"checkpoint\/sub\/"/,
    );
    await expectRejected(
      await withExtra([{ name: 'config.dump/', type: 'directory' }], { omit: ['config.dump'] }),
      'unexpected-member',
      /must be a regular file/,
    );
  });

  test('an oversized config.dump (refused from its header)', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024 + 1, 0x20);
    await expectRejected(
      await buildCheckpointArchive({ bodies: { 'config.dump': big } }),
      'oversize',
      /member "config\.dump": 8388609 bytes exceeds the 8388608-byte limit/,
    );
    // With a lower limit config.dump, the first metadata member, is the one named.
    await expectRejected(
      await buildCheckpointArchive(),
      'oversize',
      /"config\.dump": 18365 bytes exceeds the 1000-byte limit/,
      { maxMetadataBytes: 1000 },
    );
  });

  test('members adding up to more than the total limit', async () => {
    await expectRejected(
      await buildCheckpointArchive(),
      'total-size',
      /"checkpoint\/pages-1\.img": members add up to more than the 50000-byte limit/,
      { maxTotalBytes: 50_000 },
    );
  });

  test('too many members', async () => {
    await expectRejected(await buildCheckpointArchive(), 'too-many-members', /more than 5 members/, {
      maxMembers: 5,
    });
  });

  test('a duplicate member', async () => {
    await expectRejected(
      await withExtra([{ name: './config.dump', body: '{}' }]),
      'duplicate-member',
      /member "\.\/config\.dump": appears more than once/,
    );
  });

  test('a NUL byte in a member name', async () => {
    await expectRejected(
      await withExtra([{ name: 'artifacts/x', body: 'x', pax: { path: 'artifacts/x\0/../../etc' } }]),
      'nul-byte',
      /contains a NUL byte/,
    );
  });

  test('a truncated archive', async () => {
    const archive = await buildCheckpointArchive();
    await expectRejected(
      archive.subarray(0, 40_000),
      'truncated',
      /ends in the middle of a member \(premature end\)/,
    );
    // Cut exactly after a member: only the missing end-of-archive blocks tell.
    const members = await checkpointMembers();
    const head = await packMembers(members.slice(0, 10));
    await expectRejected(
      head.subarray(0, head.length - 1024),
      'truncated',
      /without its end-of-archive blocks/,
    );
  });

  test('an empty input, garbage and a gzip-compressed archive', async () => {
    await expectRejected(Buffer.alloc(0), 'not-tar', /empty input/);
    await expectRejected(Buffer.alloc(2048, 0x41), 'not-tar', /not an uncompressed tar/);
    await expectRejected(gzipSync(await buildCheckpointArchive()), 'not-tar', /not an uncompressed tar/);
  });

  test('config.dump or spec.dump that is not JSON', async () => {
    await expectRejected(
      await buildCheckpointArchive({ bodies: { 'config.dump': 'not json' } }),
      'invalid-json',
      /member "config\.dump": not valid JSON/,
    );
    await expectRejected(
      await buildCheckpointArchive({ bodies: { 'spec.dump': '[1, 2]' } }),
      'invalid-json',
      /member "spec\.dump": JSON document is not an object/,
    );
    await expectRejected(
      await buildCheckpointArchive({ bodies: { 'config.dump': '{"name": "x"}' } }),
      'invalid-json',
      /lacks the container "id" and "name"/,
    );
  });

  test('required members missing', async () => {
    await expectRejected(
      await buildCheckpointArchive({ omit: ['spec.dump'] }),
      'missing-member',
      /member "spec\.dump": required member is missing/,
    );
    await expectRejected(
      await buildCheckpointArchive({ omit: ['checkpoint/inventory.img'] }),
      'missing-member',
      /checkpoint\/inventory\.img/,
    );
  });

  test('a nested rootfs-diff.tar with a ../ member', async () => {
    const err = await expectRejected(
      await buildCheckpointArchive({
        rootfsDiff: [...SAMPLE_ROOTFS_DIFF, { name: '../../../etc/cron.d/x', body: '* * * * * root sh\n' }],
      }),
      'dot-dot',
      /member "\.\.\/\.\.\/\.\.\/etc\/cron\.d\/x" inside "rootfs-diff\.tar": member name has a "\.\." component/,
    );
    assert.equal(err.inside, 'rootfs-diff.tar');
  });

  test('nested hard links that leave the tree', async () => {
    await expectRejected(
      await buildCheckpointArchive({
        rootfsDiff: [{ name: 'x', type: 'link', linkname: '../../etc/shadow' }],
      }),
      'link-escape',
      /hard link target "\.\.\/\.\.\/etc\/shadow" escapes the tree/,
    );
    await expectRejected(
      await buildCheckpointArchive({ rootfsDiff: [{ name: 'x', type: 'link', linkname: '/etc/shadow' }] }),
      'link-escape',
      /inside "rootfs-diff\.tar"/,
    );
  });

  test('nested members written through a planted symlink', async () => {
    const plant: SyntheticMember = { name: 'escape', type: 'symlink', linkname: '/' };
    await expectRejected(
      await buildCheckpointArchive({ rootfsDiff: [plant, { name: 'escape/etc/passwd', body: 'x' }] }),
      'through-symlink',
      /lies beneath "escape", a symlink set earlier/,
    );
    await expectRejected(
      await buildCheckpointArchive({
        rootfsDiff: [plant, { name: 'h', type: 'link', linkname: 'escape/etc/shadow' }],
      }),
      'through-symlink',
      /hard link target lies beneath "escape"/,
    );
  });

  test('hostile volume and /dev/shm tars are refused too', async () => {
    const bad = await packMembers([{ name: '../x', body: 'x' }]);
    await expectRejected(
      await withExtra([{ name: 'volumes/data.tar', body: bad }]),
      'dot-dot',
      /inside "volumes\/data\.tar"/,
    );
    await expectRejected(
      await buildCheckpointArchive({ bodies: { 'devshm-checkpoint.tar': bad } }),
      'dot-dot',
      /inside "devshm-checkpoint\.tar"/,
    );
    const cut = await packMembers([{ name: 'a', body: Buffer.alloc(5000) }]);
    await expectRejected(
      await buildCheckpointArchive({ rootfsDiff: [], bodies: { 'rootfs-diff.tar': cut.subarray(0, 3072) } }),
      'truncated',
      /inside "rootfs-diff\.tar"/,
    );
  });

  test('deleted.files entries that would delete host files', async () => {
    await expectRejected(
      await buildCheckpointArchive({ deletedFiles: ['/etc/motd', '/../../../etc/passwd'] }),
      'deleted-files-escape',
      /entry "\/\.\.\/\.\.\/\.\.\/etc\/passwd" would delete outside/,
    );
    await expectRejected(
      await buildCheckpointArchive({
        rootfsDiff: [{ name: 'link', type: 'symlink', linkname: '/' }],
        deletedFiles: ['/link/etc/passwd'],
      }),
      'deleted-files-escape',
      /lies beneath "link", a symlink in rootfs-diff\.tar/,
    );
    await expectRejected(
      await buildCheckpointArchive({ bodies: {}, extra: [{ name: 'deleted.files', body: '{"a": 1}' }] }),
      'invalid-json',
      /not a JSON list of paths/,
    );
  });

  test('the input stream is destroyed when the archive is refused', async () => {
    const input = Readable.from(chunked(await withExtra([{ name: '/etc/passwd', body: 'x' }]), 512));
    await assert.rejects(validateArchive(input), HostileArchiveError);
    assert.equal(input.destroyed, true);
  });
});
