import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  fastestRun,
  frozenPct,
  iterationsFor,
  jobScript,
  parseJobOutput,
  roundVariants,
  slowdownPct,
  targetSecFor,
} from './ticker-overhead-bench.ts';
import { ValidationError } from '../util/errors.ts';
import { parseIntervals } from './bench-cluster.ts';

describe('ticker-overhead bench logic', () => {
  test('slowdown in percent against the baseline of the same round', () => {
    assert.ok(Math.abs(slowdownPct(11, 10) - 10) < 1e-9);
    assert.ok(Math.abs(slowdownPct(12.5, 10) - 25) < 1e-9);
    assert.equal(slowdownPct(9, 10).toFixed(1), '-10.0');
    assert.ok(Number.isNaN(slowdownPct(10, 0)));
    assert.ok(Number.isNaN(slowdownPct(10, NaN)));
    assert.ok(Number.isNaN(slowdownPct(NaN, 10)));
  });

  test('frozen share of the run time in percent', () => {
    assert.equal(frozenPct(500, 10), 5);
    assert.equal(frozenPct(0, 10), 0);
    assert.ok(Number.isNaN(frozenPct(500, 0)));
  });

  test('the job result line is parsed to iterations and seconds; garbage is an error', () => {
    assert.deepEqual(
      parseJobOutput('noise\nlifeboat-job iterations=2000 sum=123 start=100.25 end=125.50\n'),
      { iterations: 2000, runSec: 25.25 },
    );
    assert.throws(() => parseJobOutput('killed'), /no result line/);
  });

  test('iterations scale to the target time, rounded to thousands', () => {
    assert.equal(iterationsFor(25, { iterations: 500_000, runSec: 1.25 }), 10_000_000);
    assert.equal(iterationsFor(5, { iterations: 1000, runSec: 0 }), 500_000);
    assert.equal(iterationsFor(0.001, { iterations: 1000, runSec: 10 }), 1000);
  });

  test('the job is sized to 2.5 x the largest interval, never below the minimum', () => {
    assert.equal(targetSecFor([5, 10, 30], 20), 75);
    assert.equal(targetSecFor([30, 5], 20), 75);
    assert.equal(targetSecFor([2], 5), 5);
    assert.equal(targetSecFor([3], 5), 8);
    assert.equal(targetSecFor([2, 5], 20), 20);
    assert.equal(targetSecFor([], 20), 20);
  });

  test('the fastest calibration run sizes the job; none is an error', () => {
    const runs = [
      { iterations: 1_000_000, runSec: 4 },
      { iterations: 1_000_000, runSec: 2.5 },
      { iterations: 1_000_000, runSec: 3 },
    ];
    assert.deepEqual(fastestRun(runs), { iterations: 1_000_000, runSec: 2.5 });
    assert.deepEqual(fastestRun([{ iterations: 300_000, runSec: 0 }]), { iterations: 300_000, runSec: 0 });
    assert.throws(() => fastestRun([]), ValidationError);
    // an in-container rate of 400k/s and the default intervals: a ~75 s job
    assert.equal(iterationsFor(targetSecFor([5, 10, 30], 20), fastestRun(runs)), 30_000_000);
  });

  test('a round is the baseline first, then one variant per interval; intervals below 1 s are refused', () => {
    assert.deepEqual(roundVariants([5, 10, 30]), [undefined, 5, 10, 30]);
    assert.deepEqual(parseIntervals([2, 5]), [2, 5]);
    assert.throws(() => parseIntervals([0.5]), ValidationError);
    assert.throws(() => jobScript(0), ValidationError);
  });

  test(
    'the job script runs under busybox sh and reports its own result',
    { skip: !existsSync('/bin/busybox') },
    () => {
      const out = execFileSync('/bin/busybox', ['sh', '-c', jobScript(2000)], { encoding: 'utf8' });
      const r = parseJobOutput(out);
      assert.equal(r.iterations, 2000);
      assert.ok(r.runSec >= 0 && r.runSec < 5);
    },
  );
});
