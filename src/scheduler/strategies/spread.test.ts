import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeContainer, makeNode, makeRequest, names } from '../test-fixtures.ts';
import type { ContainerRequest, SchedNode } from '../types.ts';
import { spreadStrategy } from './spread.ts';

const GiB = 1024 ** 3;
const node = (name: string, memGiB: number, cpus: number): SchedNode =>
  makeNode(name, { memoryBytes: memGiB * GiB, cpus });
const req = (memGiB: number, cpus: number): ContainerRequest =>
  makeRequest({ memoryBytes: memGiB * GiB, cpuShares: cpus });

let seq = 0;
function place(nodes: SchedNode[], r: ContainerRequest): SchedNode {
  const top = spreadStrategy.rank(r, nodes)[0];
  assert.ok(top, 'expected a node to fit');
  top.containers.push(
    makeContainer(`c${seq++}`, { memoryBytes: r.memoryBytes ?? 0, cpuShares: r.cpuShares ?? 0 }),
  );
  return top;
}

describe('spread strategy (Swarm spread_test.go)', () => {
  test('equal weight: the node with fewer containers wins', () => {
    const nodes = [node('node-0', 4, 0), node('node-1', 4, 0)];
    nodes[0]?.containers.push(makeContainer('c1', { memoryBytes: 2 * GiB }));
    nodes[1]?.containers.push(
      makeContainer('c2', { memoryBytes: GiB }),
      makeContainer('c3', { memoryBytes: GiB }),
    );
    assert.equal(place(nodes, req(1, 0)).name, 'node-0');
  });

  test('memory: two 1G containers go to different 2G nodes', () => {
    const nodes = [node('node-0', 2, 0), node('node-1', 2, 0)];
    assert.notEqual(place(nodes, req(1, 0)), place(nodes, req(1, 0)));
  });

  test('cpu: two 1-CPU containers go to different 2-CPU nodes', () => {
    const nodes = [node('node-0', 0, 2), node('node-1', 0, 2)];
    assert.notEqual(place(nodes, req(0, 1)), place(nodes, req(0, 1)));
  });

  test('huge: 100 one-CPU nodes take exactly 100 one-CPU containers', () => {
    const nodes = Array.from({ length: 100 }, (_, i) => node(`node-${i}`, 1, 1));
    for (let i = 0; i < 100; i++) place(nodes, req(0, 1));
    assert.ok(nodes.every((n) => n.containers.length === 1));
    assert.deepEqual(spreadStrategy.rank(req(0, 1), nodes), []);
  });

  test('docs: two 1G containers on two 2G nodes land on node-1 then node-2', () => {
    const nodes = [node('node-1', 2, 2), node('node-2', 2, 2)];
    assert.equal(place(nodes, req(1, 0)).name, 'node-1');
    assert.equal(place(nodes, req(1, 0)).name, 'node-2');
  });

  test('the least loaded first: weight, then container count, then name', () => {
    const nodes = [node('c', 4, 4), node('a', 4, 4), node('b', 4, 4), node('d', 4, 4)];
    nodes[0]?.containers.push(makeContainer('x'));
    nodes[3]?.containers.push(makeContainer('big', { memoryBytes: 2 * GiB }));
    assert.deepEqual(names(spreadStrategy.rank(makeRequest(), nodes)), ['a', 'b', 'c', 'd']);
    assert.deepEqual(names(spreadStrategy.rank(req(1, 0), nodes)), ['a', 'b', 'c', 'd']);
  });

  test('a node too small for the reservation is left out', () => {
    const nodes = [node('small', 1, 1), node('big', 8, 8)];
    assert.deepEqual(names(spreadStrategy.rank(req(2, 0), nodes)), ['big']);
    assert.deepEqual(names(spreadStrategy.rank(req(0, 2), nodes)), ['big']);
  });

  test('stopped containers count (their reservations and their number), as in Swarm', () => {
    const nodes = [node('a', 4, 4), node('b', 4, 4)];
    nodes[0]?.containers.push(makeContainer('old', { running: false }));
    assert.deepEqual(names(spreadStrategy.rank(makeRequest(), nodes)), ['b', 'a']);
  });

  test('healthy nodes first when unhealthy ones reach it', () => {
    const nodes = [node('a', 1, 1), node('b', 1, 1)];
    nodes[0]!.healthy = false;
    nodes[1]!.containers.push(makeContainer('x'), makeContainer('y'));
    assert.deepEqual(names(spreadStrategy.rank(makeRequest(), nodes)), ['b', 'a']);
  });

  test('does not modify its input', () => {
    const nodes = [node('b', 1, 1), node('a', 1, 1)];
    spreadStrategy.rank(makeRequest(), nodes);
    assert.deepEqual(names(nodes), ['b', 'a']);
  });
});
