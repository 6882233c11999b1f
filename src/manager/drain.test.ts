import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { autoParallel } from './drain.ts';

describe('drain', () => {
  test('parallel moves by default: bounded by the source CPUs, the targets and 4', () => {
    assert.equal(autoParallel(2, 2), 2);
    assert.equal(autoParallel(2, 1), 2);
    assert.equal(autoParallel(1, 3), 1);
    assert.equal(autoParallel(16, 1), 2);
    assert.equal(autoParallel(16, 8), 4);
    assert.equal(autoParallel(4, 0), 1);
  });
});
