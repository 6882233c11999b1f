import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkpointOptionsFromQuery,
  checkpointToStoreBody,
  containerName,
  fenceBody,
  imageRef,
  reconcileBody,
  restoreFromStoreBody,
  restoreRequestFromQuery,
} from './api-input.ts';

const is400 = (fn: () => unknown, re: RegExp): void =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof Error && re.test(e.message) && (e as { status?: number }).status === 400,
  );

test('names, keys and refs cannot leave their place', () => {
  assert.equal(containerName('web-1.a_b'), 'web-1.a_b');
  is400(() => containerName('a/b'), /invalid container name/);
  is400(() => containerName('a..b'), /invalid container name/);
  is400(() => containerName(''), /invalid container name/);
  assert.equal(imageRef('localhost/lifeboat/busybox:latest'), 'localhost/lifeboat/busybox:latest');
  assert.equal(imageRef('sha256:abc'), 'sha256:abc');
  is400(() => imageRef('../etc'), /invalid image reference/);
  is400(() => imageRef('a//b'), /invalid image reference/);
  is400(() => checkpointToStoreBody({ key: '../x', group: 0, version: 0 }), /container key/);
});

test('checkpoint query flags: booleans only, unknown keys refused', () => {
  assert.deepEqual(
    checkpointOptionsFromQuery(new URLSearchParams('leaveRunning=true&tcpEstablished=0&keep')),
    {
      leaveRunning: true,
      tcpEstablished: false,
      keep: true,
    },
  );
  is400(() => checkpointOptionsFromQuery(new URLSearchParams('leaveRunning=maybe')), /not a boolean/);
  is400(() => checkpointOptionsFromQuery(new URLSearchParams('export=true')), /unknown query parameter/);
  assert.deepEqual(restoreRequestFromQuery(new URLSearchParams('name=copy&ignoreStaticIp=true')), {
    name: 'copy',
    ignoreStaticIp: true,
  });
  is400(() => restoreRequestFromQuery(new URLSearchParams('name=a/b')), /invalid container name/);
});

test('JSON bodies are checked field by field', () => {
  assert.deepEqual(
    checkpointToStoreBody({ key: 'web', group: 1, version: 2, options: { leaveRunning: true } }),
    {
      key: 'web',
      ref: { group: 1, version: 2 },
      options: { leaveRunning: true },
    },
  );
  is400(() => checkpointToStoreBody({ key: 'web', group: -1, version: 0 }), /group/);
  is400(
    () => checkpointToStoreBody({ key: 'web', group: 0, version: 0, options: { leaveRunning: 'yes' } }),
    /leaveRunning/,
  );
  is400(() => checkpointToStoreBody({ key: 'web', group: 0, version: 0, extra: 1 }), /unknown field/);
  is400(() => checkpointToStoreBody([]), /JSON object/);
  assert.deepEqual(restoreFromStoreBody({ key: 'web', group: 0, version: 3, name: 'web2' }), {
    key: 'web',
    ref: { group: 0, version: 3 },
    restore: { name: 'web2' },
  });
  assert.deepEqual(fenceBody(undefined), { reason: 'asked by a manager' });
  assert.deepEqual(reconcileBody({ elsewhere: ['a', 'b'] }), { elsewhere: ['a', 'b'] });
  is400(() => reconcileBody({ elsewhere: 'a' }), /array/);
  is400(() => reconcileBody({ elsewhere: ['../a'] }), /invalid container name/);
  const id = 'ab'.repeat(32);
  assert.deepEqual(reconcileBody({ elsewhere: ['a'], seen: { a: id } }), {
    elsewhere: ['a'],
    seen: new Map([['a', id]]),
  });
  is400(
    () => reconcileBody({ elsewhere: ['a'], seen: { a: 'not-an-id' } }),
    /seen\.a must be a container ID/,
  );
  is400(() => reconcileBody({ elsewhere: ['a'], seen: { '../a': id } }), /invalid container name/);
});
