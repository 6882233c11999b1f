import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNetworkConnect, parseNetworkCreate, parseVolumeCreate } from './network-body.ts';

describe('network and volume request bodies: honour or refuse', () => {
  test('network create as the docker CLI and docker-compose send it', () => {
    assert.deepEqual(
      parseNetworkCreate({
        Name: 'proj_default',
        CheckDuplicate: true,
        Driver: 'bridge',
        Internal: false,
        Attachable: false,
        Ingress: false,
        IPAM: { Driver: 'default', Config: [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }], Options: {} },
        EnableIPv6: false,
        Options: { 'com.docker.network.driver.mtu': '1400' },
        Labels: { 'com.docker.compose.project': 'proj' },
      }),
      {
        name: 'proj_default',
        internal: false,
        labels: { 'com.docker.compose.project': 'proj' },
        subnets: [{ subnet: '10.77.0.0/24', gateway: '10.77.0.1' }],
        options: { mtu: '1400' },
      },
    );
  });

  test('what a host-local bridge cannot be is refused by field', () => {
    const cases: [unknown, RegExp][] = [
      [{}, /Name is required/],
      [{ Name: 'a b' }, /not a valid network name/],
      [{ Name: 'n', Driver: 'overlay' }, /Driver: "overlay" is not supported: .*no multi-host network/],
      [{ Name: 'n', Scope: 'swarm' }, /Scope: "swarm" is not supported/],
      [{ Name: 'n', Ingress: true }, /Ingress is not supported/],
      [{ Name: 'n', EnableIPv6: true }, /only IPv4/],
      [
        { Name: 'n', Options: { 'com.docker.network.bridge.name': 'br9' } },
        /Options: "com.docker.network.bridge.name"/,
      ],
      [{ Name: 'n', IPAM: { Driver: 'dhcp' } }, /IPAM.Driver: "dhcp"/],
      [{ Name: 'n', IPAM: { Config: [{ Subnet: '10.0.0.0/33' }] } }, /not an IPv4 CIDR/],
      [
        { Name: 'n', IPAM: { Config: [{ Subnet: '10.1.0.0/24', IPRange: '10.1.0.0/25' }] } },
        /IPRange is not supported/,
      ],
      [{ Name: 'n', ConfigFrom: { Network: 'x' } }, /ConfigFrom is not supported/],
      [{ Name: 'n', Internal: 'yes' }, /Internal must be true or false/],
    ];
    for (const [body, re] of cases) assert.throws(() => parseNetworkCreate(body), re, JSON.stringify(body));
  });

  test('connect: aliases and an address; links refused', () => {
    assert.deepEqual(
      parseNetworkConnect({
        Container: 'web',
        EndpointConfig: { Aliases: ['w'], IPAMConfig: { IPv4Address: '10.77.0.9' } },
      }),
      { container: 'web', endpoint: { Aliases: ['w'], IPAMConfig: { IPv4Address: '10.77.0.9' } } },
    );
    assert.throws(() => parseNetworkConnect({ EndpointConfig: {} }), /Container is required/);
    assert.throws(
      () => parseNetworkConnect({ Container: 'web', EndpointConfig: { Links: ['db:db'] } }),
      /EndpointConfig.Links is not supported/,
    );
  });

  test('volume create: local driver and labels; other drivers and options refused', () => {
    assert.deepEqual(
      parseVolumeCreate({ Name: 'data', Driver: 'local', Labels: { a: 'b' }, DriverOpts: {} }),
      {
        name: 'data',
        labels: { a: 'b' },
      },
    );
    assert.deepEqual(parseVolumeCreate({}), { labels: {} });
    assert.throws(() => parseVolumeCreate({ Name: 'x', Driver: 'nfs' }), /Driver: "nfs" is not supported/);
    assert.throws(
      () => parseVolumeCreate({ Name: 'x', DriverOpts: { type: 'nfs' } }),
      /DriverOpts is not supported/,
    );
    assert.throws(() => parseVolumeCreate({ Name: '../x' }), /not a valid volume name/);
  });
});
