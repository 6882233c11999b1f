import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeNode, makeRequest, names } from '../test-fixtures.ts';
import { mulberry32 } from '../../util/prng.ts';
import { createRandomStrategy } from './random.ts';

// A small deterministic generator, so the order is reproducible.
const seeded = mulberry32;

const nodes = ['a', 'b', 'c', 'd'].map((n) => makeNode(n));

test('random returns every candidate, in an order set by the injected RNG', () => {
  const one = names(createRandomStrategy(seeded(42)).rank(makeRequest(), nodes));
  const two = names(createRandomStrategy(seeded(42)).rank(makeRequest(), nodes));
  assert.deepEqual(one, two);
  assert.deepEqual([...one].sort(), ['a', 'b', 'c', 'd']);
});

test('random ignores reservations, as in Swarm', () => {
  const r = makeRequest({ cpuShares: 1000, memoryBytes: 1e15 });
  assert.equal(createRandomStrategy(() => 0).rank(r, nodes).length, 4);
});

test('every node can come first', () => {
  const rng = seeded(7);
  const strategy = createRandomStrategy(rng);
  const firsts = new Set<string>();
  for (let i = 0; i < 200; i++) firsts.add(strategy.rank(makeRequest(), nodes)[0]?.name ?? '');
  assert.deepEqual([...firsts].sort(), ['a', 'b', 'c', 'd']);
});

test('an RNG returning 1 or 0 stays in range', () => {
  assert.equal(createRandomStrategy(() => 1).rank(makeRequest(), nodes).length, 4);
  assert.equal(createRandomStrategy(() => 0).rank(makeRequest(), nodes).length, 4);
  assert.deepEqual(createRandomStrategy(() => 0.5).rank(makeRequest(), []), []);
});
