import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CheckpointFailedError,
  ContainerNotFoundError,
  ImageNotFoundError,
  softDirtyUnsupported,
  UnsupportedError,
} from '../engine/errors.ts';
import { LifeboatError, ValidationError } from '../util/errors.ts';
import { RemoteNodeError, reviveError, toWireError } from './wire-errors.ts';

function roundTrip(err: LifeboatError): LifeboatError {
  return reviveError('node-b', err.status, Buffer.from(JSON.stringify(toWireError(err))));
}

test('engine errors cross the wire as the same classes, messages and statuses', () => {
  for (const err of [
    new ContainerNotFoundError('inspect container web', 'no such container'),
    new ImageNotFoundError('restore web on b', 'image localhost/x (ID 123) is not on this host'),
    new CheckpointFailedError('checkpoint container web', 500, 'criu failed'),
  ]) {
    const back = roundTrip(err);
    assert.equal(back.constructor, err.constructor);
    assert.equal(back.message, err.message);
    assert.equal(back.status, err.status);
    assert.equal(back.code, err.code);
    assert.equal(back.hint, err.hint);
  }
});

test('unsupported keeps its feature; other errors keep code, status and hint', () => {
  const u = roundTrip(softDirtyUnsupported());
  assert.ok(u instanceof UnsupportedError);
  assert.equal(u.feature, 'mem_dirty_track');
  assert.equal(u.message, softDirtyUnsupported().message);
  const v = roundTrip(new ValidationError('bad key', 'use a name'));
  assert.ok(v instanceof RemoteNodeError);
  assert.equal(v.node, 'node-b');
  assert.deepEqual([v.code, v.status, v.message, v.hint], ['invalid_input', 400, 'bad key', 'use a name']);
});

test('a body that is not our JSON becomes a node_api_error quoting it', () => {
  const e = reviveError('node-b', 502, Buffer.from('<html>bad gateway</html>'));
  assert.equal(e.code, 'node_api_error');
  assert.equal(e.status, 502);
  assert.match(e.message, /node node-b answered 502: <html>bad gateway/);
  assert.equal(reviveError('n', 200, Buffer.alloc(0)).status, 502);
});
