import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dockerState,
  parseLink,
  parseNetworkMode,
  networkModeOf,
  toDockerInspect,
  toDockerSummary,
  type PodmanInspect,
  type PodmanListEntry,
} from './podman-mapping.ts';

const inspect = {
  Id: 'f'.repeat(64),
  Name: 'web',
  Created: '2026-01-01T00:00:00Z',
  Path: '/entry',
  Args: ['--flag', 'sh', '-c', 'echo a b'],
  Image: 'e'.repeat(64),
  ImageName: 'localhost/lifeboat/busybox:latest',
  State: {
    Status: 'stopped',
    Running: false,
    Paused: false,
    Pid: 0,
    ExitCode: 3,
    StartedAt: '2026-01-01T00:00:01Z',
    FinishedAt: '2026-01-01T00:00:02Z',
  },
  Config: {
    Env: ['A=1'],
    Cmd: ['sh', '-c', 'echo a b'],
    Entrypoint: '/entry --flag',
    Labels: null,
    Tty: false,
    WorkingDir: '/',
    Image: 'localhost/lifeboat/busybox:latest',
    StopSignal: 15,
  },
  HostConfig: {
    CgroupParent: '/lifeboat_n1',
    PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
    NetworkMode: 'bridge',
  },
  NetworkSettings: {
    IPAddress: '10.88.0.2',
    Ports: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
    Networks: { podman: { IPAddress: '10.88.0.2', Gateway: '10.88.0.1' } },
  },
} as PodmanInspect;

describe('podman to docker shapes', () => {
  test('inspect: leading slash, sha256 image, Docker state words, exact entrypoint from Path/Args', () => {
    const d = toDockerInspect(inspect);
    assert.equal(d.Name, '/web');
    assert.equal(d.Image, `sha256:${'e'.repeat(64)}`);
    assert.equal(d.State.Status, 'exited');
    assert.equal(d.State.ExitCode, 3);
    assert.deepEqual(d.Config.Entrypoint, ['/entry', '--flag']);
    assert.deepEqual(d.Config.Cmd, ['sh', '-c', 'echo a b']);
    assert.equal(d.Config.StopSignal, 'SIGTERM');
    assert.deepEqual(d.Config.Labels, {});
    assert.deepEqual(d.Config.ExposedPorts, { '80/tcp': {} });
    assert.deepEqual(d.NetworkSettings.Ports, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
    assert.equal(d.NetworkSettings.Networks['podman']?.Gateway, '10.88.0.1');
    assert.equal(d.HostConfig.CgroupParent, '/lifeboat_n1');
  });

  test('list entry: unix seconds from RFC 3339, names with slashes, ports with 0.0.0.0, status text', () => {
    const entry = {
      Id: 'a'.repeat(64),
      Names: ['web'],
      Image: 'busybox',
      ImageID: 'b'.repeat(64),
      State: 'running',
      Status: '',
      Created: '2026-01-01T00:00:00Z',
      Labels: null,
      Ports: [{ host_ip: '', container_port: 80, host_port: 8080, protocol: 'tcp', range: 2 }],
      Command: ['sh', '-c', 'x'],
      Pid: 1,
      ExitCode: 0,
      Exited: false,
      StartedAt: Date.parse('2026-01-01T00:00:10Z') / 1000,
      ExitedAt: -62135596800,
      Networks: ['podman'],
    } as PodmanListEntry;
    const s = toDockerSummary(entry, Date.parse('2026-01-01T00:05:10Z'));
    assert.equal(s.Created, Date.parse('2026-01-01T00:00:00Z') / 1000);
    assert.deepEqual(s.Names, ['/web']);
    assert.equal(s.Command, 'sh -c x');
    assert.equal(s.Status, 'Up 5 minutes');
    assert.deepEqual(s.Ports, [
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 81, PublicPort: 8081, Type: 'tcp' },
    ]);
    assert.deepEqual(s.Labels, {});
  });

  test('states, network modes and links', () => {
    assert.equal(dockerState('configured'), 'created');
    assert.equal(dockerState('stopping'), 'running');
    assert.equal(dockerState('exited'), 'exited');
    assert.equal(dockerState('weird'), 'dead');
    assert.deepEqual(parseNetworkMode('default'), { nsmode: 'bridge' });
    assert.deepEqual(parseNetworkMode('host'), { nsmode: 'host' });
    assert.deepEqual(parseNetworkMode('container:db'), { container: 'db' });
    assert.deepEqual(parseNetworkMode('mynet'), { nsmode: 'bridge' }, 'a user-defined network: bridge on it');
    assert.throws(() => parseNetworkMode('container:'), /network mode "container:" is not supported/);
    // inspect names the user-defined network, as Docker does; Podman says bridge for all of them
    assert.equal(networkModeOf('bridge', ['lifeboat']), 'lifeboat');
    assert.equal(networkModeOf('bridge', ['podman']), 'bridge');
    assert.equal(networkModeOf(undefined, []), 'bridge');
    assert.equal(networkModeOf('host', []), 'host');
    assert.deepEqual(parseLink('db:database'), { target: 'db', alias: 'database' });
    assert.deepEqual(parseLink('/db:/web/database'), { target: 'db', alias: 'database' });
    assert.deepEqual(parseLink('db'), { target: 'db', alias: 'db' });
  });
});
