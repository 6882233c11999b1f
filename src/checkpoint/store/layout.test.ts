import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../util/errors.ts';
import {
  StoreLayout,
  archiveFileName,
  parseArchiveName,
  parseIndexName,
  parseManifestName,
  tempName,
  validateContainerKey,
} from './layout.ts';

describe('store layout', () => {
  test('accepts container names and ids', () => {
    for (const ok of ['web', 'redis-1', 'my_app.v2', 'a'.repeat(128), 'f'.repeat(64)]) {
      assert.equal(validateContainerKey(ok), ok);
    }
  });

  test('refuses anything that could name another path, with the reason', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['a/b', /path separator/],
      ['..', /"\.\."/],
      ['x..y', /"\.\."/],
      ['a\0', /NUL/],
      ['a'.repeat(129), /longer than 128/],
      ['.git', /starts with/],
      ['a b', /characters/],
      ['é', /characters/],
    ];
    for (const [name, why] of cases) {
      assert.throws(
        () => validateContainerKey(name),
        (err: unknown) => err instanceof ValidationError && why.test(err.message),
        JSON.stringify(name),
      );
    }
  });

  test('paths stay under the root', () => {
    const l = new StoreLayout('/store');
    assert.equal(l.archivePath('web', 2, 11, true), '/store/web/2/11.lbx');
    assert.equal(l.archivePath('web', 2, 'pre-dump', false), '/store/web/2/pre-dump.tar');
    assert.equal(l.manifestPath('web', 0, 0), '/store/web/0/0.json');
    assert.throws(() => l.groupDir('web', -1), ValidationError);
    assert.throws(() => l.containerDir('../etc'), ValidationError);
  });

  test('parses only canonical names; temp names are hidden', () => {
    assert.equal(parseIndexName('12'), 12);
    for (const bad of ['012', '-1', '1.5', '', 'x', '1e3']) assert.equal(parseIndexName(bad), undefined, bad);
    assert.equal(parseManifestName('7.json'), 7);
    assert.equal(parseManifestName('pre-dump.json'), 'pre-dump');
    assert.equal(parseManifestName('7.lbx'), undefined);
    assert.equal(parseArchiveName('7.lbx'), 7);
    assert.equal(parseArchiveName('7.tar'), 7);
    assert.equal(parseArchiveName(archiveFileName('pre-dump', true)), 'pre-dump');
    const tmp = tempName('7.lbx');
    assert.ok(tmp.startsWith('.'));
    assert.equal(parseArchiveName(tmp), undefined);
    assert.equal(parseManifestName(tempName('7.json')), undefined);
  });
});
