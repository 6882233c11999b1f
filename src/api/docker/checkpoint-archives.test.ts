import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { ClusterKey, Keyring } from '../../checkpoint/crypto/index.ts';
import { ValidationError } from '../../util/errors.ts';
import { CheckpointArchives } from './checkpoint-archives.ts';
import { CheckpointExistsError, NoSuchCheckpointError } from './errors.ts';

const root = mkdtempSync(join(tmpdir(), 'lifeboat-archives-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('checkpoint archives of the Docker API', () => {
  const store = new CheckpointArchives(join(root, 'base'));

  test('<dir>/<container>/<id>.tar, listed oldest first, never overwritten', async () => {
    await store.write('web', 'cp1', async () => Readable.from([Buffer.from('one')]));
    await store.write('web', 'cp2', async () => Readable.from([Buffer.from('two')]));
    assert.equal(readFileSync(join(root, 'base/web/cp1.tar'), 'utf8'), 'one');
    assert.deepEqual(await store.list('web'), [{ Name: 'cp1' }, { Name: 'cp2' }]);
    let asked = false;
    await assert.rejects(
      store.write('web', 'cp1', async () => {
        asked = true;
        return Readable.from([Buffer.from('again')]);
      }),
      CheckpointExistsError,
    );
    assert.equal(asked, false, 'no dump is taken for an ID that exists');
    assert.deepEqual(
      readdirSync(join(root, 'base/web')).sort(),
      ['cp1.tar', 'cp2.tar'],
      'no temporary files left',
    );
  });

  test('a client directory replaces the base directory', async () => {
    const dir = join(root, 'mine');
    await store.write('web', 'cp1', async () => Readable.from([Buffer.from('x')]), dir);
    assert.ok(existsSync(join(dir, 'web/cp1.tar')));
    assert.deepEqual(await store.list('web', dir), [{ Name: 'cp1' }]);
    await assert.rejects(store.list('web', 'relative'), /must be an absolute path/);
  });

  test('a failed dump leaves nothing behind', async () => {
    await assert.rejects(
      store.write('web', 'broken', async () =>
        Readable.from(
          (async function* () {
            yield Buffer.from('partial');
            throw new Error('CRIU died');
          })(),
        ),
      ),
      /CRIU died/,
    );
    assert.equal(await store.exists('web', 'broken'), false);
    assert.deepEqual(readdirSync(join(root, 'base/web')).sort(), ['cp1.tar', 'cp2.tar']);
  });

  test('remove, removeAll, and 404s', async () => {
    await store.remove('web', 'cp1');
    await assert.rejects(store.remove('web', 'cp1'), NoSuchCheckpointError);
    await assert.rejects(store.open('web', 'cp1'), /checkpoint cp1 does not exist for container web/);
    assert.deepEqual(await store.list('nobody'), []);
    await store.removeAll('web');
    assert.equal(existsSync(join(root, 'base/web')), false);
    assert.throws(() => store.pathOf('web', '../x'), /invalid checkpoint ID/);
    assert.throws(() => store.pathOf('../etc', 'cp'), /Invalid container name/);
  });

  test('a client directory that cannot hold checkpoints is a 400, at once, and nothing is dumped', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    let asked = false;
    const dump = async (): Promise<Readable> => {
      asked = true;
      return Readable.from([Buffer.from('x')]);
    };
    // Node's recursive mkdir never returns below /proc/self; the archive store must.
    for (const dir of [file, '/proc/self/lifeboat', join(file, 'deeper')]) {
      const started = Date.now();
      await assert.rejects(store.write('web', 'cp1', dump, dir), (err) => {
        assert.ok(err instanceof ValidationError, String(err));
        assert.match(err.message, /cannot hold checkpoints \((ENOTDIR|ENOENT|EPERM|EACCES)\)/);
        return true;
      });
      assert.ok(Date.now() - started < 2000, `${dir} answered in time`);
    }
    assert.equal(asked, false);
    assert.deepEqual(await store.list('web', file), []);
    await assert.rejects(store.remove('web', 'cp1', file), NoSuchCheckpointError);
  });

  test('archives are 0600 and the directories made for them 0700: they hold process memory', async () => {
    const dir = join(root, 'private');
    await store.write('db', 'cp1', async () => Readable.from([Buffer.from('memory')]), dir);
    assert.equal(statSync(join(dir, 'db/cp1.tar')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'db')).mode & 0o777, 0o700);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });
});

describe('checkpoint archives sealed with the cluster key', () => {
  const keyring = new Keyring(new ClusterKey(randomBytes(32)));
  const sealed = new CheckpointArchives(join(root, 'sealed'), keyring);
  const memory = Buffer.concat([Buffer.from('password=hunter2;'), randomBytes(3 << 20)]);
  const read = async (s: AsyncIterable<Buffer>): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const p of s) parts.push(p);
    return Buffer.concat(parts);
  };

  test('written encrypted and 0600 (no plaintext on disk), read back equal', async () => {
    const path = await sealed.write('db', 'cp1', async () => Readable.from([memory]));
    assert.match(path, /\/db\/cp1\.tar\.sealed$/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const onDisk = readFileSync(path);
    assert.equal(onDisk.includes(Buffer.from('hunter2')), false, 'the secret is not on disk in clear');
    assert.deepEqual(await sealed.list('db'), [{ Name: 'cp1' }]);
    assert.ok((await read((await sealed.open('db', 'cp1')).stream)).equals(memory));
  });

  test('a flipped byte, a cut end or an archive renamed to another checkpoint is refused, naming it', async () => {
    const path = sealed.pathOf('db', 'cp1');
    const good = readFileSync(path);
    const flipped = Buffer.from(good);
    flipped[good.length >> 1]! ^= 0x01;
    writeFileSync(path, flipped);
    await assert.rejects(read((await sealed.open('db', 'cp1')).stream), /docker checkpoint cp1 of db/);
    writeFileSync(path, good.subarray(0, good.length - 100));
    await assert.rejects(read((await sealed.open('db', 'cp1')).stream), /docker checkpoint cp1 of db/);
    writeFileSync(sealed.pathOf('db', 'cp2'), good);
    await assert.rejects(read((await sealed.open('db', 'cp2')).stream), /docker checkpoint cp2 of db/);
    const other = new CheckpointArchives(join(root, 'sealed'), new Keyring(new ClusterKey(randomBytes(32))));
    writeFileSync(path, good);
    await assert.rejects(read((await other.open('db', 'cp1')).stream), /unknown|key/i);
  });

  test('after a key rotation (--previous-cluster-key) old archives open and new ones use the new key', async () => {
    const next = new ClusterKey(randomBytes(32));
    const rotated = new CheckpointArchives(join(root, 'sealed'), new Keyring(next, [keyring.current]));
    assert.ok((await read((await rotated.open('db', 'cp1')).stream)).equals(memory));
    await rotated.write('db', 'cp3', async () => Readable.from([Buffer.from('new')]));
    assert.equal((await read((await rotated.open('db', 'cp3')).stream)).toString(), 'new');
    // the old key alone cannot read what the new one wrote
    await assert.rejects(read((await sealed.open('db', 'cp3')).stream), /unknown|key/i);
  });
});
