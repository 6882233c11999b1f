import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ClusterKey, Keyring, generateClusterKey, loadClusterKey, loadKeyring } from './cluster-key.ts';
import { ClusterKeyError } from './errors.ts';

describe('cluster keys', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-key-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('generateClusterKey writes 0600 hex and refuses to overwrite', async () => {
    const path = join(dir, 'sub', 'cluster.key');
    const key = await generateClusterKey(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.match(await readFile(path, 'utf8'), /^[0-9a-f]{64}\n$/);
    assert.equal((await loadClusterKey(path)).id, key.id);
    await assert.rejects(generateClusterKey(path), (err: unknown) => {
      assert.ok(err instanceof ClusterKeyError);
      assert.match(err.message, /already exists/);
      return true;
    });
  });

  test('the key id is the first 8 bytes of sha256(key)', () => {
    const raw = randomBytes(32);
    const key = new ClusterKey(raw);
    assert.equal(key.id, createHash('sha256').update(raw).digest('hex').slice(0, 16));
  });

  test('loads raw 32-byte keys too', async () => {
    const raw = randomBytes(32);
    const path = join(dir, 'raw.key');
    await writeFile(path, raw, { mode: 0o600 });
    assert.deepEqual((await loadClusterKey(path)).material(), raw);
  });

  test('refuses a key file readable by group or others, saying how to fix it', async () => {
    const path = join(dir, 'open.key');
    await writeFile(path, randomBytes(32).toString('hex'));
    await chmod(path, 0o644);
    await assert.rejects(loadClusterKey(path), (err: unknown) => {
      assert.ok(err instanceof ClusterKeyError);
      assert.equal(err.code, 'cluster_key_invalid');
      assert.match(err.message, /mode 644/);
      assert.match(err.hint ?? '', /chmod 600/);
      return true;
    });
  });

  test('refuses malformed and missing key files', async () => {
    const path = join(dir, 'short.key');
    await writeFile(path, 'abcd\n', { mode: 0o600 });
    await assert.rejects(loadClusterKey(path), /neither 32 raw bytes nor 64 hex digits/);
    await assert.rejects(loadClusterKey(join(dir, 'missing.key')), /does not exist/);
    assert.throws(() => new ClusterKey(randomBytes(16)), ClusterKeyError);
  });

  test('a keyring finds keys by id, current first', async () => {
    const a = await generateClusterKey(join(dir, 'a.key'));
    const b = await generateClusterKey(join(dir, 'b.key'));
    const ring = await loadKeyring(join(dir, 'b.key'), [join(dir, 'a.key')]);
    assert.equal(ring.current.id, b.id);
    assert.deepEqual(ring.ids(), [b.id, a.id]);
    assert.equal(ring.get(a.id)?.id, a.id);
    assert.equal(new Keyring(a).get(b.id), undefined);
  });

  test('never shows the key material when logged', () => {
    const raw = randomBytes(32);
    const key = new ClusterKey(raw);
    const hex = raw.toString('hex');
    assert.ok(!inspect(key).includes(hex));
    assert.ok(!JSON.stringify({ key }).includes(hex));
  });
});
