import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractSchedulingFromRequest } from '../expression.ts';
import { makeContainer, makeNode, makeRequest, names } from '../test-fixtures.ts';
import { containerSlots, slotsFilter } from './slots.ts';

const req = makeRequest();
const parsed = extractSchedulingFromRequest(req);
const containers = (n: number, running = true) =>
  Array.from({ length: n }, (_, i) => makeContainer(`c${i}`, { running }));

test('containerslots=N admits a node with fewer than N running containers', () => {
  const nodes = [
    makeNode('full', { labels: { containerslots: '2' }, containers: containers(2) }),
    makeNode('room', { labels: { containerslots: '3' }, containers: containers(2) }),
    makeNode('unlimited', { containers: containers(50) }),
  ];
  assert.deepEqual(names(slotsFilter.filter(req, parsed, nodes)), ['room', 'unlimited']);
});

test('stopped containers do not take a slot', () => {
  const node = makeNode('a', {
    labels: { containerslots: '2' },
    containers: [...containers(1), ...containers(3, false)],
  });
  assert.deepEqual(names(slotsFilter.filter(req, parsed, [node])), ['a']);
});

test('a label that is not an integer means no limit, as in Swarm', () => {
  const nodes = ['abc', '1.5', ''].map((v) =>
    makeNode(`n${v}`, { labels: { containerslots: v }, containers: containers(5) }),
  );
  assert.equal(slotsFilter.filter(req, parsed, nodes).length, 3);
  assert.equal(containerSlots(makeNode('x', { labels: { containerslots: '0' } })), 0);
  assert.deepEqual(
    slotsFilter.filter(req, parsed, [makeNode('zero', { labels: { containerslots: '0' } })]),
    [],
  );
});

test('the explanation shows usage per node', () => {
  const nodes = [makeNode('a', { labels: { containerslots: '1' }, containers: containers(1) })];
  assert.deepEqual(slotsFilter.filter(req, parsed, nodes), []);
  assert.equal(
    slotsFilter.explain(req, parsed, nodes),
    'no free container slot: a (1 running, containerslots=1)',
  );
});
