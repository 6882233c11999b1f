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
