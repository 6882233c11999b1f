import type { RequestContext } from '../http/context.ts';
import type { Router } from '../http/router.ts';
import type { BackendInfo, BackendNode, DockerBackend } from './backend.ts';

export interface SystemInfo {
  /** lifeboat's version */
  version: string;
  apiVersion: string;
  minApiVersion: string;
}

const UNAME_ARCH: Record<string, string> = { amd64: 'x86_64', x64: 'x86_64', arm64: 'aarch64' };
const GO_ARCH: Record<string, string> = { x64: 'amd64', x86_64: 'amd64', aarch64: 'arm64' };

/** _ping, version and info. */
export function registerSystemRoutes(router: Router, backend: DockerBackend, sys: SystemInfo): void {
  const ping = (ctx: RequestContext): void => {
    ctx.res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': 2,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
    });
    ctx.res.end(ctx.method === 'HEAD' ? undefined : 'OK');
  };
  router.get('/_ping', ping);
  router.head('/_ping', ping);

  router.get('/version', async (ctx) => {
    const v = await backend.version();
    const arch = GO_ARCH[v.arch] ?? v.arch;
    ctx.send(200, {
      Platform: { Name: `lifeboat ${sys.version}` },
      Components: [
        {
          Name: 'Engine',
          Version: sys.version,
          Details: {
            ApiVersion: sys.apiVersion,
            Arch: arch,
            BuildTime: '',
            Experimental: 'true',
            GitCommit: '',
            GoVersion: `node ${process.version}`,
            KernelVersion: v.kernelVersion,
            MinAPIVersion: sys.minApiVersion,
            Os: v.os,
          },
        },
        ...v.components.map((c) => ({ Name: c.name, Version: c.version, Details: c.details ?? {} })),
      ],
      Version: sys.version,
      ApiVersion: sys.apiVersion,
      MinAPIVersion: sys.minApiVersion,
      GitCommit: '',
      GoVersion: `node ${process.version}`,
      Os: v.os,
      Arch: arch,
      KernelVersion: v.kernelVersion,
      Experimental: true,
      BuildTime: '',
    });
  });

  router.get('/info', async (ctx) => {
    ctx.send(200, dockerInfo(await backend.info(), sys));
  });
}

export function dockerInfo(i: BackendInfo, sys: SystemInfo): Record<string, unknown> {
  return {
    ID: i.id,
    Containers: i.containers.total,
    ContainersRunning: i.containers.running,
    ContainersPaused: i.containers.paused,
    ContainersStopped: i.containers.stopped,
    Images: i.images,
    Driver: i.driver,
    DriverStatus: [],
    SystemStatus: systemStatus(i),
    Plugins: { Volume: [], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['k8s-file'] },
    MemoryLimit: true,
    SwapLimit: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    BridgeNfIptables: true,
    BridgeNfIp6tables: true,
    Debug: false,
    NFd: 0,
    OomKillDisable: false,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'k8s-file',
    CgroupDriver: 'cgroupfs',
    NEventsListener: 0,
    KernelVersion: i.kernelVersion,
    OperatingSystem: i.operatingSystem,
    OSVersion: '',
    OSType: 'linux',
    Architecture: UNAME_ARCH[i.arch] ?? i.arch,
    IndexServerAddress: '',
    RegistryConfig: null,
    NCPU: i.cpus,
    MemTotal: i.memoryBytes,
    GenericResources: null,
    DockerRootDir: i.rootDir,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: i.name,
    Labels: Object.entries(i.labels).map(([k, v]) => `${k}=${v}`),
    ExperimentalBuild: true,
    ServerVersion: sys.version,
    Runtimes: { runc: { path: 'runc' } },
    DefaultRuntime: 'runc',
    Swarm: {
      NodeID: '',
      NodeAddr: '',
      LocalNodeState: 'inactive',
      ControlAvailable: false,
      Error: '',
      RemoteManagers: null,
    },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '' },
    RuncCommit: { ID: '' },
    InitCommit: { ID: '' },
    SecurityOptions: [],
    Warnings: [],
  };
}

/** Classic Swarm's node listing: `Nodes: N`, then ` name: address` and `  └ key: value` rows per node. */
export function systemStatus(i: BackendInfo): [string, string][] {
  const rows: [string, string][] = [...i.status, ['Nodes', String(i.nodes.length)]];
  for (const n of i.nodes) rows.push(...nodeRows(n));
  return rows;
}

function nodeRows(n: BackendNode): [string, string][] {
  const c = n.containers;
  const labels = Object.entries(n.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return [
    [` ${n.name}`, n.address],
    ['  └ ID', n.id],
    ['  └ Status', n.status],
    ...(n.availability ? [['  └ Availability', n.availability] as [string, string]] : []),
    ['  └ Containers', `${c.total} (${c.running} Running, ${c.paused} Paused, ${c.stopped} Stopped)`],
    ['  └ Reserved CPUs', `${n.reservedCpus} / ${n.cpus}`],
    ['  └ Reserved Memory', `${bytesSize(n.reservedMemoryBytes)} / ${bytesSize(n.memoryBytes)}`],
    ['  └ Labels', labels],
    ['  └ UpdatedAt', n.updatedAt],
    ['  └ ServerVersion', n.serverVersion],
    ...(n.error ? ([['  └ Error', n.error]] as [string, string][]) : []),
  ];
}

/** docker/go-units BytesSize: binary units, four significant digits ("23.54 GiB"). */
export function bytesSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number(v.toPrecision(4))} ${units[u]}`;
}
