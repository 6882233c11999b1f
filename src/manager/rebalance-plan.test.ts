import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Scheduler } from '../scheduler/index.ts';
import { makeContainer, makeNode, makeRequest } from '../scheduler/test-fixtures.ts';
import type { SchedNode } from '../scheduler/types.ts';
import { planPack, planSpread, type PlanContainer } from './rebalance-plan.ts';

const binpack = new Scheduler({ strategy: 'binpack' });
const spread = new Scheduler({ strategy: 'spread' });

function cluster(
  layout: Record<string, { labels?: Record<string, string>; containers: string[] }>,
): SchedNode[] {
  return Object.entries(layout).map(([name, h]) =>
    makeNode(name, {
      labels: { node: name, ...(h.labels ?? {}) },
      containers: h.containers.map((c) => makeContainer(c)),
    }),
  );
}

const c = (name: string, host: string, env: string[] = [], blocker?: string): PlanContainer => ({
  name,
  host,
  request: makeRequest({ name, env }),
  ...(blocker ? { blocker } : {}),
});

describe('rebalance plans', () => {
  test('pack on 3 hosts empties one without breaking a constraint or an affinity', () => {
    const nodes = cluster({
      a: { labels: { zone: 'east' }, containers: ['db', 'web'] },
      b: { labels: { zone: 'west' }, containers: ['w1'] },
      c: { labels: { zone: 'east' }, containers: ['x1', 'x2'] },
    });
    const containers = [
      c('db', 'a', ['constraint:zone==east']),
      c('web', 'a', ['affinity:container==db']),
      c('w1', 'b', ['constraint:zone==west']),
      c('x1', 'c', ['constraint:zone==east']),
      c('x2', 'c', ['constraint:zone==east']),
    ];
    const plan = planPack(binpack, nodes, containers);
    // b cannot be emptied (w1 needs the west zone); of the east hosts one takes the other's containers
    assert.equal(plan.emptied.length, 1);
    assert.match(plan.kept.find((k) => k.host === 'b')!.why, /w1 fits nowhere else: .*constraint:zone==west/);
    const gone = plan.emptied[0]!;
    const stays = gone === 'a' ? 'c' : 'a';
    for (const m of plan.moves) {
      assert.equal(m.from, gone);
      assert.equal(m.to, stays, `${m.container} stays in the east zone`);
    }
    // web followed db
    const after = (name: string): string =>
      plan.moves.find((m) => m.container === name)?.to ?? containers.find((x) => x.name === name)!.host;
    assert.equal(after('web'), after('db'));
  });

  test('pack leaves a host whose container cannot move live, saying why, and always keeps one host', () => {
    const nodes = cluster({ a: { containers: ['pinned'] }, b: { containers: ['p', 'q'] } });
    const plan = planPack(binpack, nodes, [
      c('pinned', 'a', [], 'it bind-mounts /srv of its host'),
      c('p', 'b'),
      c('q', 'b'),
    ]);
    assert.deepEqual(plan.kept, [
      { host: 'a', why: 'pinned cannot move live: it bind-mounts /srv of its host' },
    ]);
    assert.deepEqual(plan.emptied, ['b']);
    assert.deepEqual(
      plan.moves.map((m) => [m.container, m.to]),
      [
        ['p', 'a'],
        ['q', 'a'],
      ],
    );
    const single = planPack(binpack, cluster({ a: { containers: ['p'] } }), [c('p', 'a')]);
    assert.deepEqual([single.moves, single.emptied], [[], []]);
  });

  test('pack: a container moved onto a host emptied later moves once, to where it ends', () => {
    const nodes = cluster({
      a: { containers: ['p'] },
      b: { containers: ['q', 'r'] },
      c: { containers: ['s', 't', 'u'] },
    });
    const plan = planPack(
      binpack,
      nodes,
      ['p', 'q', 'r', 's', 't', 'u'].map((n) => c(n, n === 'p' ? 'a' : 'qr'.includes(n) ? 'b' : 'c')),
    );
    assert.deepEqual(plan.emptied.sort(), ['a', 'b']);
    assert.equal(new Set(plan.moves.map((m) => m.container)).size, plan.moves.length, 'each container once');
    assert.ok(plan.moves.every((m) => m.to === 'c'));
  });

  test('spread moves from the fullest host to the emptiest while it narrows the gap, within the filters', () => {
    const nodes = cluster({
      a: { containers: ['p', 'q', 'r', 's'] },
      b: { containers: [] },
      c: { labels: { ssd: 'no' }, containers: [] },
    });
    const plan = planSpread(spread, nodes, [
      c('p', 'a'),
      c('q', 'a', ['constraint:ssd!=no']),
      c('r', 'a'),
      c('s', 'a'),
    ]);
    const count = (h: string): number =>
      ['p', 'q', 'r', 's'].filter((n) => (plan.moves.find((m) => m.container === n)?.to ?? 'a') === h).length;
    assert.ok(
      Math.max(count('a'), count('b'), count('c')) - Math.min(count('a'), count('b'), count('c')) <= 1,
    );
    assert.notEqual(
      plan.moves.find((m) => m.container === 'q')?.to,
      'c',
      'q never goes to the host its constraint refuses',
    );
  });

  test('drained and unhealthy hosts take nothing', () => {
    const nodes = [
      ...cluster({ a: { containers: ['p'] }, b: { containers: ['q', 'r'] } }),
      makeNode('d', {
        availability: 'drain',
        labels: { node: 'd' },
        containers: [makeContainer('z'), makeContainer('y'), makeContainer('x')],
      }),
    ];
    const plan = planPack(binpack, nodes, [c('p', 'a'), c('q', 'b'), c('r', 'b')]);
    assert.ok(plan.moves.every((m) => m.to !== 'd'));
    assert.ok(!plan.emptied.includes('d'));
  });
});

test('pack never moves a container next to one whose affinity refuses it (Swarm checks only the one placed)', () => {
  const nodes = cluster({
    a: { containers: ['a1'] },
    b: { containers: ['a2'] },
    c: { containers: ['a3', 'a4'] },
  });
  const plan = planPack(binpack, nodes, [
    c('a1', 'a'),
    c('a2', 'b', ['affinity:container!=a4']),
    c('a3', 'c'),
    c('a4', 'c'),
  ]);
  const where = (n: string): string =>
    plan.moves.find((m) => m.container === n)?.to ?? { a1: 'a', a2: 'b', a3: 'c', a4: 'c' }[n]!;
  assert.notEqual(where('a2'), where('a4'), 'a2 and a4 never share a host');
  assert.deepEqual(plan.emptied, ['a']);
});
