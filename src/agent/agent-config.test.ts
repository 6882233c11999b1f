import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultFenceMarginMs,
  formatHostPort,
  httpsUrl,
  parseHostPort,
  parseHostPortList,
  parseLabel,
} from './agent-config.ts';

test('host:port for IPv4, names and bracketed IPv6', () => {
  assert.deepEqual(parseHostPort('10.99.0.1:7440', 'x'), { host: '10.99.0.1', port: 7440 });
  assert.deepEqual(parseHostPort('manager-1:7440', 'x'), { host: 'manager-1', port: 7440 });
  assert.deepEqual(parseHostPort('[fd00::1]:7440', 'x'), { host: 'fd00::1', port: 7440 });
  assert.deepEqual(parseHostPort('10.0.0.1', 'x', 7443), { host: '10.0.0.1', port: 7443 });
  assert.equal(formatHostPort({ host: 'fd00::1', port: 1 }), '[fd00::1]:1');
  assert.equal(httpsUrl({ host: '10.0.0.1', port: 7443 }, '/podman'), 'https://10.0.0.1:7443/podman');
});

test('bad addresses say what is wrong', () => {
  assert.throws(() => parseHostPort('10.0.0.1', '--manager'), /--manager "10.0.0.1": no port/);
  assert.throws(() => parseHostPort('fd00::1:80', 'x'), /brackets/);
  assert.throws(() => parseHostPort('h:99999', 'x'), /0-65535/);
  assert.throws(() => parseHostPort(':80', 'x'), /no valid host/);
  assert.throws(() => parseHostPortList(' , ', '--manager'), /empty/);
  assert.throws(() => parseHostPortList('a:0', '--manager'), /port 0/);
  assert.deepEqual(parseHostPortList('a:1, b:2', 'x'), [
    { host: 'a', port: 1 },
    { host: 'b', port: 2 },
  ]);
});

test('labels are key=value with a non-empty key', () => {
  assert.deepEqual(parseLabel('zone=a'), ['zone', 'a']);
  assert.deepEqual(parseLabel('ssd='), ['ssd', '']);
  assert.deepEqual(parseLabel('x=a=b'), ['x', 'a=b']);
  assert.throws(() => parseLabel('=a'), /no valid key/);
});

test('the fence margin covers a beat in flight and a fifth of the timeout, at most half', () => {
  assert.equal(defaultFenceMarginMs(5000, 1000), 1000);
  assert.equal(defaultFenceMarginMs(30_000, 1000), 6000);
  assert.equal(defaultFenceMarginMs(1000, 1000), 500);
});
