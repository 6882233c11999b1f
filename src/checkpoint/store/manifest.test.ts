import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../util/errors.ts';
import { parseManifest, validateMeta } from './manifest.ts';

const good = {
  format: 1,
  container: 'web',
  group: 1,
  version: 6,
  kind: 'incremental',
  parent: 5,
  file: '6.lbx',
  size: 1064,
  plainSize: 1000,
  sha256: 'a'.repeat(64),
  encrypted: true,
  keyId: '0123456789abcdef',
  node: 'node1',
  createdAt: '2025-01-01T00:00:00.000Z',
  criu: { frozen_time: 1 },
  note: 'n',
};
const where = { container: 'web', group: 1, slot: 6 } as const;

describe('manifest', () => {
  test('parses a manifest written for this place', () => {
    const m = parseManifest(JSON.stringify(good), where);
    assert.equal(m.version, 6);
    assert.equal(m.kind, 'incremental');
  });

  test('refuses a manifest with a missing or wrong field, naming it', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ container: 'db' }, /container/],
      [{ group: 2 }, /group/],
      [{ version: 7 }, /version/],
      [{ file: '7.lbx' }, /file/],
      [{ file: '6.tar' }, /file/],
      [{ size: -1 }, /size/],
      [{ sha256: 'xyz' }, /sha256/],
      [{ keyId: undefined }, /keyId/],
      [{ node: '' }, /node/],
      [{ createdAt: 'yesterday' }, /createdAt/],
      [{ criu: { a: 'b' } }, /criu/],
      [{ parent: 6 }, /parent/],
      [{ kind: 'full' }, /kind/],
      [{ format: 2 }, /format/],
    ];
    for (const [patch, why] of cases) {
      assert.throws(
        () => parseManifest(JSON.stringify({ ...good, ...patch }), where),
        why,
        JSON.stringify(patch),
      );
    }
    assert.throws(() => parseManifest('{', where), /JSON/);
    assert.throws(() => parseManifest('[]', where), /object/);
  });

  test('meta: full has no parent, incremental needs an older one', () => {
    validateMeta(3, { node: 'n' });
    validateMeta(3, { node: 'n', kind: 'incremental', parent: 2 });
    validateMeta(3, { node: 'n', kind: 'incremental', parent: 'pre-dump' });
    validateMeta('pre-dump', { node: 'n', note: 'x' });
    for (const bad of [
      { node: '' },
      { node: 'n', parent: 1 },
      { node: 'n', kind: 'incremental' as const },
      { node: 'n', kind: 'incremental' as const, parent: 3 },
      { node: 'n', criu: { x: Number.NaN } },
      { node: 'n', note: 'x'.repeat(5000) },
    ]) {
      assert.throws(() => validateMeta(3, bad), ValidationError, JSON.stringify(bad));
    }
  });
});
