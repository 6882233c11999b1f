import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, statusText } from './status-text.ts';

describe('docker ps status text', () => {
  test('humanDuration words durations like go-units', () => {
    assert.equal(humanDuration(500), 'Less than a second');
    assert.equal(humanDuration(1000), '1 second');
    assert.equal(humanDuration(45_000), '45 seconds');
    assert.equal(humanDuration(90_000), 'About a minute');
    assert.equal(humanDuration(10 * 60_000), '10 minutes');
    assert.equal(humanDuration(65 * 60_000), 'About an hour');
    assert.equal(humanDuration(5 * 3_600_000), '5 hours');
    assert.equal(humanDuration(3 * 86_400_000), '3 days');
    assert.equal(humanDuration(21 * 86_400_000), '3 weeks');
    assert.equal(humanDuration(90 * 86_400_000), '3 months');
    assert.equal(humanDuration(800 * 86_400_000), '2 years');
  });

  test('status per state', () => {
    const now = 1_000_000_000;
    const base = { startedAt: now - 120_000, finishedAt: now - 5_000, exitCode: 137, now };
    assert.equal(statusText({ ...base, state: 'running' }), 'Up 2 minutes');
    assert.equal(statusText({ ...base, state: 'paused' }), 'Up 2 minutes (Paused)');
    assert.equal(statusText({ ...base, state: 'exited' }), 'Exited (137) 5 seconds ago');
    assert.equal(statusText({ ...base, finishedAt: undefined, state: 'exited' }), 'Exited (137)');
    assert.equal(statusText({ ...base, state: 'created' }), 'Created');
  });
});
