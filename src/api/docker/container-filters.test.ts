import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectContainers } from './container-filters.ts';
import type { DockerContainerStatus, DockerContainerSummary } from './types.ts';

function c(
  id: string,
  name: string,
  state: DockerContainerStatus,
  created: number,
  labels = {},
): DockerContainerSummary {
  return {
    Id: id,
    Names: [`/${name}`],
    Image: 'busybox',
    ImageID: 'sha256:1',
    Command: 'sh',
    Created: created,
    Ports: [],
    Labels: labels,
    State: state,
    Status: '',
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

const all = [
  c('aaa111', 'web-1', 'running', 10, { tier: 'front', env: 'prod' }),
  c('aaa222', 'web-2', 'exited', 30, { tier: 'front' }),
  c('bbb333', 'db', 'running', 20, { tier: 'back' }),
  c('ccc444', 'job', 'created', 40),
];
const names = (l: DockerContainerSummary[]): string[] => l.map((x) => x.Names[0]!.slice(1));

describe('container list selection (dockerd semantics)', () => {
  test('running only by default, newest first; all shows every state', () => {
    assert.deepEqual(names(selectContainers(all, { all: false, filters: {} })), ['db', 'web-1']);
    assert.deepEqual(names(selectContainers(all, { all: true, filters: {} })), [
      'job',
      'web-2',
      'db',
      'web-1',
    ]);
  });

  test('limit takes the newest, whatever their state', () => {
    assert.deepEqual(names(selectContainers(all, { all: false, limit: 2, filters: {} })), ['job', 'web-2']);
  });

  test('a status filter implies every state', () => {
    assert.deepEqual(
      names(selectContainers(all, { all: false, filters: { status: ['exited', 'created'] } })),
      ['job', 'web-2'],
    );
  });

  test('name and id match as regular expressions; values of one key are OR-ed', () => {
    assert.deepEqual(names(selectContainers(all, { all: true, filters: { name: ['web'] } })), [
      'web-2',
      'web-1',
    ]);
    assert.deepEqual(names(selectContainers(all, { all: true, filters: { name: ['^/db$', 'job'] } })), [
      'job',
      'db',
    ]);
    assert.deepEqual(names(selectContainers(all, { all: true, filters: { id: ['aaa2'] } })), ['web-2']);
  });

  test('labels: key or key=value, all of them must match; keys are AND-ed', () => {
    assert.deepEqual(names(selectContainers(all, { all: true, filters: { label: ['tier=front'] } })), [
      'web-2',
      'web-1',
    ]);
    assert.deepEqual(names(selectContainers(all, { all: true, filters: { label: ['tier=front', 'env'] } })), [
      'web-1',
    ]);
    assert.deepEqual(
      names(selectContainers(all, { all: true, filters: { label: ['tier'], status: ['running'] } })),
      ['db', 'web-1'],
    );
  });
});

test('a name filter that could backtrack for ever is a 400, before any container is matched', () => {
  const many = [c('a'.repeat(64), 'a'.repeat(100), 'running', 1)];
  assert.throws(
    () => selectContainers(many, { all: true, filters: { name: ['(a+)+$b'] } }),
    (e: Error & { status?: number }) => e.status === 400 && /refused/.test(e.message),
  );
});
