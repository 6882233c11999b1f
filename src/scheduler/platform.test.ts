import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePlatform, platformConstraint } from './platform.ts';

test("platform: Go names become the hosts' uname -m; other OSes and unknown ones are refused by name", () => {
  assert.equal(parsePlatform(undefined), undefined);
  assert.equal(parsePlatform(''), undefined);
  assert.deepEqual(parsePlatform('linux'), { raw: 'linux', os: 'linux' });
  assert.equal(parsePlatform('linux/amd64')?.machine, 'x86_64');
  assert.equal(parsePlatform('Linux/ARM64/v8')?.machine, 'aarch64');
  assert.equal(parsePlatform('linux/arm64')?.machine, 'aarch64');
  assert.equal(parsePlatform('linux/arm')?.machine, 'armv7l');
  assert.equal(parsePlatform('linux/arm/v6')?.machine, 'armv6l');
  assert.throws(
    () => parsePlatform('windows/amd64'),
    /platform "windows\/amd64": lifeboat's hosts run Linux/,
  );
  assert.throws(() => parsePlatform('linux/amd64/v3'), /unknown architecture/);
  assert.throws(() => parsePlatform('linux/sparc'), /unknown architecture/);
  assert.throws(() => parsePlatform('linux//'), /invalid platform/);
  assert.equal(platformConstraint(parsePlatform('linux/amd64')), 'constraint:architecture==x86_64');
  assert.equal(platformConstraint(parsePlatform('linux')), undefined);
});
