import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ValidationError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import { ArchiveIntegrityError, ClusterKey, Keyring } from '../crypto/index.ts';
import { collect, randomSource } from '../crypto/test-helpers.ts';
import { CheckpointStore } from './checkpoint-store.ts';
import {
  CheckpointExistsError,
  CheckpointNotFoundError,
  StoreConfigError,
  UnencryptedArchiveError,
} from './errors.ts';

const quiet = createLogger('test', () => undefined);
const keyA = new ClusterKey(randomBytes(32));
const keyB = new ClusterKey(randomBytes(32));
const chunkSize = 4096;

function bytes(n: number): Readable {
  return Readable.from([randomBytes(n)]);
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Rewrites a stored archive and makes its manifest agree, as an attacker with storage access could. */
async function tamper(
  root: string,
  c: string,
  g: number,
  v: number,
  edit: (b: Buffer) => Buffer,
): Promise<void> {
  const archive = join(root, c, String(g), `${v}.lbx`);
  const data = edit(await readFile(archive));
  await writeFile(archive, data);
  const mpath = join(root, c, String(g), `${v}.json`);
  const m = JSON.parse(await readFile(mpath, 'utf8')) as Record<string, unknown>;
  await writeFile(mpath, JSON.stringify({ ...m, size: data.length, sha256: await sha256File(archive) }));
}

async function integrityError(p: Promise<unknown>): Promise<ArchiveIntegrityError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ArchiveIntegrityError, `expected ArchiveIntegrityError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an ArchiveIntegrityError');
}

describe('CheckpointStore', () => {
  let base = '';
  let n = 0;
  /** A fresh root per test, so tests do not see each other's versions. */
  const fresh = async (opts: { keyring?: Keyring; encrypt?: boolean; acceptPlain?: boolean } = {}) => {
    const root = join(base, `root${n++}`);
    const store = new CheckpointStore({
      root,
      chunkSize,
      logger: quiet,
      keyring: new Keyring(keyA),
      ...opts,
    });
    return { root, store };
  };

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'lifeboat-cpstore-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('streams a multi-MB checkpoint in and out, encrypted, with a complete manifest', async () => {
    const { root, store } = await fresh();
    const total = 6 * 1024 * 1024 + 333;
    const sent = createHash('sha256');
    const m = await store.write('web', { group: 0, version: 0 }, randomSource(total, 50_000, sent), {
      node: 'node1',
      criu: { frozen_time: 250000, pages_written: 1234 },
      note: 'pre-dump skipped: kernel lacks soft-dirty memory tracking',
    });
    const archive = join(root, 'web', '0', '0.lbx');
    assert.equal(m.container, 'web');
    assert.equal(m.group, 0);
    assert.equal(m.version, 0);
    assert.equal(m.kind, 'full');
    assert.equal(m.parent, undefined);
    assert.equal(m.plainSize, total);
    assert.equal(m.size, (await stat(archive)).size);
    assert.ok(m.size > total);
    assert.equal(m.sha256, await sha256File(archive));
    assert.equal(m.encrypted, true);
    assert.equal(m.keyId, keyA.id);
    assert.equal(m.node, 'node1');
    assert.equal(m.criu?.['pages_written'], 1234);
    assert.match(m.note ?? '', /soft-dirty/);
    assert.ok(Math.abs(Date.parse(m.createdAt) - Date.now()) < 60_000);
    assert.deepEqual(JSON.parse(await readFile(join(root, 'web', '0', '0.json'), 'utf8')), m);
    assert.equal((await stat(archive)).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, 'web', '0', '0.json'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, 'web', '0'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(root, 'web'))).mode & 0o777, 0o700);
    assert.deepEqual((await readdir(join(root, 'web', '0'))).sort(), ['0.json', '0.lbx']);

    const received = createHash('sha256');
    let got = 0;
    for await (const piece of await store.open('web', { group: 0, version: 0 })) {
      received.update(piece as Buffer);
      got += (piece as Buffer).length;
    }
    assert.equal(got, total);
    assert.equal(received.digest('hex'), sent.digest('hex'));
    assert.equal((await store.verify('web', { group: 0, version: 0 }, { deep: true })).sha256, m.sha256);
  });

  test('stores plain tar when encryption is off, and says so in the manifest', async () => {
    const { root, store } = await fresh({ encrypt: false });
    const data = randomBytes(10_000);
    const m = await store.write('db', { group: 0, version: 0 }, Readable.from([data]), { node: 'n2' });
    assert.equal(m.encrypted, false);
    assert.equal(m.keyId, undefined);
    assert.equal(m.file, '0.tar');
    assert.equal(m.size, data.length);
    assert.equal(m.plainSize, data.length);
    assert.deepEqual(await readFile(join(root, 'db', '0', '0.tar')), data);
    assert.deepEqual(await collect(await store.open('db', { group: 0, version: 0 })), data);
  });

  test('lists groups and versions sorted, newest candidates first across groups', async () => {
    const { store } = await fresh();
    for (const [group, version] of [
      [1, 6],
      [0, 0],
      [1, 5],
      [0, 1],
      [2, 10],
      [1, 7],
    ] as const) {
      await store.write('app', { group, version }, bytes(100), { node: 'n1' });
    }
    await store.write('other', { group: 0, version: 0 }, bytes(10), { node: 'n1' });
    const groups = await store.list('app');
    assert.deepEqual(
      groups.map((g) => [g.group, g.versions.map((v) => v.version)]),
      [
        [0, [0, 1]],
        [1, [5, 6, 7]],
        [2, [10]],
      ],
    );
    assert.equal((await store.latest('app'))?.version, 10);
    assert.deepEqual(
      (await store.candidatesNewestFirst('app', 4)).map((m) => [m.group, m.version]),
      [
        [2, 10],
        [1, 7],
        [1, 6],
        [1, 5],
      ],
    );
    assert.equal((await store.candidatesNewestFirst('app')).length, 6);
    assert.deepEqual(await store.listContainers(), ['app', 'other']);
    assert.deepEqual(await store.list('nothing-here'), []);
    assert.equal(await store.latest('nothing-here'), undefined);
  });

  test('a version without its manifest is not listed, and gc cleans crash leftovers', async () => {
    const { root, store } = await fresh();
    await store.write('c1', { group: 0, version: 0 }, bytes(100), { node: 'n1' });
    const dir = join(root, 'c1', '0');
    // What a crash leaves: an archive renamed into place whose manifest never landed, and a temp file.
    await writeFile(join(dir, '1.lbx'), randomBytes(200));
    await writeFile(join(dir, '.tmp-abc-2.lbx'), randomBytes(50));
    await writeFile(join(dir, '.tmp-abc-2.json'), '{');
    await mkdir(join(root, '.deleting-gone-123'), { recursive: true });
    assert.deepEqual(
      (await store.list('c1')).map((g) => g.versions.map((v) => v.version)),
      [[0]],
    );
    assert.deepEqual(await store.listContainers(), ['c1']);

    assert.deepEqual(await store.gc(), ['.deleting-gone-123'], 'fresh leftovers may be a write in progress');
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const f of ['1.lbx', '.tmp-abc-2.lbx', '.tmp-abc-2.json']) await utimes(join(dir, f), old, old);
    const removed = await store.gc();
    assert.deepEqual(removed.sort(), ['c1/0/.tmp-abc-2.json', 'c1/0/.tmp-abc-2.lbx', 'c1/0/1.lbx']);
    assert.deepEqual((await readdir(dir)).sort(), ['0.json', '0.lbx']);
    assert.equal((await store.latest('c1'))?.version, 0);
  });

  test('gc removes a manifest whose archive is gone', async () => {
    const { root, store } = await fresh();
    await store.write('c2', { group: 3, version: 15 }, bytes(100), { node: 'n1' });
    await rm(join(root, 'c2', '3', '15.lbx'));
    assert.deepEqual(await store.list('c2'), [{ group: 3, versions: [] }]);
    assert.deepEqual(await store.gc(), ['c2/3/15.json']);
  });

  test('a failed source leaves nothing behind', async () => {
    const { root, store } = await fresh();
    async function* failing() {
      yield randomBytes(10_000);
      throw new Error('podman went away');
    }
    await assert.rejects(
      store.write('c3', { group: 0, version: 0 }, failing(), { node: 'n1' }),
      /podman went away/,
    );
    assert.deepEqual(await readdir(join(root, 'c3', '0')), []);
    assert.deepEqual(await store.list('c3'), [{ group: 0, versions: [] }]);
  });

  test('an aborted write leaves nothing behind', async () => {
    const { root, store } = await fresh();
    const ac = new AbortController();
    async function* slow() {
      yield randomBytes(10_000);
      ac.abort();
      yield randomBytes(10_000);
    }
    await assert.rejects(
      store.write('c3', { group: 0, version: 0 }, slow(), { node: 'n1' }, { signal: ac.signal }),
      /abort/i,
    );
    assert.deepEqual(await readdir(join(root, 'c3', '0')), []);
  });

  test('never overwrites a complete version unless asked to', async () => {
    const { store } = await fresh();
    const ref = { group: 0, version: 0 };
    await store.write('c4', ref, bytes(100), { node: 'n1' });
    await assert.rejects(store.write('c4', ref, bytes(100), { node: 'n2' }), CheckpointExistsError);
    const data = randomBytes(300);
    const m = await store.write('c4', ref, Readable.from([data]), { node: 'n2' }, { replace: true });
    assert.equal(m.node, 'n2');
    assert.deepEqual(await collect(await store.open('c4', ref)), data);
  });

  test('a flipped byte in the stored file is rejected before any plaintext, naming the checkpoint', async () => {
    const { root, store } = await fresh();
    const ref = { group: 1, version: 7 };
    await store.write('web', ref, bytes(50_000), { node: 'n1' });
    const archive = join(root, 'web', '1', '7.lbx');
    const data = await readFile(archive);
    data[20_000] = data[20_000]! ^ 0x40;
    await writeFile(archive, data);
    // one at a time: a second promise created up front would reject unobserved
    for (const attempt of [() => store.open('web', ref), () => store.verify('web', ref)]) {
      const err = await integrityError(attempt());
      assert.equal(err.reason, 'checksum_mismatch');
      assert.deepEqual(err.location, { container: 'web', group: 1, version: 7 });
      assert.match(err.message, /checkpoint web group 1 version 7/);
    }
  });

  test('openChecked: one pass, the stream ends in an error for a flipped byte or a cut file, plain or encrypted', async () => {
    for (const encrypt of [true, false]) {
      const { root, store } = await fresh(encrypt ? {} : { encrypt: false });
      const ref = { group: 0, version: 3 };
      const data = randomBytes(3 * chunkSize + 123);
      await store.write('one', ref, Readable.from([data]), { node: 'n1' });
      assert.deepEqual(await collect(await store.openChecked('one', ref)), data, 'intact: the plaintext');
      const file = join(root, 'one', '0', encrypt ? '3.lbx' : '3.tar');
      const stored = await readFile(file);
      const flipped = Buffer.from(stored);
      flipped[flipped.length - 10] = flipped[flipped.length - 10]! ^ 1;
      await writeFile(file, flipped);
      await assert.rejects(
        collect(await store.openChecked('one', ref)),
        ArchiveIntegrityError,
        'flipped byte',
      );
      await writeFile(file, stored.subarray(0, stored.length - 5000));
      await assert.rejects(collect(await store.openChecked('one', ref)), ArchiveIntegrityError, 'cut file');
    }
  });

  test('a truncated file is rejected, by size and, with a forged manifest, by decryption', async () => {
    const { root, store } = await fresh();
    const ref = { group: 0, version: 2 };
    await store.write('web', ref, bytes(5 * chunkSize), { node: 'n1' });
    const archive = join(root, 'web', '0', '2.lbx');
    const data = await readFile(archive);
    await writeFile(archive, data.subarray(0, data.length - 1000));
    assert.equal((await integrityError(store.open('web', ref))).reason, 'size_mismatch');
    await tamper(root, 'web', 0, 2, () => data.subarray(0, 48 + 2 * (chunkSize + 16)));
    const err = await integrityError(collect(await store.open('web', ref)));
    assert.equal(err.reason, 'truncated');
    assert.match(err.message, /checkpoint web group 0 version 2: .*chunk 1/);
  });

  test('swapped chunks are rejected even when the manifest was forged to match', async () => {
    const { root, store } = await fresh();
    const ref = { group: 0, version: 0 };
    await store.write('web', ref, bytes(4 * chunkSize), { node: 'n1' });
    const span = chunkSize + 16;
    await tamper(root, 'web', 0, 0, (d) =>
      Buffer.concat([
        d.subarray(0, 48),
        d.subarray(48 + span, 48 + 2 * span),
        d.subarray(48, 48 + span),
        d.subarray(48 + 2 * span),
      ]),
    );
    await store.verify('web', ref); // the forged sha256 matches ...
    const err = await integrityError(collect(await store.open('web', ref))); // ... the tags do not
    assert.equal(err.reason, 'auth_failed');
    assert.equal(err.chunk, 0);
    assert.deepEqual(err.location, { container: 'web', group: 0, version: 0 });
    await assert.rejects(store.verify('web', ref, { deep: true }), ArchiveIntegrityError);
  });

  test("another checkpoint's archive put in a version's place is rejected", async () => {
    const { root, store } = await fresh();
    await store.write('web', { group: 0, version: 0 }, bytes(1000), { node: 'n1' });
    await store.write('web', { group: 0, version: 1 }, bytes(1000), { node: 'n1' });
    const older = await readFile(join(root, 'web', '0', '0.lbx'));
    await tamper(root, 'web', 0, 1, () => older);
    const err = await integrityError(collect(await store.open('web', { group: 0, version: 1 })));
    assert.equal(err.reason, 'auth_failed');
  });

  test('a store without the archive key refuses clearly, before reading', async () => {
    const { root, store } = await fresh();
    await store.write('web', { group: 0, version: 0 }, bytes(1000), { node: 'n1' });
    const other = new CheckpointStore({ root, keyring: new Keyring(keyB), logger: quiet });
    const err = await integrityError(other.open('web', { group: 0, version: 0 }));
    assert.equal(err.reason, 'unknown_key');
    assert.ok(err.message.includes(keyA.id) && err.message.includes(keyB.id), err.message);
    const none = new CheckpointStore({ root, logger: quiet });
    assert.equal((await integrityError(none.open('web', { group: 0, version: 0 }))).reason, 'unknown_key');
  });

  test('after key rotation old archives still open and new ones use the new key', async () => {
    const { root, store } = await fresh();
    const old = randomBytes(20_000);
    await store.write('web', { group: 0, version: 0 }, Readable.from([old]), { node: 'n1' });
    const rotated = new CheckpointStore({
      root,
      keyring: new Keyring(keyB, [keyA]),
      chunkSize,
      logger: quiet,
    });
    assert.deepEqual(await collect(await rotated.open('web', { group: 0, version: 0 })), old);
    const m = await rotated.write('web', { group: 0, version: 1 }, bytes(100), { node: 'n1' });
    assert.equal(m.keyId, keyB.id);
    const onlyNew = new CheckpointStore({ root, keyring: new Keyring(keyB), logger: quiet });
    await collect(await onlyNew.open('web', { group: 0, version: 1 }));
    await assert.rejects(onlyNew.open('web', { group: 0, version: 0 }), ArchiveIntegrityError);
  });

  test('an encrypting store refuses plain archives unless told to accept them', async () => {
    const { root } = await fresh();
    const plain = new CheckpointStore({ root, encrypt: false, logger: quiet });
    await plain.write('web', { group: 0, version: 0 }, bytes(100), { node: 'n1' });
    const strict = new CheckpointStore({ root, keyring: new Keyring(keyA), logger: quiet });
    await assert.rejects(strict.open('web', { group: 0, version: 0 }), UnencryptedArchiveError);
    const lenient = new CheckpointStore({
      root,
      keyring: new Keyring(keyA),
      acceptPlain: true,
      logger: quiet,
    });
    assert.equal((await collect(await lenient.open('web', { group: 0, version: 0 }))).length, 100);
    assert.throws(() => new CheckpointStore({ root, encrypt: true }), StoreConfigError);
  });

  test('container keys that could leave the root are refused', async () => {
    const { root, store } = await fresh();
    const bad = [
      '../escape',
      '..',
      '.',
      'a/b',
      '/abs',
      'a\0b',
      '',
      'x'.repeat(129),
      '.hidden',
      'a..b',
      'a\\b',
      '-flag',
    ];
    for (const c of bad) {
      await assert.rejects(
        store.write(c, { group: 0, version: 0 }, bytes(10), { node: 'n1' }),
        ValidationError,
        c,
      );
      await assert.rejects(store.list(c), ValidationError, c);
      await assert.rejects(store.open(c, { group: 0, version: 0 }), ValidationError, c);
      await assert.rejects(store.remove(c, { group: 0, version: 0 }), ValidationError, c);
      await assert.rejects(store.removeGroup(c, 0), ValidationError, c);
      await assert.rejects(store.removeContainer(c), ValidationError, c);
    }
    for (const ref of [
      { group: -1, version: 0 },
      { group: 0.5, version: 0 },
      { group: 0, version: Number.NaN },
    ]) {
      await assert.rejects(store.write('ok', ref, bytes(10), { node: 'n1' }), ValidationError);
    }
    assert.equal((await readdir(base)).includes('escape'), false);
    await assert.rejects(stat(root), { code: 'ENOENT' });
    await store.write('ok_name-1.2', { group: 0, version: 0 }, bytes(10), { node: 'n1' });
  });

  test('removes versions, groups and containers', async () => {
    const { root, store } = await fresh();
    for (const [group, version] of [
      [0, 0],
      [0, 1],
      [1, 2],
    ] as const) {
      await store.write('web', { group, version }, bytes(10), { node: 'n1' });
    }
    assert.equal(await store.remove('web', { group: 0, version: 1 }), true);
    assert.equal(await store.remove('web', { group: 0, version: 1 }), false);
    await assert.rejects(store.open('web', { group: 0, version: 1 }), CheckpointNotFoundError);
    assert.equal(await store.removeGroup('web', 0), true);
    assert.equal(await store.removeGroup('web', 0), false);
    assert.deepEqual(
      (await store.list('web')).map((g) => g.group),
      [1],
    );
    assert.deepEqual(await readdir(join(root, 'web')), ['1']);
    assert.equal(await store.removeContainer('web'), true);
    assert.deepEqual(await store.listContainers(), []);
    assert.deepEqual(await readdir(root), []);
  });

  test('incremental versions name their parent; a group keeps its pre-dump', async () => {
    const { store } = await fresh();
    const pre = randomBytes(3000);
    const pm = await store.writePreDump('db', 0, Readable.from([pre]), { node: 'n1' });
    assert.equal(pm.kind, 'pre-dump');
    const m = await store.write('db', { group: 0, version: 0 }, bytes(100), {
      node: 'n1',
      kind: 'incremental',
      parent: 'pre-dump',
    });
    assert.equal(m.parent, 'pre-dump');
    await store.write('db', { group: 0, version: 1 }, bytes(100), {
      node: 'n1',
      kind: 'incremental',
      parent: 0,
    });
    const [g] = await store.list('db');
    assert.equal(g?.preDump?.sha256, pm.sha256);
    assert.deepEqual(
      g?.versions.map((v) => [v.version, v.kind, v.parent]),
      [
        [0, 'incremental', 'pre-dump'],
        [1, 'incremental', 0],
      ],
    );
    assert.deepEqual(await collect(await store.openPreDump('db', 0)), pre);
    assert.deepEqual(
      (await store.candidatesNewestFirst('db')).map((v) => v.version),
      [1, 0],
    );
    await assert.rejects(
      store.write('db', { group: 0, version: 2 }, bytes(1), { node: 'n1', kind: 'incremental' }),
      ValidationError,
    );
    await assert.rejects(
      store.write('db', { group: 0, version: 2 }, bytes(1), { node: 'n1', kind: 'incremental', parent: 5 }),
      ValidationError,
    );
    await assert.rejects(
      store.write('db', { group: 0, version: 2 }, bytes(1), { node: 'n1', parent: 1 }),
      ValidationError,
    );
    assert.equal(await store.removePreDump('db', 0), true);
    assert.equal((await store.list('db'))[0]?.preDump, undefined);
  });

  test('a damaged or misplaced manifest is not listed and opening it names the problem', async () => {
    const { root, store } = await fresh();
    await store.write('web', { group: 0, version: 0 }, bytes(10), { node: 'n1' });
    await store.write('web', { group: 0, version: 1 }, bytes(10), { node: 'n1' });
    const dir = join(root, 'web', '0');
    // Version 0's manifest copied over version 1's: it names another version.
    await writeFile(join(dir, '1.json'), await readFile(join(dir, '0.json')));
    assert.deepEqual(
      (await store.list('web'))[0]?.versions.map((v) => v.version),
      [0],
    );
    const err = await integrityError(store.open('web', { group: 0, version: 1 }));
    assert.equal(err.reason, 'bad_manifest');
    assert.match(err.message, /version/);
  });
});

describe('checkpoint store: quota and free space', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-store-space-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const meta = { node: 'n1' };
  const leftovers = async (root: string, c: string): Promise<string[]> =>
    (await readdir(join(root, c, '1'))).filter((f) => f.includes('.tmp'));

  test("a container's versions stay within its quota; a refused one leaves the others intact", async () => {
    const root = join(dir, 'quota');
    const store = new CheckpointStore({ root, encrypt: false, quotaBytes: 250_000, logger: quiet });
    await store.write('web', { group: 1, version: 1 }, bytes(100_000), meta);
    await store.write('web', { group: 1, version: 2 }, bytes(100_000), meta);
    // asked before a dump: the newest version's size does not fit in what is left
    await assert.rejects(
      store.checkSpace('web', await store.newestVersionBytes('web')),
      /container web's checkpoints take 0\.2 MB of its 0\.3 MB quota: no room for another version of about 0\.1 MB; the versions stored so far are kept/,
    );
    // and while it streams: past the quota, the write stops
    await assert.rejects(
      store.write('web', { group: 1, version: 3 }, bytes(100_000), meta),
      (err: Error & { code?: string }) => err.code === 'checkpoint_quota_exceeded',
    );
    assert.deepEqual(await leftovers(root, 'web'), []);
    const versions = (await store.list('web')).flatMap((g) => g.versions.map((v) => v.version));
    assert.deepEqual(versions, [1, 2]);
    assert.equal((await collect(await store.open('web', { group: 1, version: 2 }))).length, 100_000);
    // another container has its own quota
    await store.write('db', { group: 1, version: 1 }, bytes(100_000), meta);
  });

  test('every write leaves the reserve free on the file system', async () => {
    const root = join(dir, 'full');
    let available = 1_000_000;
    const store = new CheckpointStore({
      root,
      encrypt: false,
      reserveBytes: 400_000,
      space: () => Promise.resolve({ availableBytes: available, totalBytes: 10_000_000 }),
      logger: quiet,
    });
    await store.write('web', { group: 1, version: 1 }, bytes(500_000), meta);
    available = 500_000;
    await assert.rejects(
      store.checkSpace('web', 500_000),
      /the checkpoint store at .* has 0\.5 MB free, and keeps 0\.4 MB free: no room for a version of about 0\.5 MB/,
    );
    await assert.rejects(
      store.write('web', { group: 1, version: 2 }, bytes(500_000), meta),
      (err: Error & { code?: string; status?: number }) =>
        err.code === 'checkpoint_store_full' && err.status === 507,
    );
    assert.deepEqual(await leftovers(root, 'web'), []);
    assert.equal((await store.list('web'))[0]?.versions.length, 1);
  });

  test("the default reserve is 5% of the store's file system, at most 1 GiB", async () => {
    const { defaultReserveBytes } = await import('./space.ts');
    assert.equal(defaultReserveBytes(10_000_000), 500_000);
    assert.equal(defaultReserveBytes(100 * 1024 ** 3), 1024 ** 3);
  });
});
