import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { ValidationError } from '../../util/errors.ts';
import { ArchiveRewriteError, HostileArchiveError } from './errors.ts';
import {
  buildCheckpointArchive,
  checkpointMembers,
  chunked,
  FIXTURE_SOURCE,
  packMembers,
  SAMPLE_ROOTFS_DIFF,
  type SyntheticMember,
} from './fixtures/synthetic-archive.ts';
import { rewriteArchive, type RewriteTarget } from './rewrite.ts';
import { drainedOrClosed } from './tar-scanner.ts';
import { validateArchive } from './validate.ts';

const TARGET: RewriteTarget = {
  runroot: '/var/lib/lifeboat/node2/run',
  graphroot: '/var/lib/lifeboat/node2/storage',
  cgroupParent: '/lifeboat_node2',
};
const ID = FIXTURE_SOURCE.containerId;

interface ReadMember {
  header: Header;
  sha256: string;
  size: number;
  text?: string;
}

/** Reads a tar stream, hashing members as they pass (nothing large is kept). */
async function readMembers(
  input: AsyncIterable<unknown>,
  keepText: (name: string) => boolean = () => false,
): Promise<ReadMember[]> {
  const extract = tar.extract();
  const out: ReadMember[] = [];
  const consume = (async () => {
    for await (const entry of extract) {
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      let size = 0;
      for await (const chunk of entry) {
        const buf = chunk as Buffer;
        hash.update(buf);
        size += buf.length;
        if (keepText(entry.header.name)) kept.push(buf);
      }
      out.push({
        header: entry.header,
        sha256: hash.digest('hex'),
        size,
        ...(keepText(entry.header.name) ? { text: Buffer.concat(kept).toString('utf8') } : {}),
      });
    }
  })();
  for await (const chunk of input) {
    if (!extract.write(chunk)) await drainedOrClosed(extract);
  }
  extract.end(undefined);
  await consume;
  return out;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const isDump = (name: string): boolean => name === 'config.dump' || name === 'spec.dump';

describe('rewriteArchive', () => {
  test('round-trips an archive: dumps rewritten, every other member byte-identical, order/modes/mtimes kept', async () => {
    const volume = await packMembers([
      { name: './', type: 'directory' },
      { name: './data', body: 'v' },
    ]);
    const longName = `volumes/${'long-volume-name-'.repeat(8)}.tar`;
    const extra: SyntheticMember[] = [
      { name: 'volumes/', type: 'directory', mode: 0o700 },
      { name: longName, body: volume, mtime: new Date('2025-01-02T03:04:05Z') },
      { name: 'artifacts/zero-mode', body: 'x', mode: 0 },
      { name: 'checkpoint/parent', type: 'symlink', linkname: '../pre-checkpoint', mode: 0o777 },
    ];
    const input = await buildCheckpointArchive({
      rootfsDiff: SAMPLE_ROOTFS_DIFF,
      deletedFiles: ['/etc/issue'],
      extra,
      pagesSize: 300_000,
    });
    const { output, info } = rewriteArchive(chunked(input, 3000), TARGET);
    const rewritten = await collect(output);
    const summary = await info;

    const before = await readMembers(chunked(input), isDump);
    const after = await readMembers(chunked(rewritten), isDump);
    assert.deepEqual(
      after.map((m) => m.header.name),
      before.map((m) => m.header.name),
    );
    assert.ok(
      after.some((m) => m.header.name === longName),
      'a pax-length name survives',
    );
    for (const [i, a] of after.entries()) {
      const b = before[i]!;
      const name = b.header.name;
      assert.equal(a.header.type, b.header.type, name);
      assert.equal(a.header.mode & 0o7777, b.header.mode & 0o7777, `${name} mode`);
      assert.equal(a.header.mtime.getTime(), b.header.mtime.getTime(), `${name} mtime`);
      assert.equal(a.header.uid, b.header.uid);
      assert.equal(a.header.gname, b.header.gname);
      assert.equal(a.header.linkname, b.header.linkname);
      if (!isDump(name)) assert.equal(a.sha256, b.sha256, `${name} is byte-identical`);
    }

    const cfg = JSON.parse(after.find((m) => m.header.name === 'config.dump')!.text!) as Record<
      string,
      unknown
    >;
    const spec = JSON.parse(after.find((m) => m.header.name === 'spec.dump')!.text!) as {
      root: { path: string };
      linux: { cgroupsPath: string };
    };
    assert.equal(cfg['cgroupParent'], '/lifeboat_node2');
    assert.equal(
      cfg['conmonPidFile'],
      `/var/lib/lifeboat/node2/run/overlay-containers/${ID}/userdata/conmon.pid`,
    );
    assert.equal(cfg['staticDir'], `/var/lib/lifeboat/node2/storage/overlay-containers/${ID}/userdata`);
    assert.equal(spec.linux.cgroupsPath, `/lifeboat_node2/libpod-${ID}`);
    assert.match(spec.root.path, /^\/var\/lib\/lifeboat\/node2\/storage\/overlay\//);
    for (const m of after.filter((x) => isDump(x.header.name))) {
      assert.ok(
        !m.text!.includes('/tmp/lbx/n1') && !m.text!.includes('lifeboat_n1'),
        `${m.header.name} keeps no source path`,
      );
    }

    assert.equal(summary.containerId, ID);
    assert.equal(summary.runroot, FIXTURE_SOURCE.runroot, 'info describes the input archive');
    assert.deepEqual(summary.rewrite.source, {
      runroot: FIXTURE_SOURCE.runroot,
      graphroot: FIXTURE_SOURCE.graphroot,
      cgroupParent: FIXTURE_SOURCE.cgroupParent,
    });
    assert.equal(summary.rewrite.configStringsChanged, 8);
    assert.equal(summary.rewrite.specStringsChanged, 7);
    assert.deepEqual(summary.rewrite.cgroupsPath, {
      from: `/lifeboat_n1/libpod-${ID}`,
      to: `/lifeboat_node2/libpod-${ID}`,
    });
    assert.deepEqual(summary.warnings, []);

    const again = await validateArchive(chunked(rewritten));
    assert.equal(again.runroot, TARGET.runroot);
    assert.equal(again.graphroot, TARGET.graphroot);
    assert.equal(again.cgroupParent, TARGET.cgroupParent);
    assert.equal(again.memberCount, summary.memberCount);
  });

  test(
    'writes a tar GNU tar reads',
    { skip: spawnSync('tar', ['--version']).status !== 0 && 'no tar binary' },
    async () => {
      const input = await buildCheckpointArchive({ rootfsDiff: SAMPLE_ROOTFS_DIFF });
      const { output } = rewriteArchive(chunked(input), TARGET);
      const listed = spawnSync('tar', ['-tf', '-'], { input: await collect(output), encoding: 'utf8' });
      assert.equal(listed.status, 0, listed.stderr);
      const names = (await checkpointMembers({ rootfsDiff: SAMPLE_ROOTFS_DIFF })).map((m) => m.name);
      assert.deepEqual(listed.stdout.trim().split('\n'), names);
    },
  );

  test(
    'rewrites a real Podman checkpoint (when the sample is on this machine)',
    { skip: !existsSync('/tmp/lifeboat-samples/redis-checkpoint.tar') && 'no sample archive' },
    async () => {
      const path = '/tmp/lifeboat-samples/redis-checkpoint.tar';
      const { output, info } = rewriteArchive(createReadStream(path), TARGET);
      const after = await readMembers(output, isDump);
      const before = await readMembers(createReadStream(path));
      assert.deepEqual(
        after.map((m) => m.header.name),
        before.map((m) => m.header.name),
      );
      for (const [i, a] of after.entries()) {
        if (!isDump(a.header.name)) assert.equal(a.sha256, before[i]!.sha256, a.header.name);
      }
      const spec = JSON.parse(after.find((m) => m.header.name === 'spec.dump')!.text!) as {
        linux: { cgroupsPath: string };
      };
      assert.match(spec.linux.cgroupsPath, /^\/lifeboat_node2\/libpod-[0-9a-f]{64}$/);
      assert.equal((await info).rewrite.cgroupsPath?.to, spec.linux.cgroupsPath);
    },
  );

  test('refuses hostile input: output errors and info rejects with the same error', async () => {
    const input = await buildCheckpointArchive({ extra: [{ name: '../etc/passwd', body: 'x' }] });
    const { output, info } = rewriteArchive(chunked(input), TARGET);
    await assert.rejects(
      collect(output),
      (err: unknown) => err instanceof HostileArchiveError && err.rule === 'dot-dot',
    );
    await assert.rejects(
      info,
      (err: unknown) => err instanceof HostileArchiveError && /"\.\.\/etc\/passwd"/.test(err.message),
    );
  });

  test('refuses a nested rootfs-diff.tar escape during rewrite', async () => {
    const input = await buildCheckpointArchive({ rootfsDiff: [{ name: 'a/../../x', body: 'x' }] });
    const { output, info } = rewriteArchive(chunked(input), TARGET);
    await assert.rejects(collect(output), HostileArchiveError);
    await assert.rejects(
      info,
      (err: unknown) => err instanceof HostileArchiveError && err.inside === 'rootfs-diff.tar',
    );
  });

  test('needs the source paths when spec.dump comes before config.dump', async () => {
    const members = await checkpointMembers();
    const config = members.findIndex((m) => m.name === 'config.dump');
    const spec = members.findIndex((m) => m.name === 'spec.dump');
    [members[config], members[spec]] = [members[spec]!, members[config]!];
    const input = await packMembers(members);

    const bare = rewriteArchive(chunked(input), TARGET);
    await assert.rejects(collect(bare.output), ArchiveRewriteError);
    await assert.rejects(bare.info, /spec\.dump comes before config\.dump/);

    const known = await validateArchive(chunked(input));
    const source = {
      runroot: known.runroot!,
      graphroot: known.graphroot!,
      cgroupParent: known.cgroupParent!,
    };
    const withSource = rewriteArchive(chunked(input), TARGET, { source });
    const after = await readMembers(withSource.output, isDump);
    assert.match(
      after.find((m) => m.header.name === 'spec.dump')!.text!,
      /"cgroupsPath": "\/lifeboat_node2\/libpod-/,
    );
    assert.equal((await withSource.info).rewrite.specStringsChanged, 7);
  });

  test('refuses a bad target before reading anything', () => {
    assert.throws(
      () => rewriteArchive(chunked(Buffer.alloc(0)), { ...TARGET, runroot: 'relative' }),
      ValidationError,
    );
  });

  test('stops and destroys the input when the output is abandoned', async () => {
    const input = Readable.from(chunked(await buildCheckpointArchive({ pagesSize: 4 * 1024 * 1024 }), 16384));
    const { output, info } = rewriteArchive(input, TARGET);
    for await (const _chunk of output) break;
    await assert.rejects(info, ArchiveRewriteError);
    assert.equal(input.destroyed, true);
  });

  test('streams a large CRIU image through without holding it in memory', async () => {
    const big = 96 * 1024 * 1024;
    const source = tar.pack();
    let produced = 0;
    const produce = (async () => {
      for (const m of await checkpointMembers({ omit: ['checkpoint/pages-1.img'] })) {
        const body = typeof m.body === 'string' ? Buffer.from(m.body) : m.body;
        const header = {
          name: m.name,
          type: m.type ?? 'file',
          mode: m.mode ?? 0o644,
          mtime: new Date(0),
        } as const;
        if (header.type === 'file') source.entry(header, body ?? Buffer.alloc(0));
        else source.entry(header);
      }
      const sink = source.entry({
        name: 'checkpoint/pages-1.img',
        size: big,
        mode: 0o644,
        mtime: new Date(0),
      });
      const block = Buffer.alloc(1024 * 1024, 0xab);
      while (produced < big) {
        if (!sink.write(block)) await drainedOrClosed(sink);
        produced += block.length;
      }
      sink.end(undefined);
      source.finalize();
    })();

    const { output, info } = rewriteArchive(source as AsyncIterable<Uint8Array>, TARGET);
    // How far the producer may run ahead of the consumer: a rewrite that held
    // the member would let it finish (96 MiB) before any of it came out.
    let consumed = 0;
    let maxLead = 0;
    const measured = (async function* () {
      for await (const chunk of output) {
        consumed += (chunk as Buffer).length;
        maxLead = Math.max(maxLead, produced - consumed);
        yield chunk as Buffer;
      }
    })();
    const members = await readMembers(measured);
    await produce;
    const pages = members.find((m) => m.header.name === 'checkpoint/pages-1.img');
    assert.equal(pages?.size, big);
    const expected = createHash('sha256');
    for (let i = 0; i < big / (1024 * 1024); i++) expected.update(Buffer.alloc(1024 * 1024, 0xab));
    assert.equal(pages?.sha256, expected.digest('hex'));
    assert.ok(maxLead < 16 * 1024 * 1024, `producer ran ${Math.round(maxLead / 1048576)} MiB ahead`);
    assert.ok((await info).totalBytes > big);
  });
});
