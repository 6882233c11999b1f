import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContainerCreateSpec } from '../engine/types.ts';
import { autoParallel, moveBlocker } from './drain.ts';

const spec = (extra: Partial<ContainerCreateSpec> = {}): ContainerCreateSpec => ({
  name: 'c',
  image: 'i',
  ...extra,
});

describe('drain', () => {
  test('what keeps a container from moving live, named', () => {
    assert.equal(moveBlocker(spec()), undefined);
    assert.equal(
      moveBlocker(spec({ mounts: [{ type: 'tmpfs', source: 'tmpfs', destination: '/t', options: [] }] })),
      undefined,
    );
    assert.match(
      moveBlocker(spec({ binds: ['/srv/data:/data:ro'] }))!,
      /bind-mounts \/srv\/data of its host/,
    );
    assert.match(
      moveBlocker(spec({ mounts: [{ type: 'bind', source: '/var/log', destination: '/l', options: [] }] }))!,
      /bind-mounts \/var\/log/,
    );
    assert.match(moveBlocker(spec({ netns: { nsmode: 'host' } }))!, /host's network/);
    assert.match(
      moveBlocker(spec({ netns: { nsmode: 'container', value: 'db' } }))!,
      /network of container db/,
    );
    assert.match(
      moveBlocker(spec({ devices: ['/dev/fuse:/dev/fuse:rwm'] }))!,
      /host devices \(\/dev\/fuse\)/,
    );
    assert.match(moveBlocker(spec({ volumesFrom: ['data'] }))!, /volumes of data/);
    assert.match(moveBlocker(spec({ pidns: 'host' }))!, /host's pid namespace/);
  });
  test('parallel moves by default: bounded by the source CPUs, the targets and 4', () => {
    assert.equal(autoParallel(2, 2), 2);
    assert.equal(autoParallel(2, 1), 2);
    assert.equal(autoParallel(1, 3), 1);
    assert.equal(autoParallel(16, 1), 2);
    assert.equal(autoParallel(16, 8), 4);
    assert.equal(autoParallel(4, 0), 1);
  });
});
