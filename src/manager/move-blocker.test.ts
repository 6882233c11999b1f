import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContainerCreateSpec } from '../engine/types.ts';
import { moveBlocker } from './move-blocker.ts';

const spec = (extra: Partial<ContainerCreateSpec> = {}): ContainerCreateSpec => ({
  name: 'c',
  image: 'i',
  ...extra,
});

describe('moveBlocker', () => {
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
  test('a bind under declared shared storage moves; named volumes travel', () => {
    const binds = spec({ binds: ['/mnt/gluster/app:/app', '/mnt/glusterx:/x'] });
    assert.match(moveBlocker(binds, ['/mnt/gluster/'])!, /bind-mounts \/mnt\/glusterx of its host/);
    assert.equal(moveBlocker(binds, ['/mnt/gluster', '/mnt/glusterx']), undefined);
    assert.equal(moveBlocker(spec({ volumes: [{ name: 'data', dest: '/data' }] })), undefined);
  });
});
