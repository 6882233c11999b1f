import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractSchedulingFromRequest } from '../expression.ts';
import { makeNode, makeRequest, names } from '../test-fixtures.ts';
import { healthFilter } from './health.ts';

const req = makeRequest();
const parsed = extractSchedulingFromRequest(req);

test('health keeps healthy nodes only', () => {
  const nodes = [makeNode('a'), makeNode('b', { healthy: false }), makeNode('c')];
  assert.deepEqual(names(healthFilter.filter(req, parsed, nodes)), ['a', 'c']);
});

test('health explains an all-unhealthy cluster', () => {
  const nodes = [makeNode('a', { healthy: false }), makeNode('b', { healthy: false })];
  assert.deepEqual(healthFilter.filter(req, parsed, nodes), []);
  assert.equal(healthFilter.explain(req, parsed, nodes), 'no healthy node: a, b unhealthy');
  assert.deepEqual(healthFilter.conditions(req, parsed), []);
});

test('a drained node takes nothing; the explanation names it and how to take it back', () => {
  const nodes = [makeNode('a', { availability: 'drain' }), makeNode('b', { healthy: false })];
  assert.deepEqual(healthFilter.filter(req, parsed, nodes), []);
  assert.equal(healthFilter.explain(req, parsed, nodes), 'no active node: a drained; b unhealthy');
  assert.match(healthFilter.hint, /lifeboat node activate/);
  assert.deepEqual(names(healthFilter.filter(req, parsed, [...nodes, makeNode('c')])), ['c']);
});

test('a later filter that finds nothing names the drained hosts it never saw', async () => {
  const { Scheduler } = await import('../scheduler.ts');
  const s = new Scheduler();
  const r = makeRequest({ env: ['constraint:node==a'] });
  assert.throws(
    () => s.schedule(r, [makeNode('a', { availability: 'drain' }), makeNode('b')]),
    /no candidate node satisfies constraint:node==a: b \(drained, so not considered: a; `lifeboat node activate` takes a host back\)/,
  );
});
