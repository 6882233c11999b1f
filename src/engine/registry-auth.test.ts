import assert from 'node:assert/strict';
import { test } from 'node:test';
import { perRegistryAuth } from './podman-client.ts';

const decode = (h: string): unknown => JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));

test("docker's one credential becomes Podman's per-registry map, padded base64 with the URL alphabet", () => {
  const one = { username: 'u', password: 'p?>>', serveraddress: 'https://reg.example:5443/v2/' };
  const header = perRegistryAuth(
    Buffer.from(JSON.stringify(one)).toString('base64url'),
    'reg.example:5443/team',
  );
  assert.deepEqual(decode(header), { 'reg.example:5443': one });
  assert.equal(header.length % 4, 0, 'padded');
  assert.doesNotMatch(header, /[+/]/);
  const noServer = perRegistryAuth(Buffer.from('{"username":"u"}').toString('base64url'), 'other.io/app');
  assert.deepEqual(decode(noServer), { 'other.io': { username: 'u' } });
  const hub = perRegistryAuth(Buffer.from('{"username":"u"}').toString('base64url'), 'redis');
  assert.deepEqual(decode(hub), { 'docker.io': { username: 'u' } });
});
