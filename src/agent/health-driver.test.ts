import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger } from '../util/log.ts';
import { activeCheck, HealthDriver, type HealthConfig } from './health-driver.ts';

const quiet = createLogger('test', () => undefined);
const MS = 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function setup(containers: { id: string; startedAt: number; cfg?: HealthConfig }[]) {
  const runs: { id: string; at: number }[] = [];
  const inspected: string[] = [];
  const list = [...containers];
  const d = new HealthDriver(
    {
      running: async () => list.map((c) => ({ id: c.id, name: `n-${c.id}`, startedAt: c.startedAt })),
      healthConfig: async (id) => {
        inspected.push(id);
        return list.find((c) => c.id === id)?.cfg;
      },
      runHealthcheck: async (id) => {
        runs.push({ id, at: Date.now() });
        return 'healthy';
      },
    },
    quiet,
  );
  return { d, runs, inspected, list };
}

describe('health driver', () => {
  test('each check an interval after the start, then every interval; NONE and no check are left alone', async (t) => {
    const started = Date.now() / 1000;
    const { d, runs, inspected } = setup([
      { id: 'a', startedAt: started, cfg: { Test: ['CMD-SHELL', 'true'], Interval: 300 * MS } },
      { id: 'b', startedAt: started, cfg: { Test: ['NONE'] } },
      { id: 'c', startedAt: started },
    ]);
    t.after(() => d.stop());
    await d.tick();
    assert.deepEqual(d.watched, ['n-a']);
    await sleep(1200);
    // the first not before an interval has passed (read from the clock: a stalled loop only delays it)
    assert.ok((runs[0]?.at ?? Infinity) - started * 1000 >= 290, `first check at ${runs[0]?.at}`);
    const gaps = runs.slice(1).map((r, i) => r.at - runs[i]!.at);
    // never sooner than the interval (a loaded machine may run them later)
    assert.ok(runs.length >= 1 && runs.length <= 4, `${runs.length} checks in 1.2 s at 300 ms`);
    assert.ok(
      gaps.every((g) => g >= 250),
      `an interval apart: ${gaps.join(', ')} ms`,
    );
    assert.ok(runs.every((r) => r.id === 'a'));
    await d.tick();
    assert.deepEqual(inspected.sort(), ['a', 'b', 'c'], 'each container inspected once');
  });

  test('a stopped container is forgotten, a new one (new ID) learned', async (t) => {
    const now = Date.now() / 1000;
    const { d, runs, list } = setup([
      { id: 'a', startedAt: now, cfg: { Test: ['CMD', 'true'], Interval: 100 * MS } },
    ]);
    t.after(() => d.stop());
    await d.tick();
    await sleep(250);
    assert.ok(runs.length >= 1);
    list.splice(0, 1);
    await d.tick();
    const n = runs.length;
    await sleep(250);
    assert.equal(runs.length, n, 'gone: no more checks');
    list.push({ id: 'a2', startedAt: Date.now() / 1000, cfg: { Test: ['CMD', 'true'], Interval: 100 * MS } });
    await d.tick();
    await sleep(250);
    assert.ok(runs.some((r) => r.id === 'a2'));
    assert.deepEqual(d.watched, ['n-a2']);
  });

  test('what counts as a check', () => {
    assert.equal(activeCheck(undefined), false);
    assert.equal(activeCheck({ Test: [] }), false);
    assert.equal(activeCheck({ Test: ['NONE'] }), false);
    assert.equal(activeCheck({ Test: ['CMD-SHELL'] }), false);
    assert.equal(activeCheck({ Test: ['CMD-SHELL', 'curl -f localhost'] }), true);
    assert.equal(activeCheck({ Test: ['CMD', 'true'] }), true);
  });
});
