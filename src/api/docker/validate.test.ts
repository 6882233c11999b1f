import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../util/errors.ts';
import {
  MAX_STOP_TIMEOUT_SECONDS,
  parseFilters,
  parseSignal,
  parseStopTimeout,
  parseTail,
  parseWaitCondition,
  validateCheckpointDir,
  validateCheckpointId,
  validateContainerName,
  validateDetachKeys,
  validateImageReference,
} from './validate.ts';

const KEYS = ['name', 'id', 'label', 'status'];

describe('docker API input validation', () => {
  test("container names follow Docker's rule; a leading slash is dropped", () => {
    assert.equal(validateContainerName('web-1.a_b'), 'web-1.a_b');
    assert.equal(validateContainerName('/web'), 'web');
    for (const bad of ['x', '-web', 'we b', 'a/b', '', '/'])
      assert.throws(() => validateContainerName(bad), /Invalid container name/, bad);
  });

  test('checkpoint IDs cannot leave their directory', () => {
    assert.equal(validateCheckpointId('cp-1.v2_x'), 'cp-1.v2_x');
    for (const bad of ['a/b', '..', 'a..b', '.hidden', '', 'x'.repeat(129), 7])
      assert.throws(() => validateCheckpointId(bad), ValidationError, String(bad));
    assert.throws(() => validateCheckpointId(undefined), /checkpoint ID is required/);
  });

  test('checkpoint directories are absolute and free of ..', () => {
    assert.equal(validateCheckpointDir(''), undefined);
    assert.equal(validateCheckpointDir(undefined), undefined);
    assert.equal(validateCheckpointDir('/var/lib/cp'), '/var/lib/cp');
    assert.throws(() => validateCheckpointDir('rel/dir'), /must be an absolute path/);
    assert.throws(() => validateCheckpointDir('/var/../etc'), /'\.\.' is not allowed/);
    assert.throws(() => validateCheckpointDir(3), /must be a string/);
  });

  test('filters: list and legacy map forms; unknown keys and statuses are refused', () => {
    assert.deepEqual(parseFilters(undefined, KEYS), {});
    assert.deepEqual(parseFilters('{"name":["web"],"label":["a=b"]}', KEYS), {
      name: ['web'],
      label: ['a=b'],
    });
    assert.deepEqual(parseFilters('{"status":{"running":true,"exited":false}}', KEYS), {
      status: ['running'],
    });
    assert.throws(() => parseFilters('{"bogus":["x"]}', KEYS), /invalid filter 'bogus'/);
    assert.throws(() => parseFilters('{"status":["sleeping"]}', KEYS), /invalid filter 'status=sleeping'/);
    assert.throws(() => parseFilters('{"name":', KEYS), /invalid filters:/);
    assert.throws(() => parseFilters('["name"]', KEYS), /expected a JSON object/);
    assert.throws(() => parseFilters('{"name":[1]}', KEYS), /must be a list of strings/);
  });

  test('wait conditions and tail', () => {
    assert.equal(parseWaitCondition(undefined), 'not-running');
    assert.equal(parseWaitCondition('next-exit'), 'next-exit');
    assert.equal(parseWaitCondition('removed'), 'removed');
    assert.throws(() => parseWaitCondition('soon'), /invalid condition: "soon"/);
    assert.equal(parseTail(undefined), 'all');
    assert.equal(parseTail('all'), 'all');
    assert.equal(parseTail('5'), 5);
    assert.equal(parseTail('-1'), 'all'); // Docker's "all" (testcontainers sends it)
    assert.throws(() => parseTail('x'), /invalid value for "tail"/);
  });

  test('signals: names with or without SIG, any case, numbers 1-64; nothing else', () => {
    assert.equal(parseSignal('SIGTERM'), 'SIGTERM');
    assert.equal(parseSignal('kill'), 'SIGKILL');
    assert.equal(parseSignal('SIGRTMIN+3'), 'SIGRTMIN+3');
    assert.equal(parseSignal('9'), '9');
    for (const bad of ['SIGFOO', '0', '65', '99', '-1', 'SIG', '; rm -rf /', 'TERM\u0000'])
      assert.throws(() => parseSignal(bad), ValidationError, bad);
  });

  test('detach keys: single ASCII characters or ctrl-<x>, comma-separated', () => {
    assert.equal(validateDetachKeys('ctrl-p,ctrl-q'), 'ctrl-p,ctrl-q');
    assert.equal(validateDetachKeys('a,ctrl-@,ctrl-\\'), 'a,ctrl-@,ctrl-\\');
    for (const bad of ['garbage-keys', 'ctrl-p,,ctrl-q', 'ctrl-1', 'é', ''])
      assert.throws(() => validateDetachKeys(bad), ValidationError, bad);
  });

  test('stop timeouts: negative waits (nearly) forever, huge is refused', () => {
    assert.equal(parseStopTimeout(undefined), undefined);
    assert.equal(parseStopTimeout(-1), MAX_STOP_TIMEOUT_SECONDS);
    assert.equal(parseStopTimeout(30), 30);
    assert.throws(() => parseStopTimeout(MAX_STOP_TIMEOUT_SECONDS + 1), ValidationError);
    assert.throws(() => parseTail('99999999999999999999999'), ValidationError);
    assert.throws(() => validateCheckpointDir('/' + 'a'.repeat(5000)), ValidationError);
  });

  test("image references follow Docker's grammar", () => {
    for (const ok of [
      'busybox',
      'localhost/lifeboat/busybox:latest',
      'registry:5000/a/b:c',
      'busybox@sha256:' + 'a'.repeat(64),
      'a'.repeat(64),
    ])
      assert.equal(validateImageReference(ok), ok);
    for (const bad of [
      '..',
      '../../etc',
      'upper/Case',
      'a:b:c:d',
      '-x',
      'a//b',
      '\ud800',
      'x@sha256:12',
      'a'.repeat(600),
    ])
      assert.throws(() => validateImageReference(bad), /invalid reference format/, bad);
  });
});
