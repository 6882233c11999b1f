import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FAULT_KINDS,
  HOLD_MS,
  isHostFault,
  planChaos,
  plannedFaults,
  prng,
  type PlanInput,
} from './chaos-schedule.ts';

const base: PlanInput = {
  seed: 42,
  faults: 200,
  hosts: ['c1', 'c2', 'c3'],
  managers: ['manager-1', 'manager-2'],
  etcdMembers: ['etcd-etcd0', 'etcd-etcd1', 'etcd-etcd2'],
  kinds: FAULT_KINDS.filter((k) => k !== 'store-full'),
};

describe('chaos fault plan', () => {
  test('the PRNG is deterministic per seed and spreads over [0, 1)', () => {
    const a = prng(7);
    const b = prng(7);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      xs.slice(0, 5),
      Array.from({ length: 5 }, () => b()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.ok(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5) < 0.05, 'mean near 0.5');
    assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, prng(8)));
  });

  test('the same seed plans the same faults; another seed others', () => {
    assert.deepEqual(planChaos(base), planChaos(base));
    assert.notDeepEqual(plannedFaults(planChaos(base)), plannedFaults(planChaos({ ...base, seed: 43 })));
  });

  test('fewer faults plan a prefix of more (replay with --faults k)', () => {
    const all = plannedFaults(planChaos(base));
    for (const n of [1, 2, 7, 20, 57]) {
      const some = plannedFaults(planChaos({ ...base, faults: n }));
      assert.equal(some.length, n);
      assert.deepEqual(some, all.slice(0, n));
    }
  });

  test('exactly the asked number of faults, indexed in order, every kind drawn', () => {
    const faults = plannedFaults(planChaos(base));
    assert.equal(faults.length, 200);
    assert.deepEqual(
      faults.map((f) => f.index),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.deepEqual(new Set(faults.map((f) => f.kind)), new Set(base.kinds));
  });

  test('holds stay in their ranges; skipped kinds are never drawn', () => {
    const faults = plannedFaults(planChaos({ ...base, kinds: ['partition', 'agent-kill'] }));
    assert.ok(faults.every((f) => f.kind === 'partition' || f.kind === 'agent-kill'));
    for (const f of plannedFaults(planChaos(base))) {
      const [lo, hi] = HOLD_MS[f.kind];
      assert.ok(f.holdMs >= lo && f.holdMs <= hi, `${f.kind} ${f.holdMs}`);
    }
  });

  for (const hosts of [
    ['c1', 'c2', 'c3'],
    ['c1', 'c2', 'c3', 'c4', 'c5'],
  ])
    test(`every step keeps 2 of ${hosts.length} hosts untouched, one fault per target, one manager and an etcd quorum`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const steps = planChaos({ ...base, seed, hosts });
        for (const s of steps) {
          assert.ok(s.faults.length >= 1 && s.faults.length <= 2);
          const hostFaults = s.faults.filter((f) => isHostFault(f.kind));
          assert.ok(hosts.length - hostFaults.length >= 2, JSON.stringify(s));
          assert.equal(new Set(s.faults.map((f) => f.target)).size, s.faults.length, 'distinct targets');
          assert.ok(s.faults.filter((f) => f.kind === 'manager-kill').length <= 1);
          assert.ok(s.faults.filter((f) => f.kind === 'etcd-kill').length <= 1);
          if (s.faults.length === 2)
            assert.ok(s.delayMs < s.faults[0]!.holdMs, 'the second starts while the first holds');
        }
        const overlapping = steps.filter((s) => s.faults.length === 2).length;
        assert.ok(overlapping > 0 && overlapping < steps.length, `some steps overlap (${overlapping})`);
      }
    });

  test('a single manager or fewer than 3 etcd members: those kinds are not drawn', () => {
    const faults = plannedFaults(planChaos({ ...base, managers: ['manager-1'], etcdMembers: [] }));
    assert.ok(faults.every((f) => f.kind !== 'manager-kill' && f.kind !== 'etcd-kill'));
  });
});
