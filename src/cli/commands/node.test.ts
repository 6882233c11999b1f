import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockCell } from './node.ts';

test('lifeboat node ls: a clock off by more than a second is marked', () => {
  assert.equal(clockCell(31_000), '+31.00s !');
  assert.equal(clockCell(-20), '-0.02s');
  assert.equal(clockCell(undefined), '?');
});
