import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FenceMonitor } from './fencing.ts';

test('fences once, before the manager deadline, and reconciles once on return', () => {
  const m = new FenceMonitor(3000, 500, 0);
  assert.equal(m.tick(2000).fenceNow, false);
  assert.equal(m.contact(2100).state, 'connected');
  assert.equal(m.tick(4500).fenceNow, false, 'contact at 2100 resets the clock');
  const d = m.tick(4600);
  assert.deepEqual(d, { state: 'fenced', fenceNow: true, reconcileNow: false });
  assert.equal(m.tick(9000).fenceNow, false, 'fence happens once');
  assert.deepEqual(m.contact(9500), { state: 'reconciling', fenceNow: false, reconcileNow: true });
  assert.equal(m.tick(20_000).fenceNow, false, 'no fence while reconciling');
  m.reconciled();
  assert.equal(m.current, 'connected');
  assert.equal(m.contact(20_100).reconcileNow, false);
});

test('a new failure timeout from the managers moves the fence deadline', () => {
  const m = new FenceMonitor(5000, 1000, 0);
  assert.equal(m.fenceAfterMs, 4000);
  m.setTimeouts(2000, 500);
  assert.equal(m.fenceAfterMs, 1500);
  assert.equal(m.tick(1400).fenceNow, false);
  assert.equal(m.tick(1500).fenceNow, true);
  assert.equal(m.lastContactAt, 0);
});
