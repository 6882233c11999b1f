import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCreateBody } from './create-body.ts';
import { CREATE_FIELDS, isZero, renderFieldTable } from './create-fields.ts';
import { toCreateSpec } from './podman-mapping.ts';

/** What docker CLI 28.2 sends for `docker create busybox sleep 1` (captured): every field, at its zero value. */
const CLI_DEFAULTS = JSON.parse(
  '{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["sleep","1"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}}',
) as Record<string, unknown>;

const ctx = { name: 'c', cgroupParent: '/p', linkHosts: [], netns: undefined };

describe('container create fields: honour or refuse', () => {
  test("the docker CLI's full body of zero values asks for nothing beyond the command", () => {
    const spec = toCreateSpec(parseCreateBody(CLI_DEFAULTS), ctx);
    assert.deepEqual(spec, {
      name: 'c',
      image: 'busybox',
      env: {},
      labels: {},
      cgroupParent: '/p',
      terminal: false,
      command: ['sleep', '1'],
      // the image as the client named it, for inspect's Config.Image
      annotations: { 'lifeboat.image': 'busybox' },
    });
  });

  test('every field the CLI sends is in the table', () => {
    const hc = CLI_DEFAULTS['HostConfig'] as Record<string, unknown>;
    for (const k of Object.keys(CLI_DEFAULTS)) assert.ok(CREATE_FIELDS[k], k);
    for (const k of Object.keys(hc)) assert.ok(CREATE_FIELDS[`HostConfig.${k}`], `HostConfig.${k}`);
  });

  test('each refused field with a value is a 400 naming the field and the reason', () => {
    for (const [path, rule] of Object.entries(CREATE_FIELDS)) {
      if (rule.status !== 'refused') continue;
      const [top, sub] = path.split('.') as [string, string | undefined];
      const value = path === 'HostConfig.UsernsMode' || path === 'HostConfig.Runtime' ? 'other' : ['x'];
      const body = sub ? { Image: 'busybox', [top]: { [sub]: value } } : { Image: 'busybox', [top]: value };
      assert.throws(
        () => parseCreateBody(body),
        (err: Error) => err.message.startsWith(`${path} is not supported: ${rule.text}`),
        path,
      );
    }
  });

  test('an unknown field with a value is refused; at its zero value it passes', () => {
    assert.throws(
      () => parseCreateBody({ Image: 'busybox', HostConfig: { Frobnicate: true } }),
      /HostConfig\.Frobnicate is not supported: lifeboat does not know this field/,
    );
    assert.throws(() => parseCreateBody({ Image: 'busybox', Sparkles: 1 }), /Sparkles is not supported/);
    parseCreateBody({ Image: 'busybox', Sparkles: null, HostConfig: { Frobnicate: [0, ''] } });
  });

  test('values Docker accepts pass: bind propagation, a bare env entry, EndpointsConfig MacAddress', () => {
    const spec = toCreateSpec(
      parseCreateBody({
        Image: 'busybox',
        Env: ['FOO', 'A=1'],
        HostConfig: { Binds: ['/srv:/srv:ro,rshared'] },
        NetworkingConfig: { EndpointsConfig: { default: { MacAddress: '02:42:AC:11:00:09' } } },
      }),
      ctx,
    );
    assert.deepEqual(spec.env, { A: '1' });
    assert.deepEqual(spec.binds, ['/srv:/srv:ro,rshared']);
    assert.equal(spec.staticMac, '02:42:ac:11:00:09');
  });

  test('user-defined networks and named volumes, as docker-compose sends them', () => {
    const spec = toCreateSpec(
      parseCreateBody({
        Image: 'redis',
        Volumes: { '/data': {}, '/cache': {} },
        HostConfig: {
          NetworkMode: 'proj_default',
          Binds: ['proj_data:/data:rw', '/srv:/srv:ro'],
          Mounts: [
            {
              Type: 'volume',
              Source: 'cache',
              Target: '/cache',
              ReadOnly: true,
              VolumeOptions: { NoCopy: true },
            },
          ],
        },
        NetworkingConfig: {
          EndpointsConfig: {
            proj_default: {
              Aliases: ['redis', 'db'],
              IPAMConfig: { IPv4Address: '10.89.0.9' },
              NetworkID: 'x',
            },
          },
        },
      }),
      ctx,
    );
    assert.deepEqual(spec.networks, { proj_default: { aliases: ['redis', 'db'], staticIps: ['10.89.0.9'] } });
    assert.deepEqual(spec.binds, ['/srv:/srv:ro']);
    assert.deepEqual(spec.volumes, [
      { name: 'proj_data', dest: '/data' },
      { name: 'cache', dest: '/cache', options: ['ro', 'nocopy'] },
    ]);
    const bare = toCreateSpec(parseCreateBody({ Image: 'x', HostConfig: { NetworkMode: 'backend' } }), ctx);
    assert.deepEqual(bare.networks, { backend: {} }, 'NetworkMode alone joins that network');
  });

  test('honoured settings become their libpod fields', () => {
    const spec = toCreateSpec(
      parseCreateBody({
        Image: 'busybox',
        StopSignal: 'SIGUSR1',
        HostConfig: {
          CapAdd: ['NET_ADMIN'],
          CapDrop: ['ALL'],
          ReadonlyRootfs: true,
          SecurityOpt: ['no-new-privileges', 'seccomp=unconfined', 'label=disable'],
          PidsLimit: 64,
          NanoCpus: 1_500_000_000,
          CpusetCpus: '0',
          Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }],
          Tmpfs: { '/run': 'rw,size=64m' },
          Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
          Mounts: [
            {
              Type: 'bind',
              Source: '/srv',
              Target: '/mnt',
              ReadOnly: true,
              BindOptions: { Propagation: 'rslave' },
            },
            { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } },
          ],
          Init: true,
          ShmSize: 128 * 1024 * 1024,
          GroupAdd: ['audio'],
          RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
          LogConfig: { Type: 'json-file', Config: { 'max-size': '10m' } },
          Dns: ['10.0.0.53'],
          DnsSearch: ['example.org'],
          DnsOptions: ['ndots:2'],
          Sysctls: { 'net.ipv4.ip_forward': '1' },
          OomScoreAdj: 100,
          MemorySwappiness: 0,
          IpcMode: 'shareable',
          PidMode: 'host',
          UTSMode: 'host',
          CgroupnsMode: 'private',
          Privileged: true,
          PublishAllPorts: true,
        },
      }),
      ctx,
    );
    assert.deepEqual(
      {
        ...spec,
        name: undefined,
        image: undefined,
        env: undefined,
        labels: undefined,
        cgroupParent: undefined,
      },
      {
        name: undefined,
        image: undefined,
        env: undefined,
        labels: undefined,
        cgroupParent: undefined,
        terminal: false,
        stopSignal: 10,
        annotations: { 'lifeboat.image': 'busybox' },
        privileged: true,
        publishAllPorts: true,
        capAdd: ['NET_ADMIN'],
        capDrop: ['ALL'],
        readOnlyRootfs: true,
        noNewPrivileges: true,
        seccompProfilePath: 'unconfined',
        selinuxOpts: ['disable'],
        groups: ['audio'],
        devices: ['/dev/null:/dev/mynull:rw'],
        pidsLimit: 64,
        cpuPeriod: 100_000,
        cpuQuota: 150_000,
        cpusetCpus: '0',
        memorySwappiness: 0,
        oomScoreAdj: 100,
        rlimits: [{ type: 'nofile', soft: 1024, hard: 2048 }],
        init: true,
        shmSizeBytes: 128 * 1024 * 1024,
        restartPolicy: 'on-failure',
        restartRetries: 3,
        log: { driver: 'k8s-file', sizeBytes: 10 * 1024 * 1024 },
        dnsServers: ['10.0.0.53'],
        dnsSearch: ['example.org'],
        dnsOptions: ['ndots:2'],
        sysctls: { 'net.ipv4.ip_forward': '1' },
        ipcns: 'shareable',
        pidns: 'host',
        utsns: 'host',
        cgroupns: 'private',
        mounts: [
          { type: 'tmpfs', source: 'tmpfs', destination: '/run', options: ['rw', 'size=64m'] },
          { type: 'bind', source: '/srv', destination: '/mnt', options: ['rbind', 'ro', 'rslave'] },
          { type: 'tmpfs', source: 'tmpfs', destination: '/scratch', options: ['size=1048576', 'mode=1777'] },
        ],
      },
    );
  });

  test('values out of what a field means are 400s naming it', () => {
    const cases: [unknown, RegExp][] = [
      [
        { HostConfig: { LogConfig: { Type: 'syslog' } } },
        /LogConfig\.Type: log driver "syslog" is not supported/,
      ],
      [{ HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-file': '3' } } } }, /"max-file"/],
      [
        { HostConfig: { SecurityOpt: ['seccomp=/etc/profile.json'] } },
        /SecurityOpt: "seccomp=\/etc\/profile.json"/,
      ],
      [{ HostConfig: { PidMode: 'container:db' } }, /PidMode: "container:db" is not supported/],
      [
        { HostConfig: { Mounts: [{ Type: 'volume', Target: '/v' }] } },
        /Mounts\[0\]: a volume mount without Source is an anonymous volume/,
      ],
      [
        {
          HostConfig: {
            Mounts: [
              { Type: 'volume', Source: 'v', Target: '/v', VolumeOptions: { DriverConfig: { Name: 'nfs' } } },
            ],
          },
        },
        /VolumeOptions\.DriverConfig is not supported/,
      ],
      [{ HostConfig: { Annotations: { 'org.criu.config': '/x' } } }, /"org\.criu\.config" is reserved/],
      [{ HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } } }, /maximum retry count/],
      [{ HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 9, Hard: 1 }] } }, /soft limit/],
      [{ HostConfig: { NanoCpus: 1e9, CpuQuota: 5000 } }, /Nano CPUs and CPU Period/],
      [{ HostConfig: { MemorySwappiness: 101 } }, /MemorySwappiness/],
      [{ HostConfig: { Dns: ['dns.example'] } }, /not an IP address/],
      [{ HostConfig: { Tmpfs: { '/run': 'exec,uid=x' } } }, /tmpfs option "uid=x"/],
      [
        { NetworkingConfig: { EndpointsConfig: { mynet: { Links: ['db:db'] } } } },
        /mynet\.Links is not supported: legacy links/,
      ],
      [
        { NetworkingConfig: { EndpointsConfig: { mynet: { IPAMConfig: { IPv4Address: 'x' } } } } },
        /IPv4Address: "x" is not an IPv4 address/,
      ],
      [
        { NetworkingConfig: { EndpointsConfig: { bridge: {}, mynet: {} } } },
        /cannot be joined together with user-defined networks/,
      ],
      [
        { NetworkingConfig: { EndpointsConfig: { default: { Aliases: ['db'] } } } },
        /default\.Aliases is not supported/,
      ],
      [{ StopSignal: 'SIGNOPE' }, /invalid signal/],
      [{ MacAddress: 'zz' }, /invalid MAC address/],
    ];
    for (const [body, re] of cases)
      assert.throws(
        () => parseCreateBody({ Image: 'busybox', ...(body as object) }),
        re,
        JSON.stringify(body),
      );
  });

  test('field names match without regard to case, as in dockerd (docker-py sends CPURealtimePeriod)', () => {
    assert.throws(
      () => parseCreateBody({ Image: 'busybox', HostConfig: { CPURealtimePeriod: 1000 } }),
      /HostConfig\.CpuRealtimePeriod is not supported/,
    );
    const spec = toCreateSpec(
      parseCreateBody({ image: 'busybox', hostconfig: { capadd: ['NET_ADMIN'] } }),
      ctx,
    );
    assert.deepEqual(spec.capAdd, ['NET_ADMIN']);
    assert.throws(
      () => parseCreateBody({ Image: 'busybox', HostConfig: { Memory: 1 << 23, memory: 1 << 24 } }),
      /HostConfig\.Memory is given twice/,
    );
  });

  test('isZero: what clients send for "not set"', () => {
    for (const v of [undefined, null, '', 0, false, [], {}, [0, 0], { Type: '', Config: {} }])
      assert.ok(isZero(v));
    for (const v of ['x', 1, true, ['a'], { a: 1 }, -1]) assert.ok(!isZero(v));
  });

  test('docs/docker-create-fields.md holds the table the code enforces', () => {
    const doc = readFileSync(new URL('../../../docs/docker-create-fields.md', import.meta.url), 'utf8');
    assert.ok(
      doc.includes(renderFieldTable()),
      `docs/docker-create-fields.md is out of date; regenerate its table with:\n  node --import tsx -e "import('./src/api/docker/create-fields.ts').then(m => console.log(m.renderFieldTable()))"`,
    );
  });
});
