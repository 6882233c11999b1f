import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { failoverTimeline } from './failover-bench.ts';

describe('failover bench timeline', () => {
  const t = (ms: number): string => new Date(1_000_000 + ms).toISOString();
  const base = { killedAt: 1_000_000, host: 'b1', container: 'kv' };

  test('kill -> serving is split at node.failed, restore.start and restore.done', () => {
    const events = [
      { type: 'checkpoint.done', time: t(-3000), container: 'kv' },
      { type: 'node.failed', time: t(5200), node: 'b1' },
      { type: 'restore.start', time: t(5250), container: 'kv', node: 'b2' },
      { type: 'restore.done', time: t(7000), container: 'kv', node: 'b2' },
    ];
    assert.deepEqual(failoverTimeline(events, { ...base, servedAt: 1_000_000 + 7040 }), {
      detectMs: 5200,
      placeMs: 50,
      restoreMs: 1750,
      serveMs: 40,
      totalMs: 7040,
    });
  });

  test('a fresh start ends the restore phase; events of other hosts, containers or earlier runs are ignored', () => {
    const events = [
      { type: 'node.failed', time: t(-60_000), node: 'b1' },
      { type: 'restore.fresh', time: t(-58_000), container: 'kv' },
      { type: 'node.failed', time: t(4000), node: 'b2' },
      { type: 'node.failed', time: t(5000), node: 'b1' },
      { type: 'restore.start', time: t(5000), container: 'other' },
      { type: 'restore.start', time: t(5100), container: 'kv' },
      { type: 'restore.fresh', time: t(5900), container: 'kv' },
    ];
    const r = failoverTimeline(events, { ...base, servedAt: 1_000_000 + 6000 });
    assert.deepEqual(r, { detectMs: 5000, placeMs: 100, restoreMs: 800, serveMs: 100, totalMs: 6000 });
  });

  test('missing events leave NaN phases, the total stays', () => {
    const r = failoverTimeline([], { ...base, servedAt: 1_000_000 + 9000 });
    assert.ok(Number.isNaN(r.detectMs) && Number.isNaN(r.restoreMs) && Number.isNaN(r.serveMs));
    assert.equal(r.totalMs, 9000);
  });
});
