/** The subset of Podman's libpod v4 data that lifeboat reads and writes. */

export interface PortMapping {
  containerPort: number;
  hostPort: number;
  protocol?: 'tcp' | 'udp';
  hostIp?: string;
}

export interface ContainerCreateSpec {
  name: string;
  image: string;
  command?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** cgroup parent of the host (e.g. /lifeboat_node1): makes a host's power loss simulable. */
  cgroupParent?: string;
  portMappings?: PortMapping[];
  workDir?: string;
  terminal?: boolean;
  stopTimeout?: number;
  /** The container's health check (run by the agent on hosts without systemd: agent/health-driver.ts). */
  healthConfig?: HealthConfig;
  /** bind mounts `host:container[:ro]` */
  binds?: string[];
  memoryLimitBytes?: number;
  cpuShares?: number;
  /** Keep stdin open (`docker run -i`). */
  openStdin?: boolean;
  user?: string;
  hostname?: string;
  /** Remove the container when it exits (`docker run --rm`). */
  autoRemove?: boolean;
  /** Extra /etc/hosts entries, `name:ip`. */
  hostAdd?: string[];
  /** Ports the container listens on without publishing them, e.g. `{ 80: 'tcp' }`. */
  expose?: Record<number, string>;
  /** Network namespace; bridge when absent. `value` names the container for mode `container`. */
  netns?: { nsmode: 'bridge' | 'host' | 'none' | 'container'; value?: string };
  /** Mount the volumes of these containers, `name[:ro|rw]`. */
  volumesFrom?: string[];
  /** Further mounts: binds and tmpfs, with OCI mount options (`ro`, `rshared`, `size=64m`). */
  mounts?: MountSpec[];
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  readOnlyRootfs?: boolean;
  noNewPrivileges?: boolean;
  /** `unconfined`, or a seccomp profile on the host */
  seccompProfilePath?: string;
  apparmorProfile?: string;
  selinuxOpts?: string[];
  groups?: string[];
  /** `host:container:permissions` */
  devices?: string[];
  pidsLimit?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  blkioWeight?: number;
  memoryReservationBytes?: number;
  /** Memory plus swap; -1 unlimited. */
  memorySwapBytes?: number;
  memorySwappiness?: number;
  oomKillDisable?: boolean;
  oomScoreAdj?: number;
  /** `nofile`, `nproc` ... (Podman adds RLIMIT_) */
  rlimits?: { type: string; soft: number; hard: number }[];
  /** Run catatonit as PID 1. */
  init?: boolean;
  shmSizeBytes?: number;
  restartPolicy?: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  restartRetries?: number;
  log?: { driver: 'k8s-file' | 'none'; sizeBytes?: number };
  dnsServers?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  sysctls?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Signal number. */
  stopSignal?: number;
  /** MAC address on the default network. */
  staticMac?: string;
  /**
   * User-defined networks the container joins (netns bridge), each with its
   * DNS aliases and, optionally, a fixed address. Absent: the host's default network.
   */
  networks?: Record<string, NetworkAttachment>;
  /** Named volumes, created on the host if missing: `{ name, dest, options: ['ro'] }`. */
  volumes?: NamedVolumeMount[];
  publishAllPorts?: boolean;
  cgroupns?: 'private' | 'host';
  ipcns?: 'private' | 'shareable' | 'none' | 'host';
  pidns?: 'private' | 'host';
  utsns?: 'private' | 'host';
}

export interface NetworkAttachment {
  aliases?: string[];
  /** IPv4 (or v6) addresses to take on this network. */
  staticIps?: string[];
}

export interface NamedVolumeMount {
  name: string;
  dest: string;
  /** `ro`, `nocopy`, propagation modes. */
  options?: string[];
  /** Labels for the volume when this create makes it (VolumeOptions.Labels); not sent to Podman's create. */
  labels?: Record<string, string>;
}

/** A user-defined network as Podman creates it (libpod `POST /networks/create`). */
export interface NetworkCreateSpec {
  name: string;
  internal?: boolean;
  ipv6?: boolean;
  labels?: Record<string, string>;
  subnets?: { subnet: string; gateway?: string }[];
  /** Driver options Podman knows for bridges: `mtu`, `vlan`, `isolate`. */
  options?: Record<string, string>;
  /** The Linux bridge's name (Podman picks cni-podmanN otherwise). */
  interfaceName?: string;
}

export interface NetworkInfo {
  name: string;
  id: string;
  driver: string;
  created?: string;
  subnets?: { subnet: string; gateway?: string }[] | null;
  ipv6_enabled?: boolean;
  internal?: boolean;
  labels?: Record<string, string> | null;
  options?: Record<string, string> | null;
}

export interface VolumeInfo {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  Scope?: string;
}

export interface MountSpec {
  type: 'bind' | 'tmpfs';
  source: string;
  destination: string;
  options: string[];
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  Paused: boolean;
  Pid: number;
  ExitCode: number;
  StartedAt: string;
  FinishedAt: string;
  Checkpointed?: boolean;
  CheckpointedAt?: string;
  RestoredAt?: string;
  Restored?: boolean;
}

/** A container's health check as Podman keeps it (durations in nanoseconds, as Docker's API has them). */
export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Created: string;
  Image: string;
  ImageName: string;
  State: ContainerState;
  Config: {
    Env: string[] | null;
    Cmd: string[] | null;
    Entrypoint: string | string[] | null;
    Labels: Record<string, string> | null;
    Tty: boolean;
    WorkingDir: string;
    Image: string;
    StopSignal?: string;
    Healthcheck?: HealthConfig | null;
  };
  HostConfig: {
    CgroupParent: string;
    PortBindings: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
    Binds?: string[] | null;
    Memory?: number;
    CpuShares?: number;
  };
  NetworkSettings: {
    IPAddress: string;
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
    Networks?: Record<string, { IPAddress?: string; MacAddress?: string }> | null;
  };
  /** The container's own directory (Podman's "userdata"): config.json, checkpoint images, logs. */
  StaticDir?: string;
  /** Storage driver paths; for overlay `UpperDir` is `<graphroot>/overlay/<layer>/diff`. */
  GraphDriver?: { Name: string; Data: Record<string, string> | null };
  Mounts?: { Type: string; Name?: string; Source: string; Destination: string }[] | null;
}

export interface ContainerListEntry {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  State: string;
  Status: string;
  Created: number;
  Labels: Record<string, string> | null;
  Ports: { host_ip: string; container_port: number; host_port: number; protocol: string }[] | null;
  Command: string[] | null;
  Pid: number;
  ExitCode: number;
  Exited: boolean;
  StartedAt: number;
}

export interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  Size: number;
  Created: number;
}

export interface CheckpointOptions {
  /** Keep the container running after the dump (CRIU --leave-running). */
  leaveRunning?: boolean;
  /** Dump established TCP connections (needed when clients are connected). */
  tcpEstablished?: boolean;
  /** Pre-dump only (memory, no freeze of the final state); needs soft-dirty tracking. */
  preCheckpoint?: boolean;
  /** Dump on top of the previous pre-dump (incremental); needs soft-dirty tracking. */
  withPrevious?: boolean;
  printStats?: boolean;
  fileLocks?: boolean;
  /** Keep CRIU's image files and logs on the host after the dump. */
  keep?: boolean;
  ignoreRootFs?: boolean;
  ignoreVolumes?: boolean;
}

export interface RestoreOptions {
  name?: string;
  ignoreStaticIp?: boolean;
  ignoreStaticMac?: boolean;
  /** `host:container[/proto]` specs, as `podman restore --publish`. */
  publishPorts?: string[];
  tcpEstablished?: boolean;
  printStats?: boolean;
  fileLocks?: boolean;
  keep?: boolean;
  ignoreRootFs?: boolean;
  ignoreVolumes?: boolean;
}

/** CRIU statistics, microseconds and page counts, as CRIU reports them. */
export interface CriuDumpStats {
  freezingTimeUs?: number;
  frozenTimeUs?: number;
  memdumpTimeUs?: number;
  memwriteTimeUs?: number;
  pagesScanned?: number;
  pagesSkippedParent?: number;
  pagesWritten?: number;
}

export interface CriuRestoreStats {
  pagesRestored?: number;
  restoreTimeUs?: number;
  forkingTimeUs?: number;
  /** Podman's runtime restore duration, microseconds. */
  runtimeRestoreDurationUs?: number;
}

export interface RestoreResult {
  id: string;
  stats: CriuRestoreStats;
}

/** libpod's image inspect (GET /libpod/images/{name}/json). */
export interface PodmanImageInspect {
  Id: string;
  RepoTags: string[] | null;
  Size: number;
  RepoDigests?: string[] | null;
  Parent?: string;
  Comment?: string;
  Created?: string;
  Version?: string;
  Author?: string;
  Architecture?: string;
  Os?: string;
  VirtualSize?: number;
  Config?: {
    User?: string;
    ExposedPorts?: Record<string, object> | null;
    Env?: string[] | null;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Volumes?: Record<string, object> | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  GraphDriver?: { Name?: string; Data?: Record<string, string> | null };
  RootFS?: { Type?: string; Layers?: string[] | null };
}

/** An exec session's configuration (Docker's ExecConfig, which libpod takes as is). */
export interface ExecConfig {
  Cmd: string[];
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** GET /exec/{id}/json, in Podman's and Docker's shape alike. */
export interface ExecInspect {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number;
  Pid: number;
  CanRemove?: boolean;
  DetachKeys?: string;
  OpenStdin?: boolean;
  OpenStdout?: boolean;
  OpenStderr?: boolean;
  ProcessConfig?: {
    arguments?: string[] | null;
    entrypoint?: string;
    privileged?: boolean;
    tty?: boolean;
    user?: string;
  };
}
