import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendInfo } from './backend.ts';
import { bytesSize, dockerInfo, systemStatus } from './system.ts';

const info: BackendInfo = {
  id: 'cluster',
  name: 'lifeboat',
  containers: { total: 3, running: 2, paused: 0, stopped: 1 },
  images: 2,
  driver: 'overlay',
  cpus: 4,
  memoryBytes: 2 * 1024 ** 3,
  kernelVersion: '6.18',
  operatingSystem: 'debian 12',
  arch: 'amd64',
  rootDir: '/var/lib',
  labels: { zone: 'a' },
  status: [['Strategy', 'spread']],
  nodes: [
    {
      name: 'node1',
      address: '10.99.0.11:7443',
      id: 'n1',
      status: 'Healthy',
      containers: { total: 3, running: 2, paused: 0, stopped: 1 },
      cpus: 4,
      memoryBytes: 25_276_026_880,
      reservedCpus: 1,
      reservedMemoryBytes: 512 * 1024 ** 2,
      labels: { disk: 'ssd', zone: 'a' },
      serverVersion: 'Podman 4.3.1',
      updatedAt: '2026-01-01T00:00:00Z',
    },
  ],
};

describe('/info', () => {
  test('SystemStatus lists nodes the way classic Swarm did', () => {
    assert.deepEqual(systemStatus(info), [
      ['Strategy', 'spread'],
      ['Nodes', '1'],
      [' node1', '10.99.0.11:7443'],
      ['  └ ID', 'n1'],
      ['  └ Status', 'Healthy'],
      ['  └ Containers', '3 (2 Running, 0 Paused, 1 Stopped)'],
      ['  └ Reserved CPUs', '1 / 4'],
      ['  └ Reserved Memory', '512 MiB / 23.54 GiB'],
      ['  └ Labels', 'disk=ssd, zone=a'],
      ['  └ UpdatedAt', '2026-01-01T00:00:00Z'],
      ['  └ ServerVersion', 'Podman 4.3.1'],
    ]);
  });

  test('Docker field names and units', () => {
    const d = dockerInfo(info, { version: '0.1.0', apiVersion: '1.47', minApiVersion: '1.24' });
    assert.equal(d['ContainersRunning'], 2);
    assert.equal(d['Architecture'], 'x86_64');
    assert.equal(d['ExperimentalBuild'], true);
    assert.deepEqual(d['Labels'], ['zone=a']);
    assert.equal(bytesSize(0), '0 B');
    assert.equal(bytesSize(1536), '1.5 KiB');
  });
});
