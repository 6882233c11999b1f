import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storeSharing } from './store-sharing.ts';

test("a store is shared when hosts see each other's markers; a private one is named with who it misses", () => {
  const shared = [
    { name: 'a', sees: ['a', 'b', 'c'] },
    { name: 'b', sees: ['a', 'b', 'c'] },
    { name: 'c', sees: ['a', 'b', 'c'] },
  ];
  assert.deepEqual(storeSharing('a', shared), { sharing: 'shared', apart: [] });
  const cPrivate = [
    { name: 'a', sees: ['a', 'b', 'c'] },
    { name: 'b', sees: ['a', 'b', 'c'] },
    { name: 'c', sees: ['c'] },
  ];
  assert.deepEqual(storeSharing('c', cPrivate), { sharing: 'private', apart: ['a', 'b'] });
  // a and b share theirs: one odd host does not taint them
  assert.deepEqual(storeSharing('a', cPrivate), { sharing: 'shared', apart: ['c'] });
  const split = [
    { name: 'a', sees: ['a', 'b'] },
    { name: 'b', sees: ['a', 'b'] },
    { name: 'c', sees: ['c', 'd'] },
    { name: 'd', sees: ['c', 'd'] },
  ];
  assert.equal(storeSharing('a', split).sharing, 'private', "two stores, neither the cluster's");
  assert.deepEqual(
    storeSharing('a', [
      { name: 'a', sees: ['a'] },
      { name: 'b', sees: ['b'] },
    ]),
    {
      sharing: 'private',
      apart: ['b'],
    },
  );
  assert.deepEqual(
    storeSharing('a', [{ name: 'a', sees: ['a'] }]),
    { sharing: 'unverified', apart: [] },
    'alone',
  );
  assert.deepEqual(
    storeSharing('a', [{ name: 'a' }, { name: 'b', sees: ['b'] }]),
    { sharing: 'unverified', apart: [] },
    'no store',
  );
});
