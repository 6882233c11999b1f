import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProgress, Progress, type ProgressDetail } from './progress.ts';

test('Progress.step reports start, then done with the duration and what the step returned', async () => {
  const seen: [string, ProgressDetail][] = [];
  const p = new Progress((s, d) => seen.push([s, d]));
  const r = await p.step(
    'host node1',
    'booting',
    async () => 42,
    (n) => `answering (${n})`,
  );
  assert.equal(r, 42);
  assert.deepEqual(
    seen.map(([s, d]) => [s, d.phase, d.message]),
    [
      ['host node1', 'start', 'booting'],
      ['host node1', 'done', 'answering (42)'],
    ],
  );
  assert.equal(typeof seen[1]?.[1].ms, 'number');
});

test('Progress.step reports a failure and rethrows it; a throwing printer is ignored', async () => {
  const phases: string[] = [];
  const p = new Progress((_s, d) => {
    phases.push(d.phase);
    throw new Error('printer broke');
  });
  await assert.rejects(
    p.step('images', 'building', async () => {
      throw new Error('no busybox');
    }),
    /no busybox/,
  );
  assert.deepEqual(phases, ['start', 'failed']);
});

test('formatProgress: one line per event with elapsed time and duration', () => {
  assert.equal(
    formatProgress('host node1', { phase: 'done', message: 'podman answering', ms: 640, elapsedMs: 1234 }),
    '[  1.2s] host node1: podman answering (640 ms)',
  );
  assert.equal(
    formatProgress('storage', { phase: 'failed', message: 'glusterd exited', ms: 2500, elapsedMs: 3000 }),
    '[  3.0s] storage: FAILED: glusterd exited (2.5 s)',
  );
  assert.equal(
    formatProgress('network', { phase: 'start', message: 'bridge lifeboat0', elapsedMs: 0 }),
    '[  0.0s] network: bridge lifeboat0 ...',
  );
});
