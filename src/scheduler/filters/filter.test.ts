import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../util/errors.ts';
import { FILTERS, filterNames, getFilters } from './filter.ts';

test('the registry holds every filter in Swarm order', () => {
  assert.deepEqual(filterNames(), [
    'health',
    'port',
    'containerslots',
    'dependency',
    'affinity',
    'constraint',
  ]);
  assert.equal(FILTERS.length, 6);
});

test('getFilters: all by default, chosen ones in the given order without duplicates', () => {
  assert.deepEqual(
    getFilters().map((f) => f.name),
    filterNames(),
  );
  assert.deepEqual(
    getFilters(['constraint', 'health', 'constraint']).map((f) => f.name),
    ['constraint', 'health'],
  );
  assert.deepEqual(getFilters([]), []);
});

test('an unknown filter is a ValidationError listing the valid names', () => {
  assert.throws(
    () => getFilters(['health', 'colocation']),
    (err: unknown) =>
      err instanceof ValidationError &&
      err.message ===
        'unknown scheduler filter "colocation"; valid filters: health, port, containerslots, dependency, affinity, constraint',
  );
});
