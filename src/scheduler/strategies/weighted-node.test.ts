import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeContainer, makeNode, makeRequest } from '../test-fixtures.ts';
import { explainResources, reserved, resourceConditions, weighNodes } from './weighted-node.ts';

const GiB = 1024 ** 3;

test('weight = CPU% + memory% after placing (integer), 100 each without a reservation', () => {
  const n = makeNode('a', {
    cpus: 4,
    memoryBytes: 4 * GiB,
    containers: [makeContainer('x', { cpuShares: 1, memoryBytes: GiB })],
  });
  assert.deepEqual(
    weighNodes(makeRequest(), [n], 0).map((w) => w.weight),
    [200],
  );
  assert.deepEqual(
    weighNodes(makeRequest({ cpuShares: 1, memoryBytes: GiB }), [n], 0).map((w) => w.weight),
    [50 + 50],
  );
  assert.deepEqual(
    weighNodes(makeRequest({ cpuShares: 2 }), [n], 0).map((w) => w.weight),
    [75 + 100],
  );
  assert.deepEqual(
    weighNodes(makeRequest({ memoryBytes: 1 }), [makeNode('b', { memoryBytes: 3 })], 0).map((w) => w.weight),
    [100 + 33],
  );
});

test('health term: factor x 100 for a healthy node, 0 otherwise', () => {
  const nodes = [makeNode('a'), makeNode('b', { healthy: false })];
  assert.deepEqual(
    weighNodes(makeRequest(), nodes, -10).map((w) => w.weight),
    [200 - 1000, 200],
  );
});

test('a full node or one smaller than the reservation is left out; exactly full fits', () => {
  const full = makeNode('full', { cpus: 2, containers: [makeContainer('x', { cpuShares: 2 })] });
  const exact = makeNode('exact', { cpus: 2, containers: [makeContainer('x', { cpuShares: 1 })] });
  const tiny = makeNode('tiny', { cpus: 0 });
  assert.deepEqual(
    weighNodes(makeRequest({ cpuShares: 1 }), [full, exact, tiny], 0).map((w) => w.node.name),
    ['exact'],
  );
});

test('reserved sums every container, stopped ones too', () => {
  const n = makeNode('a', {
    containers: [
      makeContainer('x', { cpuShares: 1, memoryBytes: GiB }),
      makeContainer('y', { cpuShares: 0.5, running: false }),
      makeContainer('z'),
    ],
  });
  assert.deepEqual(reserved(n), { cpus: 1.5, memoryBytes: GiB });
});

test('resource conditions and explanation', () => {
  const r = makeRequest({ cpuShares: 2, memoryBytes: 3 * GiB });
  assert.deepEqual(resourceConditions(r), ['2 CPUs reserved', '3 GiB memory reserved']);
  assert.deepEqual(resourceConditions(makeRequest()), []);
  const n = makeNode('a', {
    cpus: 2,
    memoryBytes: 2 * GiB,
    containers: [makeContainer('x', { cpuShares: 1 })],
  });
  assert.equal(
    explainResources(r, [n]),
    'no resources available to schedule container: 2 CPUs reserved and 3 GiB memory reserved fit on no candidate node: a (1 CPU of 2 free, 2 GiB of 2 GiB free)',
  );
});
