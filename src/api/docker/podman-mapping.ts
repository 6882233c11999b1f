import { constants as osConstants } from 'node:os';
import type {
  ContainerCreateSpec,
  MountSpec,
  NamedVolumeMount,
  ContainerInspect,
  ContainerListEntry,
  HealthConfig,
  ImageSummary,
  PodmanImageInspect,
} from '../../engine/types.ts';
import { ValidationError } from '../../util/errors.ts';
import { byteSize } from '../../util/byte-size.ts';
import { statusText } from './status-text.ts';
import { isUserNetwork } from './create-body.ts';
import type {
  DockerContainerCreateBody,
  DockerContainerInspect,
  DockerContainerStatus,
  DockerContainerSummary,
  DockerEndpoint,
  DockerHealth,
  DockerHealthConfig,
  DockerHostConfig,
  DockerImageInspect,
  DockerImageSummary,
  DockerMount,
  DockerPort,
  DockerPortMap,
} from './types.ts';

/*
 * Pure translations between Docker's API shapes and Podman's libpod ones.
 * Podman answers with more than the engine's types declare; the extra
 * fields read here are optional, so an older or newer Podman degrades to
 * empty values instead of failing.
 */

interface PodmanMount {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  Mode?: string;
  RW?: boolean;
  Propagation?: string;
}

interface PodmanEndpoint {
  NetworkID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  MacAddress?: string;
  Aliases?: string[] | null;
}

interface PodmanHealth {
  Status?: string;
  FailingStreak?: number;
  Log?: { Start?: string; End?: string; ExitCode?: number; Output?: string }[] | null;
}

function health(h: PodmanHealth | null | undefined): DockerHealth | undefined {
  if (!h?.Status) return undefined;
  const status = (['starting', 'healthy', 'unhealthy'] as const).find((s) => s === h.Status) ?? 'none';
  return {
    Status: status,
    FailingStreak: h.FailingStreak ?? 0,
    Log: (h.Log ?? []).map((l) => ({
      Start: l.Start ?? '',
      End: l.End ?? '',
      ExitCode: l.ExitCode ?? 0,
      Output: l.Output ?? '',
    })),
  };
}

export type PodmanInspect = Omit<ContainerInspect, 'Config'> & {
  Path?: string;
  Args?: string[] | null;
  ResolvConfPath?: string;
  HostnamePath?: string;
  HostsPath?: string;
  /** Only when inspected with `size=true`. */
  SizeRw?: number;
  SizeRootFs?: number;
  RestartCount?: number;
  Driver?: string;
  MountLabel?: string;
  ProcessLabel?: string;
  AppArmorProfile?: string;
  ExecIDs?: string[] | null;
  GraphDriver?: { Name?: string; Data?: Record<string, string> | null };
  Mounts?: PodmanMount[] | null;
  State: ContainerInspect['State'] & {
    Error?: string;
    OOMKilled?: boolean;
    Restarting?: boolean;
    Dead?: boolean;
    /** Podman 4.3 writes both names. */
    Health?: PodmanHealth | null;
    Healthcheck?: PodmanHealth | null;
  };
  Config: Omit<ContainerInspect['Config'], 'StopSignal'> & {
    Hostname?: string;
    Domainname?: string;
    User?: string;
    AttachStdin?: boolean;
    AttachStdout?: boolean;
    AttachStderr?: boolean;
    OpenStdin?: boolean;
    StdinOnce?: boolean;
    StopSignal?: number | string;
    StopTimeout?: number;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
    Annotations?: Record<string, string> | null;
  };
  HostConfig: ContainerInspect['HostConfig'] & {
    NetworkMode?: string;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    AutoRemove?: boolean;
    VolumesFrom?: string[] | null;
    Links?: string[] | null;
    ExtraHosts?: string[] | null;
    Privileged?: boolean;
    PublishAllPorts?: boolean;
    LogConfig?: { Type?: string; Config?: Record<string, string> | null; Size?: string } | null;
    Ulimits?: { Name: string; Soft: number; Hard: number }[] | null;
  } & Record<string, unknown>;
  NetworkSettings: ContainerInspect['NetworkSettings'] & {
    Bridge?: string;
    SandboxID?: string;
    SandboxKey?: string;
    Gateway?: string;
    IPPrefixLen?: number;
    MacAddress?: string;
    Networks?: Record<string, PodmanEndpoint> | null;
  };
};

/** Podman's list entry; `Created` is RFC 3339 text in Podman 4 despite the engine type. */
export type PodmanListEntry = Omit<ContainerListEntry, 'Created' | 'Ports'> & {
  Created: number | string;
  Ports:
    { host_ip: string; container_port: number; host_port: number; protocol: string; range?: number }[] | null;
  ExitedAt?: number;
  Networks?: string[] | null;
  Mounts?: string[] | null;
  AutoRemove?: boolean;
  /** Only when listed with `size=true`. */
  Size?: { rootFsSize?: number; rwSize?: number } | null;
};

export type PodmanImage = ImageSummary & {
  ParentId?: string;
  RepoDigests?: string[] | null;
  SharedSize?: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
};

export function dockerState(podmanStatus: string): DockerContainerStatus {
  switch (podmanStatus) {
    case 'configured':
    case 'created':
    case 'initialized':
      return 'created';
    case 'running':
    case 'stopping':
      return 'running';
    case 'paused':
      return 'paused';
    case 'stopped':
    case 'exited':
      return 'exited';
    case 'removing':
      return 'removing';
    default:
      return 'dead';
  }
}

/** What the caller resolved for the create: links become /etc/hosts entries, names become IDs. */
export interface CreateContext {
  name: string;
  cgroupParent: string;
  /** From HostConfig.Links: `alias:ip` entries. */
  linkHosts: string[];
  netns: ContainerCreateSpec['netns'];
}

/**
 * Docker's `NAME=value` entries as a map. An entry without `=` is what the
 * docker CLI sends for `-e NAME` when NAME is not set on the client: in
 * Docker it sets nothing, and so it does here.
 */
export function parseEnv(env: string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    if (eq === 0 || e === '')
      throw new ValidationError(`invalid environment variable "${e}": the name is empty`);
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

/**
 * Docker's NetworkMode to a Podman network namespace; `container:X` is
 * returned for the caller to resolve. A user-defined network's name is a
 * bridge namespace on that network (`networks` of the spec say which).
 */
export function parseNetworkMode(
  mode: string | undefined,
): { nsmode: 'bridge' | 'host' | 'none' } | { container: string } {
  if (mode === undefined || mode === '' || mode === 'default' || mode === 'bridge' || isUserNetwork(mode))
    return { nsmode: 'bridge' };
  if (mode === 'host' || mode === 'none') return { nsmode: mode };
  if (mode.startsWith('container:') && mode.length > 'container:'.length)
    return { container: mode.slice('container:'.length) };
  throw new ValidationError(
    `network mode "${mode}" is not supported: use bridge (default), host, none or container:<name|id>`,
  );
}

/** `alias` of each link `name[:alias]` (Docker accepts `/name:/self/alias` too). */
export function parseLink(link: string): { target: string; alias: string } {
  const [target = '', alias] = link.split(':');
  const clean = (s: string): string => s.replace(/^.*\//, '');
  if (!clean(target)) throw new ValidationError(`invalid link "${link}": use name:alias`);
  return { target: target.replace(/^\//, ''), alias: clean(alias ?? target) };
}

/** The annotation that keeps the image reference as the client gave it. */
export const IMAGE_AS_ASKED = 'lifeboat.image';

export function toCreateSpec(body: DockerContainerCreateBody, ctx: CreateContext): ContainerCreateSpec {
  const hc = body.HostConfig ?? {};
  const spec: ContainerCreateSpec = {
    name: ctx.name,
    image: body.Image ?? '',
    env: parseEnv(body.Env),
    labels: body.Labels ?? {},
    cgroupParent: ctx.cgroupParent,
    terminal: body.Tty ?? false,
  };
  if (body.Cmd && body.Cmd.length) spec.command = body.Cmd;
  // [""] is `--entrypoint ""`: clear the image's entrypoint; [] means "the image's"
  if (body.Entrypoint?.length === 1 && body.Entrypoint[0] === '') spec.entrypoint = [];
  else if (body.Entrypoint?.length) spec.entrypoint = body.Entrypoint;
  if (body.WorkingDir) spec.workDir = body.WorkingDir;
  if (body.User) spec.user = body.User;
  if (body.Hostname) spec.hostname = body.Hostname;
  if (body.OpenStdin) spec.openStdin = true;
  if (body.StopTimeout !== undefined) spec.stopTimeout = body.StopTimeout;
  if (body.Healthcheck) spec.healthConfig = withHealthDefaults(body.Healthcheck);
  if (hc.AutoRemove) spec.autoRemove = true;
  if (hc.Memory) spec.memoryLimitBytes = hc.Memory;
  if (hc.CpuShares) spec.cpuShares = hc.CpuShares;
  const hostBinds = (hc.Binds ?? []).filter((b) => b.startsWith('/'));
  if (hostBinds.length) spec.binds = hostBinds;
  const volumes = namedVolumes(hc);
  if (volumes.length) spec.volumes = volumes;
  const eps = body.NetworkingConfig?.EndpointsConfig;
  if (eps && Object.keys(eps).length) {
    spec.networks = {};
    for (const [net, ep] of Object.entries(eps)) {
      const ips = [ep.IPAMConfig?.IPv4Address, ep.IPAMConfig?.IPv6Address].filter((x): x is string => !!x);
      spec.networks[net] = {
        ...(ep.Aliases?.length ? { aliases: ep.Aliases } : {}),
        ...(ips.length ? { staticIps: ips } : {}),
      };
    }
    const mac = body.MacAddress ?? Object.values(eps).find((e) => e.MacAddress)?.MacAddress;
    if (mac) spec.staticMac = mac;
  }
  if (hc.VolumesFrom?.length) spec.volumesFrom = hc.VolumesFrom;
  if (ctx.netns) spec.netns = ctx.netns;
  if (body.NetworkDisabled) spec.netns = { nsmode: 'none' };
  Object.assign(spec, hostConfigSpec(hc));
  if (body.StopSignal) spec.stopSignal = signalNumber(body.StopSignal);
  // Podman reports the image it resolved (localhost/lifeboat/busybox:latest); Docker what the client
  // asked for (busybox): kept beside the container, for inspect
  if (body.Image) spec.annotations = { ...spec.annotations, [IMAGE_AS_ASKED]: body.Image };
  if (body.MacAddress) spec.staticMac = body.MacAddress;
  const hosts = [...(hc.ExtraHosts ?? []), ...ctx.linkHosts];
  if (hosts.length) spec.hostAdd = hosts;
  const ports = [];
  for (const [key, bindings] of Object.entries(hc.PortBindings ?? {})) {
    const [port = '', proto = 'tcp'] = key.split('/');
    for (const b of bindings ?? []) {
      ports.push({
        containerPort: Number(port),
        hostPort: b.HostPort ? Number(b.HostPort) : 0,
        protocol: proto === 'udp' ? ('udp' as const) : ('tcp' as const),
        hostIp: b.HostIp ?? '',
      });
    }
  }
  if (ports.length) spec.portMappings = ports;
  const exposed = Object.keys(body.ExposedPorts ?? {});
  if (exposed.length) {
    spec.expose = {};
    for (const key of exposed) {
      const [port = '', proto = 'tcp'] = key.split('/');
      spec.expose[Number(port)] = proto;
    }
  }
  return spec;
}

/** What the HostConfig fields beyond the basics become (create-fields.ts lists them). */
function hostConfigSpec(hc: DockerHostConfig): Partial<ContainerCreateSpec> {
  const spec: Partial<ContainerCreateSpec> = {};
  const set = <K extends keyof ContainerCreateSpec>(k: K, v: ContainerCreateSpec[K] | undefined): void => {
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) spec[k] = v;
  };
  set('privileged', hc.Privileged || undefined);
  set('publishAllPorts', hc.PublishAllPorts || undefined);
  set('capAdd', hc.CapAdd ?? undefined);
  set('capDrop', hc.CapDrop ?? undefined);
  set('readOnlyRootfs', hc.ReadonlyRootfs || undefined);
  for (const opt of hc.SecurityOpt ?? []) {
    const [key = '', value = ''] = opt.split(/[:=](.*)/s);
    if (key === 'no-new-privileges') spec.noNewPrivileges = value !== 'false';
    else if (key === 'seccomp') spec.seccompProfilePath = value;
    else if (key === 'apparmor') spec.apparmorProfile = value;
    else if (key === 'label') spec.selinuxOpts = [...(spec.selinuxOpts ?? []), value];
  }
  set('groups', hc.GroupAdd ?? undefined);
  set(
    'devices',
    hc.Devices?.map(
      (d) => `${d.PathOnHost}:${d.PathInContainer ?? d.PathOnHost}:${d.CgroupPermissions ?? 'rwm'}`,
    ),
  );
  set('pidsLimit', hc.PidsLimit ?? undefined);
  if (hc.NanoCpus) {
    spec.cpuPeriod = 100_000;
    spec.cpuQuota = Math.round((hc.NanoCpus * 100_000) / 1e9);
  }
  set('cpuPeriod', hc.CpuPeriod || undefined);
  set('cpuQuota', hc.CpuQuota || undefined);
  set('cpusetCpus', hc.CpusetCpus || undefined);
  set('cpusetMems', hc.CpusetMems || undefined);
  set('blkioWeight', hc.BlkioWeight || undefined);
  set('memoryReservationBytes', hc.MemoryReservation || undefined);
  set('memorySwapBytes', hc.MemorySwap || undefined);
  set('memorySwappiness', hc.MemorySwappiness ?? undefined);
  set('oomKillDisable', hc.OomKillDisable || undefined);
  set('oomScoreAdj', hc.OomScoreAdj || undefined);
  set(
    'rlimits',
    hc.Ulimits?.map((u) => ({ type: u.Name, soft: u.Soft, hard: u.Hard })),
  );
  set('init', hc.Init || undefined);
  set('shmSizeBytes', hc.ShmSize || undefined);
  const rp = hc.RestartPolicy?.Name;
  if (rp && rp !== 'no') {
    spec.restartPolicy = rp as NonNullable<ContainerCreateSpec['restartPolicy']>;
    if (rp === 'on-failure' && hc.RestartPolicy?.MaximumRetryCount)
      spec.restartRetries = hc.RestartPolicy.MaximumRetryCount;
  }
  if (hc.LogConfig) {
    const maxSize = hc.LogConfig.Config?.['max-size'];
    spec.log = {
      driver: hc.LogConfig.Type === 'none' ? 'none' : 'k8s-file',
      ...(maxSize ? { sizeBytes: byteSize(maxSize, 'HostConfig.LogConfig.Config["max-size"]') } : {}),
    };
  }
  set('dnsServers', hc.Dns ?? undefined);
  set('dnsSearch', hc.DnsSearch ?? undefined);
  set('dnsOptions', hc.DnsOptions ?? undefined);
  if (hc.Sysctls && Object.keys(hc.Sysctls).length) spec.sysctls = hc.Sysctls;
  if (hc.Annotations && Object.keys(hc.Annotations).length) spec.annotations = { ...hc.Annotations };
  if (hc.CgroupnsMode) spec.cgroupns = hc.CgroupnsMode as 'private' | 'host';
  if (hc.IpcMode) spec.ipcns = hc.IpcMode as NonNullable<ContainerCreateSpec['ipcns']>;
  if (hc.PidMode) spec.pidns = hc.PidMode as 'private' | 'host';
  if (hc.UTSMode) spec.utsns = hc.UTSMode as 'private' | 'host';
  const mounts: MountSpec[] = [];
  for (const [destination, opts] of Object.entries(hc.Tmpfs ?? {}))
    mounts.push({ type: 'tmpfs', source: 'tmpfs', destination, options: opts ? opts.split(',') : [] });
  for (const m of hc.Mounts ?? []) {
    if (m.Type === 'volume') continue; // namedVolumes()
    if (m.Type === 'bind')
      mounts.push({
        type: 'bind',
        source: m.Source ?? '',
        destination: m.Target,
        options: [
          'rbind',
          ...(m.ReadOnly ? ['ro'] : []),
          ...(m.BindOptions?.Propagation ? [m.BindOptions.Propagation] : []),
        ],
      });
    else
      mounts.push({
        type: 'tmpfs',
        source: 'tmpfs',
        destination: m.Target,
        options: [
          ...(m.ReadOnly ? ['ro'] : []),
          ...(m.TmpfsOptions?.SizeBytes ? [`size=${m.TmpfsOptions.SizeBytes}`] : []),
          ...(m.TmpfsOptions?.Mode ? [`mode=${m.TmpfsOptions.Mode.toString(8)}`] : []),
        ],
      });
  }
  if (mounts.length) spec.mounts = mounts;
  return spec;
}

/** Named volumes of `-v NAME:/path[:opts]` and of mounts of Type volume. */
export function namedVolumes(hc: DockerHostConfig): NamedVolumeMount[] {
  const out: NamedVolumeMount[] = [];
  for (const b of hc.Binds ?? []) {
    if (b.startsWith('/')) continue;
    const [name = '', dest = '', opts = ''] = b.split(':');
    const options = opts.split(',').filter((o) => o !== '' && o !== 'rw');
    out.push({ name, dest, ...(options.length ? { options } : {}) });
  }
  for (const m of hc.Mounts ?? []) {
    if (m.Type !== 'volume') continue;
    const options = [...(m.ReadOnly ? ['ro'] : []), ...(m.VolumeOptions?.NoCopy ? ['nocopy'] : [])];
    const labels = m.VolumeOptions?.Labels;
    out.push({
      name: m.Source ?? '',
      dest: m.Target,
      ...(options.length ? { options } : {}),
      ...(labels && Object.keys(labels).length ? { labels } : {}),
    });
  }
  return out;
}

/** A signal name as parseSignal normalizes it (`SIGTERM`, `SIGRTMIN+3`, `15`) to its number. */
export function signalNumber(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const rt = /^SIGRTM(IN|AX)([+-]\d+)?$/.exec(name);
  if (rt) return (rt[1] === 'IN' ? 34 : 64) + Number(rt[2] ?? 0);
  const n = (osConstants.signals as Record<string, number | undefined>)[name];
  if (n === undefined) throw new ValidationError(`invalid signal "${name}"`);
  return n;
}

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  12: 'SIGUSR2',
  15: 'SIGTERM',
  28: 'SIGWINCH',
};

function signalName(s: number | string | undefined): string | undefined {
  if (s === undefined || s === '' || s === 0) return undefined;
  if (typeof s === 'string') return s;
  return SIGNALS[s] ?? String(s);
}

/**
 * Podman 4 reports the entrypoint as one space-joined string; Path + Args
 * hold the exact words (entrypoint, then Cmd), so the entrypoint is
 * recovered from them whenever they agree with Cmd.
 */
function entrypointOf(c: PodmanInspect): string[] | null {
  const ep = c.Config.Entrypoint;
  if (Array.isArray(ep)) return ep.length ? ep : null;
  if (!ep) return null;
  const argv = [c.Path ?? '', ...(c.Args ?? [])];
  const cmd = c.Config.Cmd ?? [];
  const n = argv.length - cmd.length;
  if (n > 0 && cmd.every((w, i) => argv[n + i] === w)) return argv.slice(0, n);
  return ep.split(' ');
}

function portMap(
  p: DockerPortMap | Record<string, { HostIp: string; HostPort: string }[] | null> | null,
): DockerPortMap {
  return p ?? {};
}

function endpoint(e: PodmanEndpoint | undefined, name: string): DockerEndpoint {
  return {
    NetworkID: e?.NetworkID ?? name,
    Gateway: e?.Gateway ?? '',
    IPAddress: e?.IPAddress ?? '',
    IPPrefixLen: e?.IPPrefixLen ?? 0,
    MacAddress: e?.MacAddress ?? '',
    Aliases: e?.Aliases ?? null,
  };
}

function mount(m: PodmanMount): DockerMount {
  return {
    Type: m.Type ?? 'bind',
    ...(m.Name ? { Name: m.Name } : {}),
    Source: m.Source ?? '',
    Destination: m.Destination ?? '',
    Mode: m.Mode ?? '',
    RW: m.RW ?? true,
    Propagation: m.Propagation ?? '',
  };
}

export function toDockerInspect(c: PodmanInspect): DockerContainerInspect {
  const status = dockerState(c.State.Status);
  const ports = portMap(c.NetworkSettings.Ports);
  const bindings = portMap(c.HostConfig.PortBindings);
  const exposed: Record<string, object> = { ...(c.Config.ExposedPorts ?? {}) };
  for (const k of [...Object.keys(bindings), ...Object.keys(ports)]) exposed[k] = {};
  const stopSignal = signalName(c.Config.StopSignal);
  const networks: Record<string, DockerEndpoint> = {};
  for (const [name, e] of Object.entries(c.NetworkSettings.Networks ?? {}))
    networks[name] = endpoint(e, name);
  const check = c.Config.Healthcheck;
  const healthOf = check?.Test?.length ? health(c.State.Health ?? c.State.Healthcheck) : undefined;
  return {
    Id: c.Id,
    Created: c.Created,
    // docker inspect --size
    ...(c.SizeRw !== undefined ? { SizeRw: c.SizeRw, SizeRootFs: c.SizeRootFs ?? 0 } : {}),
    Path: c.Path ?? '',
    Args: c.Args ?? [],
    State: {
      Status: status,
      Running: status === 'running' || status === 'paused',
      Paused: c.State.Paused,
      Restarting: c.State.Restarting ?? false,
      OOMKilled: c.State.OOMKilled ?? false,
      Dead: status === 'dead',
      Pid: c.State.Pid,
      ExitCode: c.State.ExitCode,
      Error: c.State.Error ?? '',
      StartedAt: c.State.StartedAt,
      FinishedAt: c.State.FinishedAt,
      ...(healthOf ? { Health: healthOf } : {}),
    },
    Image: c.Image.startsWith('sha256:') ? c.Image : `sha256:${c.Image}`,
    ResolvConfPath: c.ResolvConfPath ?? '',
    HostnamePath: c.HostnamePath ?? '',
    HostsPath: c.HostsPath ?? '',
    LogPath: '',
    Name: `/${c.Name.replace(/^\//, '')}`,
    RestartCount: c.RestartCount ?? 0,
    Driver: c.Driver ?? '',
    Platform: 'linux',
    MountLabel: c.MountLabel ?? '',
    ProcessLabel: c.ProcessLabel ?? '',
    AppArmorProfile: c.AppArmorProfile ?? '',
    ExecIDs: c.ExecIDs?.length ? c.ExecIDs : null,
    HostConfig: dockerHostConfig(c.HostConfig, Object.keys(networks)),
    GraphDriver: { Name: c.GraphDriver?.Name ?? c.Driver ?? '', Data: c.GraphDriver?.Data ?? null },
    Mounts: (c.Mounts ?? []).map(mount),
    Config: {
      Hostname: c.Config.Hostname ?? '',
      Domainname: c.Config.Domainname ?? '',
      User: c.Config.User ?? '',
      AttachStdin: c.Config.AttachStdin ?? false,
      AttachStdout: c.Config.AttachStdout ?? false,
      AttachStderr: c.Config.AttachStderr ?? false,
      ExposedPorts: Object.keys(exposed).length ? exposed : null,
      Tty: c.Config.Tty,
      OpenStdin: c.Config.OpenStdin ?? false,
      StdinOnce: c.Config.StdinOnce ?? false,
      Env: c.Config.Env ?? [],
      Cmd: c.Config.Cmd?.length ? c.Config.Cmd : null,
      Image: c.Config.Annotations?.[IMAGE_AS_ASKED] || c.Config.Image || c.ImageName,
      Volumes: c.Config.Volumes ?? null,
      WorkingDir: c.Config.WorkingDir,
      Entrypoint: entrypointOf(c),
      Labels: c.Config.Labels ?? {},
      ...(stopSignal ? { StopSignal: stopSignal } : {}),
      ...(c.Config.StopTimeout ? { StopTimeout: c.Config.StopTimeout } : {}),
      ...(check?.Test?.length ? { Healthcheck: dockerHealthConfig(check) } : {}),
    },
    NetworkSettings: {
      Bridge: c.NetworkSettings.Bridge ?? '',
      SandboxID: c.NetworkSettings.SandboxID ?? '',
      SandboxKey: c.NetworkSettings.SandboxKey ?? '',
      Ports: ports,
      Gateway: c.NetworkSettings.Gateway ?? '',
      IPAddress: c.NetworkSettings.IPAddress,
      IPPrefixLen: c.NetworkSettings.IPPrefixLen ?? 0,
      MacAddress: c.NetworkSettings.MacAddress ?? '',
      Networks: networks,
    },
  };
}

/**
 * Docker's defaults made explicit: Podman's API takes a missing duration as
 * zero, and a check with a zero timeout is cut off at once (every run failed
 * with exit code -1 although the command answered).
 */
function withHealthDefaults(h: DockerHealthConfig): HealthConfig {
  if (h.Test?.[0] === 'NONE') return { Test: ['NONE'] };
  return {
    Test: h.Test ?? [],
    Interval: h.Interval || 30e9,
    Timeout: h.Timeout || 30e9,
    StartPeriod: h.StartPeriod ?? 0,
    Retries: h.Retries || 3,
  };
}

function dockerHealthConfig(h: HealthConfig): DockerHealthConfig {
  return {
    Test: h.Test ?? [],
    ...(h.Interval ? { Interval: h.Interval } : {}),
    ...(h.Timeout ? { Timeout: h.Timeout } : {}),
    ...(h.StartPeriod ? { StartPeriod: h.StartPeriod } : {}),
    ...(h.Retries ? { Retries: h.Retries } : {}),
  };
}

/**
 * Docker names a container's user-defined network as its NetworkMode; Podman
 * says `bridge` for every bridge network. The first user-defined network the
 * container is on is named, as Docker does (the host's default: `bridge`).
 */
export function networkModeOf(podmanMode: string | undefined, networks: string[]): string {
  const mode = podmanMode ?? 'bridge';
  if (mode !== 'bridge') return mode;
  return networks.find((n) => n !== 'podman' && n !== 'bridge') ?? 'bridge';
}

/** Podman-only keys of its inspect's HostConfig, which Docker's has not. */
const PODMAN_ONLY_HOST_CONFIG = [
  'CgroupManager',
  'CgroupMode',
  'Cgroups',
  'IDMappings',
  'DiskQuota',
  'CgroupConf',
];

/**
 * Podman's inspect HostConfig is Docker's shape already; it is passed on
 * with Docker's names where they differ: the log driver (Podman's k8s-file
 * is Docker's json-file), ulimit names (`RLIMIT_NOFILE` is `nofile`).
 */
function dockerHostConfig(
  p: PodmanInspect['HostConfig'],
  networks: string[],
): DockerContainerInspect['HostConfig'] {
  const rest: Record<string, unknown> = { ...p };
  for (const k of PODMAN_ONLY_HOST_CONFIG) delete rest[k];
  const logType = p.LogConfig?.Type || 'k8s-file';
  const size =
    p.LogConfig?.Size && p.LogConfig.Size !== '0B' && p.LogConfig.Size !== '-1B' ? p.LogConfig.Size : '';
  return {
    ...rest,
    Binds: p.Binds ?? null,
    Links: p.Links ?? null,
    VolumesFrom: p.VolumesFrom ?? null,
    ExtraHosts: p.ExtraHosts ?? null,
    NetworkMode: networkModeOf(p.NetworkMode, networks),
    PortBindings: portMap(p.PortBindings),
    PublishAllPorts: p.PublishAllPorts ?? false,
    Memory: p.Memory ?? 0,
    CpuShares: p.CpuShares ?? 0,
    AutoRemove: p.AutoRemove ?? false,
    RestartPolicy: {
      Name: p.RestartPolicy?.Name || 'no',
      MaximumRetryCount: p.RestartPolicy?.MaximumRetryCount ?? 0,
    },
    CgroupParent: p.CgroupParent ?? '',
    Privileged: p.Privileged ?? false,
    LogConfig: {
      Type: logType === 'k8s-file' ? 'json-file' : logType,
      Config: { ...(p.LogConfig?.Config ?? {}), ...(size ? { 'max-size': size } : {}) },
    },
    Ulimits: (p.Ulimits ?? []).map((u) => ({ ...u, Name: u.Name.replace(/^RLIMIT_/, '').toLowerCase() })),
  };
}

/** Unix seconds from Podman's numbers or RFC 3339 text; undefined for Go's zero time and negatives. */
export function unixSeconds(v: number | string | undefined | null): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Math.floor(Date.parse(v) / 1000);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function toDockerSummary(c: PodmanListEntry, now: number): DockerContainerSummary {
  const state = dockerState(c.State);
  const started = unixSeconds(c.StartedAt);
  const exited = unixSeconds(c.ExitedAt);
  const ports: DockerPort[] = [];
  for (const p of c.Ports ?? []) {
    const range = Math.max(1, p.range ?? 1);
    for (let i = 0; i < range; i++)
      ports.push({
        IP: p.host_ip || '0.0.0.0',
        PrivatePort: p.container_port + i,
        PublicPort: p.host_port + i,
        Type: p.protocol,
      });
  }
  const networks: Record<string, DockerEndpoint> = {};
  for (const n of c.Networks ?? []) networks[n] = endpoint(undefined, n);
  return {
    Id: c.Id,
    Names: c.Names.map((n) => `/${n.replace(/^\//, '')}`),
    Image: c.Image,
    ImageID: c.ImageID.startsWith('sha256:') ? c.ImageID : `sha256:${c.ImageID}`,
    Command: (c.Command ?? []).join(' '),
    Created: unixSeconds(c.Created) ?? 0,
    Ports: ports,
    Labels: c.Labels ?? {},
    // docker ps --size
    ...(c.Size ? { SizeRw: c.Size.rwSize ?? 0, SizeRootFs: c.Size.rootFsSize ?? 0 } : {}),
    State: state,
    Status: statusText({
      state,
      startedAt: started === undefined ? undefined : started * 1000,
      finishedAt: exited === undefined ? undefined : exited * 1000,
      exitCode: c.ExitCode,
      now,
      health: c.Status,
    }),
    HostConfig: { NetworkMode: c.Networks?.length ? networkModeOf('bridge', c.Networks) : 'default' },
    NetworkSettings: { Networks: networks },
    Mounts: (c.Mounts ?? []).map((d) => mount({ Destination: d })),
  };
}

export function toDockerImage(i: PodmanImage): DockerImageSummary {
  return {
    Id: i.Id.startsWith('sha256:') ? i.Id : `sha256:${i.Id}`,
    ParentId: i.ParentId ?? '',
    RepoTags: i.RepoTags ?? [],
    RepoDigests: i.RepoDigests ?? [],
    Created: i.Created,
    Size: i.Size,
    SharedSize: i.SharedSize ?? -1,
    Labels: i.Labels ?? {},
    Containers: i.Containers ?? -1,
  };
}

/** libpod's image inspect in Docker's shape. */
export function toDockerImageInspect(i: PodmanImageInspect): DockerImageInspect {
  const c = i.Config ?? {};
  return {
    Id: i.Id.startsWith('sha256:') ? i.Id : `sha256:${i.Id}`,
    RepoTags: i.RepoTags ?? [],
    RepoDigests: i.RepoDigests ?? [],
    Parent: i.Parent ?? '',
    Comment: i.Comment ?? '',
    Created: i.Created ?? '',
    DockerVersion: i.Version ?? '',
    Author: i.Author ?? '',
    Config: {
      User: c.User ?? '',
      ExposedPorts: c.ExposedPorts ?? null,
      Env: c.Env ?? null,
      Cmd: c.Cmd?.length ? c.Cmd : null,
      Entrypoint: c.Entrypoint?.length ? c.Entrypoint : null,
      Volumes: c.Volumes ?? null,
      WorkingDir: c.WorkingDir ?? '',
      Labels: c.Labels ?? null,
      ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    },
    Architecture: i.Architecture ?? '',
    Os: i.Os ?? 'linux',
    Size: i.Size,
    GraphDriver: { Name: i.GraphDriver?.Name ?? '', Data: i.GraphDriver?.Data ?? null },
    RootFS: { Type: i.RootFS?.Type ?? 'layers', Layers: i.RootFS?.Layers ?? [] },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

/** Classic Swarm's status for a container on a host that does not answer. */
export const HOST_DOWN = 'Host Down';

/**
 * What Docker clients can be told about a container whose host does not
 * answer, from the host's last report (its list entry): classic Swarm's
 * "Host Down", with the last state Podman reported and the reason in
 * State.Error. Nothing that would need the host is invented.
 */
export function hostDownInspect(c: PodmanListEntry, why: string): DockerContainerInspect {
  const name = (c.Names[0] ?? c.Id).replace(/^\//, '');
  const inspect = toDockerInspect({
    Id: c.Id,
    Name: name,
    Created: typeof c.Created === 'number' ? new Date(c.Created * 1000).toISOString() : c.Created,
    Image: c.ImageID,
    ImageName: c.Image,
    State: {
      Status: c.State,
      Running: c.State === 'running',
      Paused: c.State === 'paused',
      Pid: 0,
      ExitCode: c.ExitCode,
      StartedAt: '',
      FinishedAt: '',
      Error: `${HOST_DOWN}: ${why}`,
    },
    Config: {
      Env: null,
      Cmd: c.Command,
      Entrypoint: null,
      Labels: c.Labels,
      Tty: false,
      WorkingDir: '',
      Image: c.Image,
    },
    HostConfig: { CgroupParent: '', PortBindings: null },
    NetworkSettings: { IPAddress: '', Ports: null },
  });
  return inspect;
}

/** A list row for a container on a host that does not answer: its last reported entry, status "Host Down". */
export function hostDownSummary(c: PodmanListEntry, now: number): DockerContainerSummary {
  return { ...toDockerSummary(c, now), Status: HOST_DOWN };
}
