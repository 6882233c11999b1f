import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { extractSchedulingFromRequest } from '../expression.ts';
import { makeContainer, makeNode, makeRequest, names } from '../test-fixtures.ts';
import type { PortBinding, SchedNode } from '../types.ts';
import { formatPort, portConflict, portFilter } from './port.ts';

function run(nodes: SchedNode[], portBindings: PortBinding[], networkMode?: string): string[] {
  const req = makeRequest({ portBindings, ...(networkMode === undefined ? {} : { networkMode }) });
  return names(portFilter.filter(req, extractSchedulingFromRequest(req), nodes));
}

const threeNodes = (): SchedNode[] => ['node-0', 'node-1', 'node-2'].map((n) => makeNode(n));
const holding = (...ports: PortBinding[]) => makeContainer('holder', { ports });

describe('port filter', () => {
  test('no ports requested, or nothing in use: every node', () => {
    const nodes = threeNodes();
    assert.deepEqual(run(nodes, []), names(nodes));
    assert.deepEqual(run(nodes, [{ hostPort: 80 }]), names(nodes));
    nodes[0]?.containers.push(holding({ hostPort: 4242 }));
    assert.deepEqual(run(nodes, [{ hostPort: 80 }]), names(nodes));
  });

  test('a node holding the port is out', () => {
    const nodes = threeNodes();
    nodes[0]?.containers.push(holding({ hostPort: 80 }));
    assert.deepEqual(run(nodes, [{ hostPort: 80 }]), ['node-1', 'node-2']);
  });

  test('docs: -p 80:80 four times fills three nodes, then nothing fits', () => {
    const nodes = threeNodes();
    for (let i = 0; i < 3; i++) {
      const left = run(nodes, [{ hostPort: 80, containerPort: 80 }]);
      const target = nodes.find((n) => n.name === left[0]);
      assert.ok(target);
      target.containers.push(holding({ hostPort: 80, containerPort: 80 }));
    }
    assert.deepEqual(run(nodes, [{ hostPort: 80 }]), []);
    assert.deepEqual(run(nodes, [{ hostPort: 81 }]), names(nodes));
  });

  test('host addresses: every-interface bindings overlap everything, distinct addresses do not', () => {
    const nodes = threeNodes();
    nodes[0]?.containers.push(holding({ hostPort: 80 }));
    assert.deepEqual(run(nodes, [{ hostPort: 80, hostIp: '127.0.0.1' }]), ['node-1', 'node-2']);
    nodes[1]?.containers.push(holding({ hostPort: 4242, hostIp: '127.0.0.1' }));
    assert.deepEqual(run(nodes, [{ hostPort: 4242, hostIp: '127.0.0.1' }]), ['node-0', 'node-2']);
    assert.deepEqual(run(nodes, [{ hostPort: 4242, hostIp: '0.0.0.0' }]), ['node-0', 'node-2']);
    assert.deepEqual(run(nodes, [{ hostPort: 4242 }]), ['node-0', 'node-2']);
    assert.deepEqual(run(nodes, [{ hostPort: 4242, hostIp: '::' }]), ['node-0', 'node-2']);
    assert.deepEqual(run(nodes, [{ hostPort: 4242, hostIp: '192.168.1.1' }]), names(nodes));
  });

  test('protocols do not collide: 53/udp and 53/tcp coexist', () => {
    const nodes = threeNodes();
    nodes[0]?.containers.push(holding({ hostPort: 53, protocol: 'udp' }));
    assert.deepEqual(run(nodes, [{ hostPort: 53, protocol: 'tcp' }]), names(nodes));
    assert.deepEqual(run(nodes, [{ hostPort: 53 }]), names(nodes));
    assert.deepEqual(run(nodes, [{ hostPort: 53, protocol: 'udp' }]), ['node-1', 'node-2']);
  });

  test('a random host port (0) never conflicts; a randomly assigned one is held', () => {
    const nodes = threeNodes();
    nodes[0]?.containers.push(holding({ hostPort: 1234, hostIp: '127.0.0.1', containerPort: 80 }));
    assert.deepEqual(run(nodes, [{ hostPort: 0, containerPort: 80 }]), names(nodes));
    assert.deepEqual(run(nodes, [{ hostPort: 80 }]), names(nodes));
    assert.deepEqual(run(nodes, [{ hostPort: 1234 }]), ['node-1', 'node-2']);
  });

  test('stopped containers keep their ports', () => {
    const nodes = threeNodes();
    nodes[2]?.containers.push(makeContainer('stopped', { running: false, ports: [{ hostPort: 80 }] }));
    assert.deepEqual(run(nodes, [{ hostPort: 80 }]), ['node-0', 'node-1']);
  });

  test('host networking: exposed ports given as bindings conflict the same way', () => {
    const nodes = threeNodes();
    nodes[0]?.containers.push(holding({ hostPort: 80, containerPort: 80 }));
    assert.deepEqual(run(nodes, [{ hostPort: 80, containerPort: 80 }], 'host'), ['node-1', 'node-2']);
  });

  test('several ports must all be free', () => {
    const nodes = threeNodes();
    nodes[0]?.containers.push(holding({ hostPort: 80 }));
    nodes[1]?.containers.push(holding({ hostPort: 443 }));
    assert.deepEqual(run(nodes, [{ hostPort: 80 }, { hostPort: 443 }]), ['node-2']);
  });

  test('conditions and explanation', () => {
    const nodes = threeNodes().slice(0, 2);
    for (const n of nodes) n.containers.push(makeContainer(`web-${n.name}`, { ports: [{ hostPort: 80 }] }));
    const req = makeRequest({ portBindings: [{ hostPort: 8080, hostIp: '127.0.0.1' }, { hostPort: 80 }] });
    const p = extractSchedulingFromRequest(req);
    assert.deepEqual(portFilter.conditions(req, p), ['port 127.0.0.1:8080/tcp', 'port 80/tcp']);
    assert.equal(
      portFilter.explain(req, p, nodes),
      'port 80/tcp is taken on every candidate node: node-0 (held by web-node-0), node-1 (held by web-node-1)',
    );
    const host = makeRequest({ portBindings: [{ hostPort: 80 }], networkMode: 'host' });
    assert.deepEqual(portFilter.conditions(host, p), ['port 80/tcp (host network)']);
  });

  test('portConflict and formatPort', () => {
    assert.equal(portConflict({ hostPort: 80 }, { hostPort: 80, protocol: 'tcp' }), true);
    assert.equal(
      portConflict({ hostPort: 80, hostIp: '10.0.0.1' }, { hostPort: 80, hostIp: '10.0.0.2' }),
      false,
    );
    assert.equal(portConflict({ hostPort: 0 }, { hostPort: 0 }), false);
    assert.equal(formatPort({ hostPort: 53, protocol: 'udp', hostIp: '::' }), '53/udp');
  });
});
