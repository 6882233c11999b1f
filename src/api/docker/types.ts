/**
 * Docker Engine API shapes (v1.47), as the docker CLI and SDKs read and
 * write them. Field names are Docker's, not Podman's or lifeboat's.
 */

export type DockerContainerStatus =
  'created' | 'restarting' | 'running' | 'removing' | 'paused' | 'exited' | 'dead';

export const DOCKER_CONTAINER_STATUSES: readonly DockerContainerStatus[] = [
  'created',
  'restarting',
  'running',
  'removing',
  'paused',
  'exited',
  'dead',
];

export interface DockerPortBinding {
  HostIp?: string;
  HostPort?: string;
}

/** `"80/tcp" -> bindings` */
export type DockerPortMap = Record<string, DockerPortBinding[] | null>;

export interface DockerRestartPolicy {
  Name?: string;
  MaximumRetryCount?: number;
}

export interface DockerHostConfig {
  Binds?: string[] | null;
  Links?: string[] | null;
  VolumesFrom?: string[] | null;
  NetworkMode?: string;
  PortBindings?: DockerPortMap | null;
  PublishAllPorts?: boolean;
  Memory?: number;
  CpuShares?: number;
  AutoRemove?: boolean;
  RestartPolicy?: DockerRestartPolicy;
  CgroupParent?: string;
  ExtraHosts?: string[] | null;
  Privileged?: boolean;
  LogConfig?: { Type?: string; Config?: Record<string, string> | null };
  ConsoleSize?: [number, number] | null;
  Annotations?: Record<string, string> | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: string;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  OomScoreAdj?: number;
  PidMode?: string;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  UTSMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  NanoCpus?: number;
  BlkioWeight?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DockerDeviceMapping[] | null;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  Init?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: DockerUlimit[] | null;
  Mounts?: DockerMountSpec[] | null;
}

export interface DockerDeviceMapping {
  PathOnHost: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

export interface DockerUlimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** An entry of HostConfig.Mounts (`docker run --mount`). */
export interface DockerMountSpec {
  Type: 'bind' | 'tmpfs' | 'volume';
  /** A host path (bind) or a volume's name (volume). */
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> };
}

/** One network a container joins at create (NetworkingConfig.EndpointsConfig's value). */
export interface DockerEndpointSettings {
  Aliases?: string[];
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string };
  MacAddress?: string;
}

/** A health check: Test is [] (the image's), ["NONE"], ["CMD", ...] or ["CMD-SHELL", "command"]. */
export interface DockerHealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

export interface DockerContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number;
  /** Durations in nanoseconds, as Docker's API has them. */
  Healthcheck?: DockerHealthConfig;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  /** User-defined networks to join, by name (the one of HostConfig.NetworkMode included). */
  NetworkingConfig?: { EndpointsConfig: Record<string, DockerEndpointSettings> };
}

/** Body of POST /containers/create. */
export interface DockerContainerCreateBody extends DockerContainerConfig {
  HostConfig?: DockerHostConfig;
}

export interface DockerContainerCreateResponse {
  Id: string;
  Warnings: string[];
}

export interface DockerContainerState {
  Status: DockerContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Only for a container with a health check. */
  Health?: DockerHealth;
}

/** A health check's state, as Podman keeps it and dockerd shows it. */
export interface DockerHealth {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

export interface DockerMount {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface DockerEndpoint {
  NetworkID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  MacAddress: string;
  Aliases: string[] | null;
}

export interface DockerNetworkSettings {
  Bridge: string;
  SandboxID: string;
  SandboxKey: string;
  Ports: DockerPortMap;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  MacAddress: string;
  Networks: Record<string, DockerEndpoint>;
}

/** GET /containers/{id}/json */
export interface DockerContainerInspect {
  Id: string;
  /** With `size=true` (docker inspect --size). */
  SizeRw?: number;
  SizeRootFs?: number;
  /** RFC 3339 */
  Created: string;
  Path: string;
  Args: string[];
  State: DockerContainerState;
  /** `sha256:<image id>` */
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  /** With Docker's leading slash: `/web` */
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  /** Docker's fields, with the values Podman reports for the rest of its HostConfig. */
  HostConfig: DockerHostConfig & { NetworkMode: string; PortBindings: DockerPortMap } & Record<
      string,
      unknown
    >;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  Mounts: DockerMount[];
  Config: DockerContainerConfig & {
    Hostname: string;
    Tty: boolean;
    Env: string[];
    Cmd: string[] | null;
    Image: string;
    Entrypoint: string[] | null;
    Labels: Record<string, string>;
  };
  NetworkSettings: DockerNetworkSettings;
}

export interface DockerPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** An entry of GET /containers/json */
export interface DockerContainerSummary {
  Id: string;
  /** With `size=true` (docker ps --size). */
  SizeRw?: number;
  SizeRootFs?: number;
  /** With leading slashes: `["/web"]` */
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  /** Unix seconds */
  Created: number;
  Ports: DockerPort[];
  Labels: Record<string, string>;
  State: DockerContainerStatus;
  /** Human text: `Up 5 minutes`, `Exited (0) 2 seconds ago` */
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, DockerEndpoint> };
  Mounts: DockerMount[];
}

/** An entry of GET /images/json */
export interface DockerImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** Unix seconds */
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

/** GET /images/{name}/json */
export interface DockerImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  /** RFC 3339 */
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: {
    User: string;
    ExposedPorts: Record<string, object> | null;
    Env: string[] | null;
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    Volumes: Record<string, object> | null;
    WorkingDir: string;
    Labels: Record<string, string> | null;
    StopSignal?: string;
  };
  Architecture: string;
  Os: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

/** An entry of GET /containers/{id}/checkpoints */
export interface DockerCheckpoint {
  Name: string;
}

/** Body of POST /containers/{id}/checkpoints */
export interface DockerCheckpointCreateBody {
  CheckpointID: string;
  CheckpointDir?: string;
  /** Stop the container after the dump (the CLI sends true unless --leave-running). */
  Exit?: boolean;
}

export interface DockerWaitResponse {
  StatusCode: number;
  Error?: { Message: string };
}

export type DockerWaitCondition = 'not-running' | 'next-exit' | 'removed';

/** Filters as `?filters=` carries them, normalized to lists. */
export type DockerFilters = Record<string, string[]>;
