import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeContainer, makeNode, makeRequest, names } from '../test-fixtures.ts';
import type { ContainerRequest, SchedNode } from '../types.ts';
import { binpackStrategy } from './binpack.ts';

const GiB = 1024 ** 3;
const node = (name: string, memGiB: number, cpus: number): SchedNode =>
  makeNode(name, { memoryBytes: memGiB * GiB, cpus });
const req = (memGiB: number, cpus: number): ContainerRequest =>
  makeRequest({ memoryBytes: memGiB * GiB, cpuShares: cpus });

let seq = 0;
// Places like Swarm's tests: rank, take the top node, add the container there.
function place(nodes: SchedNode[], r: ContainerRequest): SchedNode {
  const top = binpackStrategy.rank(r, nodes)[0];
  assert.ok(top, 'expected a node to fit');
  top.containers.push(
    makeContainer(`c${seq++}`, { memoryBytes: r.memoryBytes ?? 0, cpuShares: r.cpuShares ?? 0 }),
  );
  return top;
}

describe('binpack strategy (Swarm binpack_test.go)', () => {
  test('equal weight: the node with more containers wins', () => {
    const nodes = [node('node-0', 4, 0), node('node-1', 4, 0)];
    nodes[0]?.containers.push(makeContainer('c1', { memoryBytes: 2 * GiB }));
    nodes[1]?.containers.push(
      makeContainer('c2', { memoryBytes: GiB }),
      makeContainer('c3', { memoryBytes: GiB }),
    );
    assert.equal(place(nodes, req(1, 0)).name, 'node-1');
  });

  test('memory: two 1G containers go to the same 2G node', () => {
    const nodes = [node('node-0', 2, 0), node('node-1', 2, 0)];
    assert.equal(place(nodes, req(1, 0)).name, place(nodes, req(1, 0)).name);
  });

  test('cpu: two 1-CPU containers go to the same 2-CPU node', () => {
    const nodes = [node('node-0', 0, 2), node('node-1', 0, 2)];
    assert.equal(place(nodes, req(0, 1)).name, place(nodes, req(0, 1)).name);
  });

  test('huge: 100 one-CPU nodes take exactly 100 one-CPU containers, then 100 1G ones', () => {
    const nodes = Array.from({ length: 100 }, (_, i) => node(`node-${i}`, 1, 1));
    for (let i = 0; i < 100; i++) place(nodes, req(0, 1));
    assert.deepEqual(binpackStrategy.rank(req(0, 1), nodes), []);
    for (let i = 0; i < 100; i++) place(nodes, req(1, 0));
    assert.deepEqual(binpackStrategy.rank(req(1, 0), nodes), []);
  });

  test('the demo: fill, refuse, free a node, fill again', () => {
    const nodes = [0, 1, 2].map((i) => node(`node-${i}`, 2, 4));
    assert.deepEqual(binpackStrategy.rank(req(10, 0), nodes), []);
    const n1 = place(nodes, req(1, 0));
    assert.equal(place(nodes, req(1, 0)), n1);
    const n2 = place(nodes, req(2, 0));
    assert.notEqual(n2, n1);
    const n3 = place(nodes, req(1, 0));
    assert.notEqual(n3, n1);
    assert.notEqual(n3, n2);
    assert.equal(place(nodes, req(1, 0)), n3);
    assert.deepEqual(binpackStrategy.rank(req(1, 0), nodes), []);
    n2.containers = [];
    assert.equal(place(nodes, req(1, 0)), n2);
  });

  test('complex: the 1G container joins the 3G one on a 4G node', () => {
    const nodes = [node('node-0', 4, 4), node('node-1', 4, 4)];
    const a = place(nodes, req(2, 0));
    const b = place(nodes, req(3, 0));
    assert.notEqual(a, b);
    assert.equal(place(nodes, req(1, 0)), b);
  });

  test('docs: the second 1G container joins the first on node-1, leaving node-2 free for 2G', () => {
    const nodes = [node('node-1', 2, 2), node('node-2', 2, 2)];
    assert.equal(place(nodes, req(1, 0)).name, 'node-1');
    assert.equal(place(nodes, req(1, 0)).name, 'node-1');
    assert.equal(place(nodes, req(2, 0)).name, 'node-2');
  });

  test('no reservation: the node with the most containers first, ties by name', () => {
    const nodes = [node('b', 1, 1), node('a', 1, 1), node('c', 1, 1)];
    nodes[2]?.containers.push(makeContainer('x'));
    assert.deepEqual(names(binpackStrategy.rank(makeRequest(), nodes)), ['c', 'a', 'b']);
  });

  test('healthy nodes first when unhealthy ones reach it', () => {
    const nodes = [node('a', 1, 1), node('b', 1, 1)];
    nodes[0]!.healthy = false;
    nodes[0]!.containers.push(makeContainer('x'), makeContainer('y'));
    assert.deepEqual(names(binpackStrategy.rank(makeRequest(), nodes)), ['b', 'a']);
  });
});
