import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../util/errors.ts';
import {
  advance,
  groupsToDelete,
  initialTickerState,
  nextSlot,
  planTick,
  resumeTickerState,
  type CheckpointSlot,
  type TickerState,
} from './retention.ts';

/** Runs `ticks` successful ticker pounds against a simulated store: group -> versions. */
function simulate(
  ticks: number,
  versionGroup: number,
  maxGroups?: number,
  from: TickerState = initialTickerState(),
) {
  const disk = new Map<number, number[]>();
  const slots: CheckpointSlot[] = [];
  const deleted: number[] = [];
  let state = from;
  const cfg = maxGroups === undefined ? { versionGroup } : { versionGroup, maxGroups };
  for (let i = 0; i < ticks; i++) {
    const plan = planTick(state, cfg, [...disk.keys()]);
    slots.push(plan.slot);
    disk.set(plan.slot.group, [...(disk.get(plan.slot.group) ?? []), plan.slot.version]);
    for (const g of plan.deleteAfterDump) {
      disk.delete(g);
      deleted.push(g);
    }
    state = plan.next;
  }
  return { disk, slots, deleted, state };
}

describe('checkpoint ticker retention (thesis Algorithm 1)', () => {
  test('the first tick starts group 0 with version 0', () => {
    assert.deepEqual(nextSlot(initialTickerState(), { versionGroup: 5 }), {
      group: 0,
      version: 0,
      startsGroup: true,
    });
  });

  test('after 3*VG+2 ticks only 3 groups remain, the oldest deleted', () => {
    for (const vg of [2, 5, 30]) {
      const { disk, deleted, state } = simulate(3 * vg + 2, vg);
      assert.deepEqual([...disk.keys()].sort(), [1, 2, 3], `VG ${vg}`);
      assert.deepEqual(deleted, [0], `VG ${vg}`);
      assert.equal(state.version, 3 * vg + 2);
    }
    // VG 1: every version is its own group, so 5 ticks leave the newest three.
    assert.deepEqual([...simulate(5, 1).disk.keys()], [2, 3, 4]);
  });

  test('versions are consecutive, VG per group, and a group starts exactly when V % VG == 0', () => {
    const vg = 5;
    const { slots, disk } = simulate(3 * vg + 2, vg);
    assert.deepEqual(
      slots.map((s) => s.version),
      [...Array(3 * vg + 2).keys()],
    );
    for (const s of slots) {
      assert.equal(s.group, Math.floor(s.version / vg));
      assert.equal(s.startsGroup, s.version % vg === 0, `version ${s.version}`);
    }
    assert.deepEqual(disk.get(3), [15, 16]);
    assert.deepEqual(disk.get(1), [5, 6, 7, 8, 9]);
  });

  test('exactly three full groups are all kept', () => {
    const { disk, deleted } = simulate(15, 5);
    assert.deepEqual([...disk.keys()], [0, 1, 2]);
    assert.deepEqual(deleted, []);
  });

  test('many ticks keep deleting the oldest, keeping maxGroups', () => {
    const { disk, deleted } = simulate(100, 3);
    assert.deepEqual(
      [...disk.keys()].sort((a, b) => a - b),
      [31, 32, 33],
    );
    assert.deepEqual(deleted, [...Array(31).keys()]);
    assert.deepEqual([...simulate(7, 2, 1).disk.keys()], [3]);
  });

  test('never deletes the group being written', () => {
    assert.deepEqual(groupsToDelete([0, 1, 2, 3], 3), [0]);
    assert.deepEqual(groupsToDelete([0, 1, 2], 3), [0]);
    assert.deepEqual(groupsToDelete([5, 6, 7, 8], 0, 2), [5, 6, 7]);
    assert.deepEqual(groupsToDelete([1, 2], 3), []);
  });

  test('a changed version-group label applies from the current group on', () => {
    let s: TickerState = { version: 3, group: 0, inGroup: 3 };
    assert.deepEqual(nextSlot(s, { versionGroup: 2 }), { group: 1, version: 3, startsGroup: true });
    s = advance(s, { versionGroup: 10 });
    assert.deepEqual(s, { version: 4, group: 0, inGroup: 4 });
  });

  test('resumes after what the store holds (a new leader restarting tickers)', () => {
    const cfg = { versionGroup: 5 };
    const v = (...ns: number[]) => ns.map((version) => ({ version }));
    assert.deepEqual(resumeTickerState([], cfg), initialTickerState());
    assert.deepEqual(
      resumeTickerState(
        [
          { group: 0, versions: v(0, 1, 2, 3, 4) },
          { group: 1, versions: v(5, 6, 7) },
        ],
        cfg,
      ),
      {
        version: 8,
        group: 1,
        inGroup: 3,
      },
    );
    const full = resumeTickerState([{ group: 1, versions: v(5, 6, 7, 8, 9) }], cfg);
    assert.deepEqual(nextSlot(full, cfg), { group: 2, version: 10, startsGroup: true });
    // A group directory created just before a crash: fill it, starting with its pre-dump.
    const empty = resumeTickerState(
      [
        { group: 1, versions: v(5, 6, 7, 8, 9) },
        { group: 2, versions: [] },
      ],
      cfg,
    );
    assert.deepEqual(nextSlot(empty, cfg), { group: 2, version: 10, startsGroup: true });
  });

  test('refuses a version group or group count that is not a positive integer', () => {
    assert.throws(() => nextSlot(initialTickerState(), { versionGroup: 0 }), ValidationError);
    assert.throws(
      () => planTick(initialTickerState(), { versionGroup: 5, maxGroups: 0 }, []),
      ValidationError,
    );
    assert.throws(() => advance(initialTickerState(), { versionGroup: 1.5 }), ValidationError);
  });
});
