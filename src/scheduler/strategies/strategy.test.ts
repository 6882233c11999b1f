import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../util/errors.ts';
import { makeNode, makeRequest, names } from '../test-fixtures.ts';
import { DEFAULT_STRATEGY, STRATEGY_NAMES, createStrategy } from './strategy.ts';

test('the registry knows spread (default), binpack and random', () => {
  assert.deepEqual([...STRATEGY_NAMES], ['spread', 'binpack', 'random']);
  assert.equal(DEFAULT_STRATEGY, 'spread');
  assert.equal(createStrategy().name, 'spread');
  for (const name of STRATEGY_NAMES) assert.equal(createStrategy(name).name, name);
});

test('random takes the injected RNG', () => {
  const nodes = ['a', 'b', 'c'].map((n) => makeNode(n));
  // rng 0 swaps every element with the first: a,b,c -> c,b,a -> b,c,a
  assert.deepEqual(names(createStrategy('random', { rng: () => 0 }).rank(makeRequest(), nodes)), [
    'b',
    'c',
    'a',
  ]);
});

test('an unknown strategy is a ValidationError listing the valid names', () => {
  assert.throws(
    () => createStrategy('roundrobin'),
    (err: unknown) =>
      err instanceof ValidationError &&
      err.message === 'unknown scheduler strategy "roundrobin"; valid strategies: spread, binpack, random',
  );
});
