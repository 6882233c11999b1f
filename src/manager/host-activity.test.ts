import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostActivity } from './host-activity.ts';

test('a host is busy while a change is in flight and for settleMs after the last one ends', () => {
  let now = 0;
  const a = new HostActivity(3000, () => now);
  assert.equal(a.busy('h1'), false, 'never touched');
  const one = a.begin('h1');
  const two = a.begin('h1');
  now = 10_000;
  assert.equal(a.busy('h1'), true, 'in flight, however long');
  one();
  one(); // twice is once
  assert.equal(a.busy('h1'), true, 'the other is still in flight');
  two();
  now = 12_999;
  assert.equal(a.busy('h1'), true, 'settling');
  assert.equal(a.busy('h2'), false, 'another host is not');
  now = 13_000;
  assert.equal(a.busy('h1'), false, 'a report built after the change has arrived');
});
