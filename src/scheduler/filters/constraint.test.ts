import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { extractSchedulingFromRequest, type ParsedScheduling } from '../expression.ts';
import { makeNode, makeRequest, names } from '../test-fixtures.ts';
import type { SchedNode } from '../types.ts';
import { constraintFilter } from './constraint.ts';

// The fixture of Swarm's constraint_test.go.
function fixture(): SchedNode[] {
  return [
    makeNode('node-0-name', { id: 'node-0-id', labels: { name: 'node0', group: '1', region: 'us-west' } }),
    makeNode('node-1-name', { id: 'node-1-id', labels: { name: 'node1', group: '1', region: 'us-east' } }),
    makeNode('node-2-name', { id: 'node-2-id', labels: { name: 'node2', group: '2', region: 'eu' } }),
    makeNode('node-3-name', { id: 'node-3-id' }),
  ];
}

function parsed(...constraints: string[]): ParsedScheduling {
  return extractSchedulingFromRequest(makeRequest({ env: constraints.map((c) => `constraint:${c}`) }));
}

function run(nodes: SchedNode[], ...constraints: string[]): string[] {
  return names(constraintFilter.filter(makeRequest(), parsed(...constraints), nodes));
}

describe('constraint filter', () => {
  const nodes = fixture();

  test('no constraints keeps every node', () => {
    assert.deepEqual(run(nodes), names(nodes));
  });

  test('a constraint nobody meets keeps nothing', () => {
    assert.deepEqual(run(nodes, 'does_not_exist==true'), []);
  });

  test('labels: single node, subset, logical AND', () => {
    assert.deepEqual(run(nodes, 'name==node1'), ['node-1-name']);
    assert.deepEqual(run(nodes, 'group==1'), ['node-0-name', 'node-1-name']);
    assert.deepEqual(run(nodes, 'name==node0', 'group==1'), ['node-0-name']);
  });

  test('node pins by id or by name', () => {
    assert.deepEqual(run(nodes, 'node==node-2-id'), ['node-2-name']);
    assert.deepEqual(run(nodes, 'node==node-1-name'), ['node-1-name']);
    assert.deepEqual(run(nodes, 'NODE==node-1-name'), ['node-1-name']);
  });

  test('globs: exact value needed without *, prefix and infix with it', () => {
    assert.deepEqual(run(nodes, 'region==us'), []);
    assert.deepEqual(run(nodes, 'region==us*'), ['node-0-name', 'node-1-name']);
    assert.deepEqual(run(nodes, 'region==*us*'), ['node-0-name', 'node-1-name']);
  });

  test('!= keeps nodes without the label (a missing label matches !=)', () => {
    assert.deepEqual(run(nodes, 'name!=node0'), ['node-1-name', 'node-2-name', 'node-3-name']);
    assert.deepEqual(run(nodes, 'name!=does_not_exist'), names(nodes));
    assert.deepEqual(run(nodes, 'name!=n*'), ['node-3-name']);
    // docs: `constraint:region!=us*` matches all nodes outside the us regions
    assert.deepEqual(run(nodes, 'region!=us*'), ['node-2-name', 'node-3-name']);
  });

  test('regular expressions', () => {
    assert.deepEqual(run(nodes, 'name==/node\\d/'), ['node-0-name', 'node-1-name', 'node-2-name']);
    assert.deepEqual(run(nodes, 'name==/node[12]/'), ['node-1-name', 'node-2-name']);
    assert.deepEqual(run(nodes, 'name!=/node[12]/'), ['node-0-name', 'node-3-name']);
    assert.deepEqual(run(nodes, 'node!=/node-[01]-id/'), ['node-2-name', 'node-3-name']);
  });

  test('case-sensitive unless the regexp says (?i)', () => {
    const odd = fixture();
    const last = odd[3];
    assert.ok(last);
    last.labels = { name: 'aBcDeF', group: '2', region: 'eu' };
    assert.deepEqual(run(odd, 'name==/abcdef/'), []);
    assert.deepEqual(run(odd, 'name==/(?i)abcdef/'), ['node-3-name']);
    assert.deepEqual(run(odd, 'name!=/(?i)abc*/'), ['node-0-name', 'node-1-name', 'node-2-name']);
  });

  test('soft constraints narrow when they can and are skipped when they cannot', () => {
    assert.deepEqual(run(nodes, 'node==~node-1-name'), ['node-1-name']);
    assert.deepEqual(run(nodes, 'name!=~/(?i)abc*/'), names(nodes));
    assert.deepEqual(run(nodes, 'region!=~us*'), ['node-2-name', 'node-3-name']);
    assert.deepEqual(run(nodes, 'region!=~can*'), names(nodes));
    assert.deepEqual(run(nodes, 'region==~nowhere', 'group==1'), ['node-0-name', 'node-1-name']);
    // Swarm's `region==~us~`: the value is 'us~', which nothing matches, so the soft constraint is dropped.
    assert.deepEqual(run(nodes, 'region==~us~'), names(nodes));
  });

  test("the docs' storage example: storage==ssd picks node-1, storage==disk node-2", () => {
    const cluster = [
      makeNode('node-1', { labels: { storage: 'ssd' } }),
      makeNode('node-2', { labels: { storage: 'disk' } }),
    ];
    assert.deepEqual(run(cluster, 'storage==ssd'), ['node-1']);
    assert.deepEqual(run(cluster, 'storage==disk'), ['node-2']);
  });

  test('standard tags are plain labels: storagedriver, kernelversion, operatingsystem', () => {
    const cluster = [
      makeNode('a', {
        labels: {
          storagedriver: 'overlay',
          kernelversion: '6.8.0-45-generic',
          operatingsystem: 'Ubuntu 24.04',
        },
      }),
      makeNode('b', {
        labels: { storagedriver: 'vfs', kernelversion: '5.15.0-91-generic', operatingsystem: 'Debian 12' },
      }),
    ];
    assert.deepEqual(run(cluster, 'storagedriver==overlay'), ['a']);
    assert.deepEqual(run(cluster, 'kernelversion==5.15*'), ['b']);
    assert.deepEqual(run(cluster, 'operatingsystem==Ubuntu*'), ['a']);
    assert.deepEqual(run(cluster, 'storagedriver!=overlay'), ['b']);
  });

  test('docs: node1 / not node1 / node[12] / node + one digit', () => {
    const cluster = ['node1', 'node2', 'node3', 'node-0', 'node-1', 'foo[bar]'].map((n) => makeNode(n));
    assert.deepEqual(run(cluster, 'node==node1'), ['node1']);
    assert.deepEqual(run(cluster, 'node!=node1'), ['node2', 'node3', 'node-0', 'node-1', 'foo[bar]']);
    assert.deepEqual(run(cluster, 'node==/node[12]/'), ['node1', 'node2']);
    assert.deepEqual(run(cluster, 'node==/node\\d/'), ['node1', 'node2', 'node3']);
    assert.deepEqual(run(cluster, 'node!=/node-[01]/'), ['node1', 'node2', 'node3', 'foo[bar]']);
    assert.deepEqual(run(cluster, 'node!=/foo\\[bar\\]/'), ['node1', 'node2', 'node3', 'node-0', 'node-1']);
    assert.deepEqual(run(cluster, 'node==/node-\\d/'), ['node-0', 'node-1']);
  });

  test('label keys are looked up ignoring case', () => {
    const cluster = [
      makeNode('a', { labels: { Region: 'eu' } }),
      makeNode('b', { labels: { region: 'us' } }),
    ];
    assert.deepEqual(run(cluster, 'region==eu'), ['a']);
    assert.deepEqual(run(cluster, 'REGION==us'), ['b']);
  });

  test('conditions and explanation name the failing expression and what the nodes have', () => {
    const p = parsed('group==1', 'region==eu');
    assert.deepEqual(constraintFilter.conditions(makeRequest(), p), [
      'constraint:group==1',
      'constraint:region==eu',
    ]);
    assert.equal(
      constraintFilter.explain(makeRequest(), p, nodes),
      'no candidate node satisfies constraint:region==eu: node-0-name (region=us-west), node-1-name (region=us-east)',
    );
    assert.match(
      constraintFilter.explain(makeRequest(), parsed('zone==a'), nodes),
      /node-3-name \(no zone label\)/,
    );
  });
});
