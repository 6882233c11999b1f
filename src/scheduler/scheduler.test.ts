import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../util/errors.ts';
import { CONSTRAINTS_LABEL, ExpressionError } from './expression.ts';
import { NO_NODE_PHRASE, NoNodeFitsError, Scheduler } from './scheduler.ts';
import { makeContainer, makeImage, makeNode, makeRequest } from './test-fixtures.ts';
import type { ContainerRequest, SchedNode } from './types.ts';

const GiB = 1024 ** 3;

function cluster(): SchedNode[] {
  return [
    makeNode('n1', { labels: { region: 'eu', storage: 'ssd' }, containers: [makeContainer('web')] }),
    makeNode('n2', { labels: { region: 'eu', storage: 'disk' } }),
    makeNode('n3', {
      labels: { region: 'us-east' },
      containers: [makeContainer('db'), makeContainer('cache')],
      images: [makeImage('sha256:' + 'a'.repeat(64), 'docker.io/library/redis:7')],
    }),
  ];
}

function noNode(fn: () => unknown): NoNodeFitsError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NoNodeFitsError, `expected NoNodeFitsError, got ${String(err)}`);
    return err;
  }
  assert.fail('scheduling succeeded but should not');
}

describe('Scheduler', () => {
  test('defaults: every filter, then spread; the trace shows each step', () => {
    const s = new Scheduler();
    assert.deepEqual(
      s.filters.map((f) => f.name),
      ['health', 'port', 'containerslots', 'dependency', 'affinity', 'constraint'],
    );
    assert.equal(s.strategy.name, 'spread');
    const p = s.schedule(makeRequest(), cluster());
    assert.equal(p.node.name, 'n2');
    assert.deepEqual(p.candidates, ['n2', 'n1', 'n3']);
    assert.deepEqual(
      p.trace.map((t) => t.filter),
      ['health', 'port', 'containerslots', 'dependency', 'affinity', 'constraint', 'strategy:spread'],
    );
    assert.deepEqual(p.trace.at(-1)?.remaining, ['n2', 'n1', 'n3']);
    assert.deepEqual(p.unmetSoft, []);
  });

  test('constraints and affinities from env narrow the candidates, step by step', () => {
    const req = makeRequest({ env: ['constraint:region==eu', 'affinity:container==web', 'A=1'] });
    const p = new Scheduler().schedule(req, cluster());
    assert.equal(p.node.name, 'n1');
    assert.deepEqual(p.trace.find((t) => t.filter === 'affinity')?.remaining, ['n1']);
    assert.deepEqual(p.scheduling.env, ['A=1']);
    assert.equal(p.scheduling.labels[CONSTRAINTS_LABEL], '["region==eu"]');
  });

  test('the request is not modified', () => {
    const req = makeRequest({ env: ['constraint:region==eu'], labels: { app: 'x' } });
    const before = structuredClone(req);
    new Scheduler().schedule(req, cluster());
    assert.deepEqual(req, before);
  });

  test('exclude (the migration source) is applied first and traced', () => {
    const p = new Scheduler().schedule(makeRequest(), cluster(), { exclude: ['n2'] });
    assert.equal(p.node.name, 'n1');
    assert.deepEqual(p.trace[0], { filter: 'exclude', remaining: ['n1', 'n3'] });
    assert.equal(new Scheduler().schedule(makeRequest(), cluster(), { exclude: ['n2-id'] }).node.name, 'n1');
  });

  test('excluding every node fails at exclude', () => {
    const err = noNode(() => new Scheduler().schedule(makeRequest(), [makeNode('n1')], { exclude: ['n1'] }));
    assert.equal(err.filter, 'exclude');
    assert.equal(err.message, `${NO_NODE_PHRASE} [node!=n1 (excluded)]: every node is excluded: n1`);
  });

  test('an empty cluster fails with "no nodes available"', () => {
    const err = noNode(() => new Scheduler().schedule(makeRequest(), []));
    assert.equal(err.filter, 'none');
    assert.equal(err.message, `${NO_NODE_PHRASE}: no nodes available in the cluster`);
  });

  test('no node fits: a 409 naming the filter, the conditions and the failing expression', () => {
    const req = makeRequest({
      env: ['constraint:region==eu', 'constraint:storage==nvme'],
      portBindings: [{ hostPort: 80 }],
    });
    const err = noNode(() => new Scheduler().schedule(req, cluster()));
    assert.equal(err.status, 409);
    assert.equal(err.code, 'no_node_fits');
    assert.equal(err.filter, 'constraint');
    assert.deepEqual(err.conditions, ['port 80/tcp', 'constraint:region==eu', 'constraint:storage==nvme']);
    assert.equal(
      err.message,
      `${NO_NODE_PHRASE} [port 80/tcp] [constraint:region==eu] [constraint:storage==nvme]: ` +
        'no candidate node satisfies constraint:storage==nvme: n1 (storage=ssd), n2 (storage=disk)',
    );
    assert.match(err.hint ?? '', /lifeboat node ls/);
    assert.deepEqual(err.trace.at(-1), { filter: 'constraint', remaining: [] });
  });

  test('health eliminating the last candidates is reported as such', () => {
    const nodes = cluster().map((n) => ({ ...n, healthy: false }));
    const err = noNode(() => new Scheduler().schedule(makeRequest(), nodes));
    assert.equal(err.filter, 'health');
    assert.equal(err.message, `${NO_NODE_PHRASE}: no healthy node: n1, n2, n3 unhealthy`);
  });

  test('docs: -p 80:80 fills one node at a time, then Swarm refuses', () => {
    const nodes = ['node-1', 'node-2', 'node-3'].map((n) => makeNode(n));
    const s = new Scheduler();
    const req = makeRequest({ image: 'nginx', portBindings: [{ hostPort: 80, containerPort: 80 }] });
    const placed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = s.schedule(req, nodes);
      placed.push(p.node.name);
      p.node.containers.push(makeContainer(`nginx${i}`, { ports: req.portBindings }));
    }
    assert.deepEqual(placed, ['node-1', 'node-2', 'node-3']);
    const err = noNode(() => s.schedule(req, nodes));
    assert.equal(err.filter, 'port');
    assert.match(
      err.message,
      /\[port 80\/tcp\]: port 80\/tcp is taken on every candidate node: node-1 \(held by nginx0\)/,
    );
  });

  test('reservations nobody can honour fail at the strategy step', () => {
    const nodes = [makeNode('a', { memoryBytes: 2 * GiB }), makeNode('b', { memoryBytes: GiB })];
    const err = noNode(() => new Scheduler().schedule(makeRequest({ memoryBytes: 4 * GiB }), nodes));
    assert.equal(err.filter, 'strategy:spread');
    assert.match(err.message, /\[4 GiB memory reserved\]: no resources available to schedule container/);
  });

  test('random ignores reservations', () => {
    const s = new Scheduler({ strategy: 'random', rng: () => 0 });
    const p = s.schedule(makeRequest({ memoryBytes: 64 * GiB }), cluster());
    assert.equal(p.candidates.length, 3);
  });

  test('binpack picks the busiest node', () => {
    const p = new Scheduler({ strategy: 'binpack' }).schedule(makeRequest(), cluster());
    assert.equal(p.node.name, 'n3');
  });

  describe('soft expressions', () => {
    test('honoured when possible', () => {
      const p = new Scheduler().schedule(makeRequest({ env: ['affinity:image==~redis'] }), cluster());
      assert.equal(p.node.name, 'n3');
      assert.deepEqual(p.unmetSoft, []);
    });

    test('skipped when they alone would leave no node, and reported as unmet', () => {
      const p = new Scheduler().schedule(makeRequest({ env: ['affinity:image==~postgres'] }), cluster());
      assert.equal(p.node.name, 'n2');
      assert.deepEqual(p.unmetSoft, ['affinity:image==~postgres']);
    });

    test('dropped when the rest of the pipeline fails with them (Swarm retries without soft)', () => {
      // The soft affinity alone leaves n3, which the hard constraint then rules out.
      const req = makeRequest({ env: ['affinity:container==~db', 'constraint:region==eu'] });
      const p = new Scheduler().schedule(req, cluster());
      assert.equal(p.node.name, 'n2');
      assert.deepEqual(p.unmetSoft, ['affinity:container==~db']);
      assert.deepEqual(p.trace.find((t) => t.filter === 'affinity')?.remaining, ['n1', 'n2', 'n3']);
      assert.deepEqual(p.trace.find((t) => t.filter === 'constraint')?.remaining, ['n1', 'n2']);
    });

    test('dropped when the node they point at has no room', () => {
      const nodes = [
        makeNode('full', { memoryBytes: GiB, containers: [makeContainer('db', { memoryBytes: GiB })] }),
        makeNode('free', { memoryBytes: GiB }),
      ];
      const req = makeRequest({ memoryBytes: GiB / 2, env: ['affinity:container==~db'] });
      const p = new Scheduler().schedule(req, nodes);
      assert.equal(p.node.name, 'free');
      assert.deepEqual(p.unmetSoft, ['affinity:container==~db']);
    });

    test('a failure without them reports only the hard conditions', () => {
      const req = makeRequest({ env: ['affinity:container==~db', 'constraint:region==mars'] });
      const err = noNode(() => new Scheduler().schedule(req, cluster()));
      assert.deepEqual(err.conditions, ['constraint:region==mars']);
    });

    test('soft constraints too: constraint:region==~us* prefers us, accepts eu', () => {
      const s = new Scheduler();
      assert.equal(s.schedule(makeRequest({ env: ['constraint:region==~us*'] }), cluster()).node.name, 'n3');
      const euOnly = cluster().slice(0, 2);
      const p = s.schedule(makeRequest({ env: ['constraint:region==~us*'] }), euOnly);
      assert.equal(p.node.name, 'n2');
      assert.deepEqual(p.unmetSoft, ['constraint:region==~us*']);
    });
  });

  test('a filter subset applies only those filters, in the given order', () => {
    const s = new Scheduler({ filters: ['constraint', 'health'] });
    const req = makeRequest({ env: ['affinity:container==nothing'], portBindings: [{ hostPort: 80 }] });
    const nodes = cluster();
    nodes[0]?.containers.push(makeContainer('p', { ports: [{ hostPort: 80 }] }));
    const p = s.schedule(req, nodes);
    assert.deepEqual(
      p.trace.map((t) => t.filter),
      ['constraint', 'health', 'strategy:spread'],
    );
  });

  test('unknown filter or strategy names are ValidationErrors listing the valid ones', () => {
    assert.throws(
      () => new Scheduler({ filters: ['whitelist'] }),
      (err: unknown) => {
        return (
          err instanceof ValidationError && /valid filters: health, port, containerslots/.test(err.message)
        );
      },
    );
    assert.throws(
      () => new Scheduler({ strategy: 'balanced' }),
      (err: unknown) => {
        return (
          err instanceof ValidationError && /valid strategies: spread, binpack, random/.test(err.message)
        );
      },
    );
  });

  test('a bad expression is an ExpressionError before any node is looked at', () => {
    const req: ContainerRequest = makeRequest({ env: ['constraint:region=eu'] });
    assert.throws(() => new Scheduler().schedule(req, []), ExpressionError);
  });

  test('dependencies pull the container to its peers', () => {
    const req = makeRequest({ links: ['db:db'], volumesFrom: ['cache:ro'] });
    assert.equal(new Scheduler().schedule(req, cluster()).node.name, 'n3');
  });

  test('containerslots keeps full nodes out', () => {
    const nodes = cluster();
    nodes[1]!.labels['containerslots'] = '0';
    assert.equal(new Scheduler().schedule(makeRequest(), nodes).node.name, 'n1');
  });
});
