import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decidePodmanRoute } from './podman-allow-list.ts';

const allowed = (method: string, path: string, upgrade = false): boolean =>
  decidePodmanRoute(method, path, upgrade).allow;

test('the container and image routes managers need pass, versioned or not', () => {
  assert.ok(allowed('POST', '/v4.0.0/libpod/containers/create'));
  assert.ok(allowed('POST', '/libpod/containers/web/start'));
  for (const op of ['start', 'stop', 'kill', 'restart', 'wait', 'attach'])
    assert.ok(allowed('POST', `/v4.0.0/libpod/containers/web-1/${op}`), op);
  for (const op of ['json', 'logs', 'exists'])
    assert.ok(allowed('GET', `/v4.0.0/libpod/containers/web/${op}`), op);
  assert.ok(allowed('DELETE', '/v4.0.0/libpod/containers/web'));
  assert.ok(allowed('GET', '/v4.0.0/libpod/containers/json'));
  assert.ok(allowed('HEAD', '/v4.0.0/libpod/_ping'));
  assert.ok(allowed('GET', '/v4.0.0/libpod/images/json'));
  assert.ok(allowed('GET', '/v4.0.0/libpod/images/localhost%2Flifeboat%2Fbusybox%3Alatest/exists'));
  assert.ok(allowed('GET', '/v4.0.0/libpod/images/localhost%2Flifeboat%2Fbusybox%3Alatest/get'));
  assert.ok(allowed('POST', '/v4.0.0/libpod/images/load'));
  assert.ok(allowed('POST', '/v1.41/containers/web/wait'), "Docker's wait (next-exit)");
});

test('the create route is marked for the host cgroup parent, and only it', () => {
  const create = decidePodmanRoute('POST', '/v4.0.0/libpod/containers/create', false);
  assert.ok(create.allow && create.setsCgroupParent);
  const start = decidePodmanRoute('POST', '/v4.0.0/libpod/containers/web/start', false);
  assert.ok(start.allow && !start.setsCgroupParent);
});

test('restore and checkpoint are refused with a pointer to /v1', () => {
  const restore = decidePodmanRoute('POST', '/v4.0.0/libpod/containers/import/restore', false);
  assert.equal(restore.allow, false);
  assert.ok(!restore.allow && restore.status === 403 && /\/v1\/restore/.test(restore.message));
  const cp = decidePodmanRoute('POST', '/v4.0.0/libpod/containers/web/checkpoint', false);
  assert.ok(!cp.allow && cp.status === 403 && /checkpoint/.test(cp.message));
});

test('exec: create, start (upgrading), inspect, resize of a 64-hex session; nothing else of it', () => {
  const id = 'a'.repeat(64);
  assert.ok(allowed('POST', '/v4.0.0/libpod/containers/web/exec'));
  assert.ok(allowed('POST', `/v4.0.0/libpod/exec/${id}/start`, true));
  assert.ok(allowed('GET', `/v4.0.0/libpod/exec/${id}/json`));
  assert.ok(allowed('POST', `/v4.0.0/libpod/exec/${id}/resize`));
  assert.equal(allowed('POST', '/v4.0.0/libpod/exec/short/start', true), false);
  assert.equal(allowed('DELETE', `/v4.0.0/libpod/exec/${id}`), false);
  assert.equal(
    allowed('GET', `/v4.0.0/libpod/exec/${id}/json`, true),
    false,
    'only attach and exec start upgrade',
  );
});

test('everything else is refused: other methods, other APIs, other upgrades', () => {
  assert.equal(allowed('POST', '/v4.0.0/libpod/images/pull'), false);
  assert.equal(allowed('DELETE', '/v4.0.0/libpod/images/busybox/extra'), false);
  assert.ok(allowed('DELETE', '/v4.0.0/libpod/images/busybox'), 'docker rmi');
  assert.equal(allowed('DELETE', '/v4.0.0/libpod/networks/podman'), false, "the host's default network");
  assert.ok(allowed('DELETE', '/v4.0.0/libpod/networks/proj_default'), 'a user-defined network');
  assert.ok(allowed('POST', '/v4.0.0/libpod/networks/proj_default/connect'));
  assert.ok(allowed('POST', '/v4.0.0/libpod/volumes/create'));
  assert.ok(allowed('DELETE', '/v4.0.0/libpod/volumes/proj_data'));
  assert.equal(allowed('POST', '/v4.0.0/libpod/volumes/prune'), false);
  assert.equal(allowed('PUT', '/v4.0.0/libpod/containers/web/start'), false);
  assert.equal(allowed('POST', '/v1.41/containers/create'), false, 'compat create is not needed');
  assert.equal(allowed('POST', '/v4.0.0/libpod/system/prune'), false);
  assert.equal(allowed('POST', '/v4.0.0/libpod/containers/web/start', true), false, 'only attach upgrades');
  assert.ok(allowed('POST', '/v4.0.0/libpod/containers/web/attach', true));
  assert.equal(allowed('GET', ''), false);
});

test('names that could leave their place are 400', () => {
  for (const p of [
    '/v4.0.0/libpod/containers/..%2F..%2Fimages%2Fload/start',
    '/v4.0.0/libpod/containers/a%2Fb/start',
    '/v4.0.0/libpod/containers/%2e%2e/json',
    '/v4.0.0/libpod/images/a%2F%2Fb/exists',
    '/v4.0.0/libpod/containers/%zz/json',
  ]) {
    const d = decidePodmanRoute(p.includes('images') ? 'GET' : p.endsWith('json') ? 'GET' : 'POST', p, false);
    assert.ok(!d.allow && d.status === 400, p);
  }
});
