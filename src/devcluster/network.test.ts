import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSubnet, vethName } from './network.ts';

test('parseSubnet: the bridge takes .1, host i takes .(10+i)', () => {
  const s = parseSubnet('10.99.0.0/24');
  assert.ok(s);
  assert.equal(s.gatewayCidr, '10.99.0.1/24');
  assert.equal(s.hostCidr(1), '10.99.0.11/24');
  assert.equal(s.hostCidr(3), '10.99.0.13/24');
  assert.equal(s.maxHosts, 244);
});

test('parseSubnet: host bits of the given address are ignored; nonsense is refused', () => {
  assert.equal(parseSubnet('10.97.3.77/24')?.hostCidr(2), '10.97.3.12/24');
  assert.equal(parseSubnet('172.20.0.0/16')?.hostCidr(300), '172.20.1.54/16');
  for (const bad of ['10.99.0.0', '10.99.0/24', '300.1.1.0/24', '10.99.0.0/30', 'x/24']) {
    assert.equal(parseSubnet(bad), undefined, bad);
  }
});

test('vethName: lbv + host name, within IFNAMSIZ', () => {
  assert.equal(vethName('lb-node1'), 'lbvnode1');
  assert.ok(vethName('lb-abcdefghijklmnop').length <= 15);
});
