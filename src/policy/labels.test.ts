import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from './duration.ts';
import { restorePolicyOf, tickerConfigOf } from './labels.ts';
import { ValidationError } from '../util/errors.ts';

describe('durations', () => {
  test('units and bare seconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('5'), 5000);
  });
  test('garbage is a ValidationError naming the value', () => {
    for (const bad of ['', 'abc', '10x', '5s junk', '-5s']) {
      assert.throws(
        () => parseDuration(bad),
        (e: unknown) => e instanceof ValidationError && e.message.includes(`"${bad}"`),
      );
    }
  });
});

describe('policy labels', () => {
  test('ticker config with the thesis default version group of 5', () => {
    assert.deepEqual(tickerConfigOf({ 'lifeboat.checkpoint.interval': '2s' }), {
      intervalMs: 2000,
      versionGroup: 5,
    });
    assert.deepEqual(
      tickerConfigOf({ 'lifeboat.checkpoint.interval': '1m', 'lifeboat.checkpoint.version-group': '3' }),
      { intervalMs: 60_000, versionGroup: 3 },
    );
    assert.equal(tickerConfigOf({}), undefined);
  });
  test('bad ticker values are refused', () => {
    assert.throws(() => tickerConfigOf({ 'lifeboat.checkpoint.interval': '100ms' }), /at least 1s/);
    // past 2^31-1 ms Node's setInterval would fire every millisecond
    assert.throws(() => tickerConfigOf({ 'lifeboat.checkpoint.interval': '600h' }), /at most 24h/);
    assert.throws(() => tickerConfigOf({ 'lifeboat.checkpoint.interval': '9999999h' }), /at most 24h/);
    assert.equal(tickerConfigOf({ 'lifeboat.checkpoint.interval': '24h' })?.intervalMs, 86_400_000);
    assert.throws(
      () =>
        tickerConfigOf({ 'lifeboat.checkpoint.interval': '5s', 'lifeboat.checkpoint.version-group': '0' }),
      /whole number/,
    );
  });
  test('restore policies: lifeboat label and Swarm reschedule policy', () => {
    assert.equal(restorePolicyOf({ 'lifeboat.reschedule': 'checkpoint' }), 'checkpoint');
    assert.equal(
      restorePolicyOf({ 'com.docker.swarm.reschedule-policies': '["on-node-failure"]' }),
      'on-node-failure',
    );
    assert.equal(restorePolicyOf({ 'lifeboat.reschedule': 'off' }), undefined);
    assert.equal(restorePolicyOf({}), undefined);
    assert.throws(() => restorePolicyOf({ 'lifeboat.reschedule': 'always' }), /expected checkpoint/);
  });
});
