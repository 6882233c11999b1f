import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeNode, makeRequest, names } from '../test-fixtures.ts';
import { createRandomStrategy } from './random.ts';

// A small deterministic generator (mulberry32) so the order is reproducible.
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
