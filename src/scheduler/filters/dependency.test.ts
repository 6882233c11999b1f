import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { extractSchedulingFromRequest } from '../expression.ts';
import { makeContainer, makeNode, makeRequest, names } from '../test-fixtures.ts';
import type { ContainerRequest, SchedNode } from '../types.ts';
import { dependenciesOf, dependencyFilter, findContainer } from './dependency.ts';

// The fixture of Swarm's dependency_test.go.
function fixture(): SchedNode[] {
  return [
    makeNode('node-0-name', { id: 'node-0-id', containers: [makeContainer('c0', { id: 'c0' })] }),
    makeNode('node-1-name', { id: 'node-1-id', containers: [makeContainer('c1', { id: 'c1' })] }),
    makeNode('node-2-name', {
      id: 'node-2-id',
      containers: [makeContainer('c2', { id: 'c2' }), makeContainer('c3', { id: 'c3' })],
    }),
  ];
}

function run(nodes: SchedNode[], over: Partial<ContainerRequest>): string[] {
  const req = makeRequest(over);
  return names(dependencyFilter.filter(req, extractSchedulingFromRequest(req), nodes));
}

describe('dependency filter', () => {
  const nodes = fixture();

  test('no dependencies keeps every node', () => {
    assert.deepEqual(run(nodes, {}), names(nodes));
  });

  test('--volumes-from, with or without :ro', () => {
    assert.deepEqual(run(nodes, { volumesFrom: ['c0'] }), ['node-0-name']);
    assert.deepEqual(run(nodes, { volumesFrom: ['c1:ro'] }), ['node-1-name']);
    assert.deepEqual(run(nodes, { volumesFrom: ['c0', 'c1'] }), []);
    assert.deepEqual(run(nodes, { volumesFrom: ['c2', 'c3'] }), ['node-2-name']);
  });

  test('--link name:alias, also in Docker internal /name:/child/alias form', () => {
    assert.deepEqual(run(nodes, { links: ['c0:db'] }), ['node-0-name']);
    assert.deepEqual(run(nodes, { links: ['/c1:/web/db'] }), ['node-1-name']);
    assert.deepEqual(run(nodes, { links: ['c0:a', 'c1:b'] }), []);
  });

  test('--net=container:X', () => {
    assert.deepEqual(run(nodes, { networkMode: 'container:c2' }), ['node-2-name']);
    assert.deepEqual(run(nodes, { networkMode: 'bridge' }), names(nodes));
    assert.deepEqual(run(nodes, { networkMode: 'host' }), names(nodes));
  });

  test('docs: --volumes-from=A --net=container:B needs A and B on one node', () => {
    assert.deepEqual(run(nodes, { volumesFrom: ['c2'], networkMode: 'container:c3', links: ['c2:x'] }), [
      'node-2-name',
    ]);
    assert.deepEqual(run(nodes, { volumesFrom: ['c0'], networkMode: 'container:c1' }), []);
  });

  test('a dependency on a missing container keeps nothing', () => {
    assert.deepEqual(run(nodes, { links: ['ghost:g'] }), []);
  });

  test('conditions and explanation name each dependency and where it is', () => {
    const req = makeRequest({ volumesFrom: ['c0'], links: ['c1:db'], networkMode: 'container:ghost' });
    const p = extractSchedulingFromRequest(req);
    assert.deepEqual(dependencyFilter.conditions(req, p), [
      '--volumes-from=c0',
      '--link=c1:db',
      '--net=container:ghost',
    ]);
    assert.equal(
      dependencyFilter.explain(req, p, nodes),
      'no candidate node holds every dependency: --volumes-from=c0 (on node-0-name), --link=c1:db (on node-1-name), --net=container:ghost (on no candidate node)',
    );
  });

  test('dependenciesOf ignores empty references', () => {
    assert.deepEqual(dependenciesOf(makeRequest({ links: [''], networkMode: 'container:' })), []);
  });
});

describe('findContainer (Swarm Containers.Get)', () => {
  const full = 'abcdef0123456789'.repeat(4);
  const node = makeNode('n1', {
    id: 'n1-id',
    containers: [
      makeContainer('/web', { id: full }),
      makeContainer('db', { id: 'fedcba9876543210'.repeat(4) }),
      makeContainer('twin', { id: 'aaaa1' }),
      makeContainer('twin', { id: 'aaaa2' }),
    ],
  });

  test('full ID, short ID, name, /name, node/name', () => {
    assert.equal(findContainer(node, full)?.name, '/web');
    assert.equal(findContainer(node, full.slice(0, 12))?.name, '/web');
    assert.equal(findContainer(node, 'web')?.id, full);
    assert.equal(findContainer(node, '/web')?.id, full);
    assert.equal(findContainer(node, 'n1/web')?.id, full);
    assert.equal(findContainer(node, 'n1-id/db')?.name, 'db');
  });

  test('unique ID prefix; ambiguous name or prefix is no match', () => {
    assert.equal(findContainer(node, 'fedc')?.name, 'db');
    assert.equal(findContainer(node, 'aaaa'), undefined);
    assert.equal(findContainer(node, 'twin'), undefined);
    assert.equal(findContainer(node, ''), undefined);
  });
});
