import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../store/index.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PkiError } from '../pki/errors.ts';
import { createClusterCa } from '../pki/index.ts';
import { JoinTokens } from './tokens.ts';
import { parseJoinToken } from './token.ts';

test('the secret of each role gives that role; a rotation ends the old token; expiry is checked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-tokens-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await createClusterCa(join(dir, 'ca'));
  const now = { t: Date.parse('2026-12-07T00:00:00Z') };
  const store = await openStore('memory:');
  const jt = new JoinTokens(store, readFileSync(join(dir, 'ca', 'ca.pem'), 'utf8'), () => now.t);

  const agent = await jt.rotate('agent', 3600_000, 'admin');
  const manager = await jt.rotate('manager', 3600_000, 'admin');
  assert.equal(await jt.roleFor(parseJoinToken(agent.token).secret), 'agent');
  assert.equal(await jt.roleFor(parseJoinToken(manager.token).secret), 'manager');

  const next = await jt.rotate('agent', 3600_000, 'admin');
  await assert.rejects(jt.roleFor(parseJoinToken(agent.token).secret), /unknown or rotated/);
  assert.equal(await jt.roleFor(parseJoinToken(next.token).secret), 'agent');

  now.t += 3600_000;
  await assert.rejects(jt.roleFor(parseJoinToken(next.token).secret), (e: unknown) => {
    assert.ok(e instanceof PkiError);
    assert.equal(e.code, 'join_token_expired');
    assert.match(e.hint ?? '', /join-token rotate agent/);
    return true;
  });
  const list = await jt.list();
  assert.deepEqual(
    list.map((s) => [s.role, s.expired]),
    [
      ['agent', true],
      ['manager', true],
    ],
  );
  assert.ok(!JSON.stringify(list).includes(parseJoinToken(next.token).secret), 'no secret in the list');
  await store.close();
});

test('a lifetime under a minute or over a year is refused', async () => {
  const store = await openStore('memory:');
  const jt = new JoinTokens(store, 'no CA needed: refused before a token is made');
  await assert.rejects(jt.rotate('agent', 1000, 'admin'), /from 1 minute to 365 days/);
  await assert.rejects(jt.rotate('agent', 400 * 86_400_000, 'admin'), /from 1 minute to 365 days/);
  await store.close();
});
