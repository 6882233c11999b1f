import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCreateBody } from './create-body.ts';
import { toCreateSpec } from './podman-mapping.ts';

describe('container create body', () => {
  test('what `docker run` sends maps to a libpod spec', () => {
    const body = parseCreateBody({
      Image: 'busybox',
      Cmd: ['sh', '-c', 'echo hi'],
      Entrypoint: null,
      Env: ['A=1', 'B=x=y', 'EMPTY'],
      Labels: { tier: 'front' },
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Tty: false,
      OpenStdin: true,
      WorkingDir: '/data',
      HostConfig: {
        PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostPort: '' }] },
        Binds: ['/srv/data:/data:ro'],
        VolumesFrom: ['store:ro'],
        Memory: 64 * 1024 * 1024,
        CpuShares: 512,
        AutoRemove: true,
        ExtraHosts: ['gw:10.0.0.1'],
        NetworkMode: 'default',
        LogConfig: { Type: 'json-file' },
      },
      NetworkingConfig: { EndpointsConfig: {} },
    });
    const spec = toCreateSpec(body, {
      name: 'web',
      cgroupParent: '/lifeboat_n1',
      linkHosts: ['db:10.88.0.5'],
      netns: { nsmode: 'bridge' },
    });
    assert.deepEqual(spec, {
      name: 'web',
      image: 'busybox',
      env: { A: '1', B: 'x=y' }, // `-e EMPTY` of a variable the client lacks sets nothing, as in Docker
      labels: { tier: 'front' },
      cgroupParent: '/lifeboat_n1',
      terminal: false,
      command: ['sh', '-c', 'echo hi'],
      workDir: '/data',
      openStdin: true,
      autoRemove: true,
      memoryLimitBytes: 64 * 1024 * 1024,
      cpuShares: 512,
      binds: ['/srv/data:/data:ro'],
      volumesFrom: ['store:ro'],
      netns: { nsmode: 'bridge' },
      annotations: { 'lifeboat.image': 'busybox' },
      log: { driver: 'k8s-file' },
      hostAdd: ['gw:10.0.0.1', 'db:10.88.0.5'],
      portMappings: [
        { containerPort: 80, hostPort: 8080, protocol: 'tcp', hostIp: '' },
        { containerPort: 53, hostPort: 0, protocol: 'udp', hostIp: '' },
      ],
      expose: { 80: 'tcp', 53: 'udp' },
    });
  });

  test('`--entrypoint ""` clears the image entrypoint; a string Cmd is one word', () => {
    const spec = toCreateSpec(parseCreateBody({ Image: 'x', Entrypoint: [''], Cmd: 'top' }), {
      name: '',
      cgroupParent: '/p',
      linkHosts: [],
      netns: undefined,
    });
    assert.deepEqual(spec.entrypoint, []);
    assert.deepEqual(spec.command, ['top']);
  });

  test('wrong shapes are 400s naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /config cannot be empty/],
      [[], /body must be a JSON object/],
      [{}, /Image is required/],
      [{ Image: 'x', Cmd: [1] }, /Cmd must be a list of strings/],
      [{ Image: 'x', Tty: 'yes' }, /Tty must be true or false/],
      [{ Image: 'x', Labels: { a: 1 } }, /Labels\.a must be a string/],
      [{ Image: 'x', HostConfig: { Memory: 1000 } }, /Minimum memory limit allowed is 6MB/],
      [
        { Image: 'x', HostConfig: { Binds: ['../x:/data'] } },
        /neither an absolute host path nor a volume name/,
      ],
      [{ Image: 'x', Volumes: { '/data': {} } }, /"\/data" is an anonymous volume/],
      [{ Image: 'x', HostConfig: { Binds: ['/a'] } }, /invalid bind "\/a"/],
      [
        { Image: 'x', HostConfig: { PortBindings: { '80': [{ HostPort: '8000-8010' }] } } },
        /port ranges are not supported/,
      ],
      [{ Image: 'x', HostConfig: { PortBindings: { 'http/tcp': [] } } }, /invalid port "http\/tcp"/],
      [{ Image: 'x', ExposedPorts: { '99999/tcp': {} } }, /invalid port "99999\/tcp"/],
      [{ Image: 'x', HostConfig: { CpuShares: 1.5 } }, /HostConfig\.CpuShares must be an integer/],
      [{ Image: 'x', Healthcheck: { Test: ['sh', 'x'] } }, /must be NONE, CMD or CMD-SHELL/],
      [{ Image: 'x', Healthcheck: { Test: ['CMD-SHELL', 'a', 'b'] } }, /CMD-SHELL takes exactly one/],
      [{ Image: 'x', Healthcheck: { Test: ['CMD', 'true'], Interval: 10 } }, /below the 1 ms minimum/],
      [{ Image: 'x', Healthcheck: { Test: ['CMD', 'true'], StartInterval: 1e9 } }, /StartInterval/],
      [{ Image: 'x', Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } }, /must not be negative/],
      [{ Image: 'x', Healthcheck: { Interval: 1e9 } }, /without naming its command/],
      [
        { Image: 'x', Healthcheck: { Test: ['CMD', 'true'], Every: 1 } },
        /Healthcheck\.Every is not supported/,
      ],
      // each of these reached Podman and came back as a 5xx (test/security/fuzz.test.ts)
      [{ Image: '..' }, /invalid reference format/],
      [{ Image: '\ud800' }, /invalid reference format/],
      [{ Image: 'Busybox' }, /invalid reference format/],
      [{ Image: 'x', HostConfig: { Memory: 2 ** 63 } }, /HostConfig\.Memory is out of range/],
      [{ Image: 'x', StopTimeout: 2 ** 64 }, /StopTimeout is out of range/],
      [{ Image: 'x', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '99999' }] } } }, /up to 65535/],
      [
        { Image: 'x', HostConfig: { PortBindings: { '80/tcp': [{ HostIp: 'nope' }] } } },
        /invalid host IP "nope"/,
      ],
      [{ Image: 'x', HostConfig: { VolumesFrom: ['web:zz'] } }, /invalid VolumesFrom entry "web:zz"/],
    ];
    for (const [body, re] of cases) assert.throws(() => parseCreateBody(body), re, JSON.stringify(body));
  });
});
