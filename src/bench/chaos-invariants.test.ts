import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAckedWrites,
  checkApiLatency,
  checkRestores,
  checkSingleCopy,
  faultAt,
  latencySummary,
  percentile,
  requiredWrites,
  type ApiCall,
  type FaultRecord,
  type PollRound,
  type RestoreBudget,
  type RestorePolicy,
} from './chaos-invariants.ts';
import { blockDeviceOf } from './chaos-faults.ts';

const round = (at: number, running: Record<string, string[]>): PollRound => ({ at, running });
const fault = (
  index: number,
  kind: FaultRecord['kind'],
  target: string,
  startedAt: number,
  endedAt = startedAt + 1000,
): FaultRecord => ({
  index,
  kind,
  target,
  startedAt,
  endedAt,
});

describe('chaos invariants', () => {
  test('faultAt: the latest fault started at or before the instant', () => {
    const fs = [fault(0, 'partition', 'c1', 1000), fault(1, 'reboot', 'c2', 5000)];
    assert.equal(faultAt(fs, 999), null);
    assert.equal(faultAt(fs, 1000), 0);
    assert.equal(faultAt(fs, 4999), 0);
    assert.equal(faultAt(fs, 9000), 1);
  });

  describe('(a) single copy', () => {
    test('a hand-over seen in one round only is no violation', () => {
      const rounds = [
        round(0, { web: ['c1'] }),
        round(500, { web: ['c1', 'c2'] }),
        round(1000, { web: ['c2'] }),
      ];
      assert.deepEqual(checkSingleCopy(rounds, []), []);
    });

    test('the same two hosts in two rounds in a row is one violation per episode, filed under the fault', () => {
      const rounds = [
        round(0, { web: ['c1'] }),
        round(500, { web: ['c1', 'c2'] }),
        round(1000, { web: ['c1', 'c2'] }),
        round(1500, { web: ['c1', 'c2'] }),
        round(2000, { web: ['c2'] }),
        round(2500, { web: ['c2', 'c3'] }),
        round(3000, { web: ['c2', 'c3'] }),
      ];
      const v = checkSingleCopy(rounds, [fault(4, 'partition', 'c1', 100)]);
      assert.equal(v.length, 2);
      assert.equal(v[0]!.invariant, 'single-copy');
      assert.equal(v[0]!.faultIndex, 4);
      assert.equal(v[0]!.container, 'web');
      assert.match(v[0]!.message, /c1 and c2 at once for at least 1000 ms/);
      assert.match(v[1]!.message, /c2 and c3/);
    });

    test('two different pairs in consecutive rounds are not the same copy twice', () => {
      const rounds = [round(0, { web: ['c1', 'c2'] }), round(500, { web: ['c2', 'c3'] })];
      assert.deepEqual(checkSingleCopy(rounds, []), []);
    });
  });

  describe('(b) restores within failure timeout + restore time + slack', () => {
    const policies = new Map<string, RestorePolicy>([
      ['db', 'checkpoint'],
      ['sw', 'on-node-failure'],
      ['plain', 'none'],
    ]);
    const budget: RestoreBudget = {
      failureTimeoutMs: 5000,
      slackMs: 10_000,
      controlPlaneMs: 10_000,
      restoreMs: (name) => (name === 'db' ? 2000 : undefined),
    };
    const timeline = (upAt: number | undefined, name = 'db'): PollRound[] => {
      const out = [round(900, { [name]: ['c1'], plain: ['c1'] })];
      for (let t = 1500; t <= 40_000; t += 500)
        out.push(round(t, upAt !== undefined && t >= upAt ? { [name]: ['c2'] } : {}));
      return out;
    };

    test('back in time: an outcome, no violation; the plain container is not checked', () => {
      const r = checkRestores(timeline(9000), [fault(0, 'power-loss', 'c1', 1000)], policies, budget);
      assert.deepEqual(r.violations, []);
      assert.deepEqual(r.outcomes, [
        { faultIndex: 0, container: 'db', policy: 'checkpoint', budgetMs: 17_000, downMs: 8000 },
      ]);
    });

    test('too late, or never: violations naming the fault', () => {
      const late = checkRestores(timeline(19_000), [fault(3, 'power-loss', 'c1', 1000)], policies, budget);
      assert.equal(late.violations.length, 1);
      assert.equal(late.violations[0]!.faultIndex, 3);
      assert.match(late.violations[0]!.message, /ran again 18000 ms after power-loss of c1, budget 17000 ms/);
      const never = checkRestores(
        timeline(undefined, 'sw'),
        [fault(1, 'reboot', 'c1', 1000)],
        policies,
        budget,
      );
      assert.equal(never.violations.length, 1);
      assert.match(never.violations[0]!.message, /sw \(on-node-failure\) did not run again/);
    });

    test('a manager or etcd fault in the window extends the budget', () => {
      const faults = [fault(0, 'power-loss', 'c1', 1000), fault(1, 'manager-kill', 'manager-1', 2000, 6000)];
      const r = checkRestores(timeline(19_000), faults, policies, budget);
      assert.deepEqual(r.violations, []);
      assert.equal(r.outcomes[0]!.budgetMs, 27_000);
    });

    test('a container on another host, or one that never stopped, is fine; control-plane faults check nothing', () => {
      const rounds = [round(900, { db: ['c1'] }), round(1500, { db: ['c1'] }), round(30_000, { db: ['c1'] })];
      assert.deepEqual(
        checkRestores(rounds, [fault(0, 'partition', 'c2', 1000)], policies, budget).outcomes,
        [],
      );
      const kept = checkRestores(rounds, [fault(0, 'partition', 'c1', 1000)], policies, budget);
      assert.deepEqual(kept.violations, []);
      assert.equal(kept.outcomes[0]!.downMs, undefined);
      assert.deepEqual(
        checkRestores(rounds, [fault(0, 'etcd-kill', 'c1', 1000)], policies, budget).outcomes,
        [],
      );
    });

    test("a stop caused by a later fault on its host is that fault's, not an earlier one's", () => {
      const rounds = [round(900, { db: ['c1'] })];
      for (let t = 1500; t <= 60_000; t += 500)
        rounds.push(round(t, t >= 25_000 && t < 31_000 ? {} : { db: ['c1'] }));
      const faults = [fault(0, 'slow-disk', 'c1', 1000, 8000), fault(1, 'power-loss', 'c1', 24_500, 28_000)];
      const r = checkRestores(rounds, faults, policies, budget);
      assert.deepEqual(r.violations, []);
      assert.deepEqual(
        r.outcomes.map((o) => [o.faultIndex, o.downMs]),
        [
          [0, undefined],
          [1, 6500],
        ],
      );
    });

    test('a host whose Podman did not answer gives no evidence of a stop', () => {
      const rounds = [round(900, { db: ['c1'] })];
      for (let t = 1500; t <= 40_000; t += 500) {
        const slow = t < 30_000;
        rounds.push({ at: t, running: slow ? {} : { db: ['c1'] }, ...(slow ? { unknown: ['c1'] } : {}) });
      }
      const r = checkRestores(rounds, [fault(0, 'slow-disk', 'c1', 1000, 12_000)], policies, budget);
      assert.deepEqual(r.violations, []);
      assert.equal(r.outcomes[0]!.downMs, undefined);
    });

    test('a deadline after the last round is not judged (the run ended)', () => {
      const rounds = [round(900, { db: ['c1'] }), round(1500, {})];
      assert.deepEqual(
        checkRestores(rounds, [fault(0, 'power-loss', 'c1', 1000)], policies, budget).violations,
        [],
      );
    });
  });

  describe('(c) acknowledged writes', () => {
    const acked = [
      { key: 'w:1', at: 100 },
      { key: 'w:2', at: 200 },
      { key: 'w:3', at: 300 },
      { key: 'w:4', at: 400 },
    ];
    const cps = [
      { container: 'db', version: 1, startedAt: 150, doneAt: 250 },
      { container: 'db', version: 2, startedAt: 310, doneAt: 600 },
    ];

    test('the newest checkpoint stored by the break decides; writes before its start are required', () => {
      const a = requiredWrites(acked, cps, 500);
      assert.equal(a.checkpoint?.version, 1);
      assert.deepEqual(
        a.required.map((w) => w.key),
        ['w:1'],
      );
      const b = requiredWrites(acked, cps, 700);
      assert.equal(b.checkpoint?.version, 2);
      assert.deepEqual(
        b.required.map((w) => w.key),
        ['w:1', 'w:2', 'w:3'],
      );
    });

    test('no checkpoint yet: nothing is required', () => {
      assert.deepEqual(requiredWrites(acked, cps, 200), { required: [] });
    });

    test('missing required writes are violations; writes lost by design are not', () => {
      const v = checkAckedWrites(
        [
          {
            container: 'db',
            refAt: 700,
            checkedAt: 9000,
            checkpointVersion: 2,
            required: 3,
            missing: 0,
            lostByDesign: 1,
            missingSample: [],
          },
          {
            container: 'db',
            refAt: 20_000,
            checkedAt: 29_000,
            checkpointVersion: 9,
            required: 50,
            missing: 2,
            lostByDesign: 0,
            missingSample: ['w:7', 'w:8'],
          },
        ],
        [fault(0, 'power-loss', 'c1', 600), fault(1, 'partition', 'c2', 19_000)],
      );
      assert.equal(v.length, 1);
      assert.equal(v[0]!.faultIndex, 1);
      assert.match(v[0]!.message, /2 of 50 writes acknowledged before checkpoint v9 .* w:7, w:8/);
    });
  });

  describe('(d) Docker API', () => {
    const call = (at: number, ms: number, ok = true): ApiCall => ({
      at,
      op: 'ps',
      ms,
      ok,
      duringFault: true,
    });

    test('nearest-rank percentiles', () => {
      const xs = Array.from({ length: 100 }, (_, i) => i + 1);
      assert.equal(percentile(xs, 0.5), 50);
      assert.equal(percentile(xs, 0.99), 99);
      assert.equal(percentile([7], 0.99), 7);
      assert.ok(Number.isNaN(percentile([], 0.5)));
    });

    test('summary counts errors; calls over the bound are violations', () => {
      const calls = [call(1, 10), call(2, 30), call(3, 20, false), call(4, 16_000)];
      assert.deepEqual(latencySummary(calls), { calls: 4, errors: 1, p50: 20, p99: 16_000, max: 16_000 });
      const v = checkApiLatency(calls, [fault(0, 'etcd-kill', 'etcd-etcd1', 0)], 15_000);
      assert.equal(v.length, 1);
      assert.equal(v[0]!.faultIndex, 0);
      assert.match(v[0]!.message, /docker ps took 16000 ms/);
    });
  });

  test('blockDeviceOf: the longest mount point holding the path, none for tmpfs', () => {
    const mountinfo = [
      '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
      '30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw',
      '40 27 8:17 / /var/tmp/data rw - ext4 /dev/sdb1 rw',
    ].join('\n');
    assert.equal(blockDeviceOf('/var/tmp/lifeboat-chaos', mountinfo), '254:0');
    assert.equal(blockDeviceOf('/var/tmp/data/x', mountinfo), '8:17');
    assert.equal(blockDeviceOf('/var/tmp/database', mountinfo), '254:0');
    assert.equal(blockDeviceOf('/dev/shm/lifeboat-chaos', mountinfo), undefined);
  });
});
