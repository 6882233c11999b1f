import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClusterCa } from '../pki/index.ts';
import { caDigest, formatJoinToken, hashSecret, newSecret, parseJoinToken, secretMatches } from './token.ts';

test('a token pins the CA by digest and carries a 128-bit secret; parse gives both back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-token-'));
  try {
    await createClusterCa(join(dir, 'ca'));
    const caPem = readFileSync(join(dir, 'ca', 'ca.pem'), 'utf8');
    const secret = newSecret();
    const token = formatJoinToken(caPem, secret);
    assert.match(token, /^LBTKN-1-[0-9a-f]{64}-[0-9a-f]{32}$/);
    assert.deepEqual(parseJoinToken(` ${token}\n`), { caDigest: caDigest(caPem), secret });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed tokens are refused with what a token looks like', () => {
  for (const t of [
    '',
    'SWMTKN-1-abc-def',
    `LBTKN-1-${'g'.repeat(64)}-${'0'.repeat(32)}`,
    `LBTKN-1-${'a'.repeat(64)}-${'0'.repeat(31)}`,
  ])
    assert.throws(() => parseJoinToken(t), /not a lifeboat join token/);
});

test('only the hash of the secret is compared, and only the right secret matches', () => {
  const s = newSecret();
  const h = hashSecret(s);
  assert.notEqual(h, s);
  assert.equal(secretMatches(s, h), true);
  assert.equal(secretMatches(newSecret(), h), false);
  assert.equal(secretMatches(s, 'abcd'), false, 'a stored hash of the wrong length never matches');
});
