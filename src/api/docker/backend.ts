import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { LogFrame } from '../../engine/demux-stream.ts';
import type { Platform } from '../../scheduler/platform.ts';
import type { DockerUpdateBody } from './daily.ts';
import type { DockerEvent, EventsOptions } from './events.ts';
import type { DockerExecCreateBody, DockerExecStartBody } from './exec.ts';
import type { JsonMessage } from './json-messages.ts';
import type { NetworkCreateRequest } from './network-body.ts';
import type {
  DockerCheckpoint,
  DockerContainerCreateBody,
  DockerContainerCreateResponse,
  DockerContainerInspect,
  DockerContainerSummary,
  DockerEndpointSettings,
  DockerFilters,
  DockerImageInspect,
  DockerImageSummary,
  DockerWaitCondition,
  DockerWaitResponse,
} from './types.ts';

/**
 * What the Docker-compatible API needs from whatever runs the containers:
 * one Podman host (PodmanDockerBackend) or, later, the whole cluster (the
 * manager). Everything is in Docker API terms. `ref` is what the client
 * typed: a name (with or without the leading '/'), a full ID or a unique
 * ID prefix. Failures are LifeboatErrors carrying Docker's status and text
 * (see errors.ts): the HTTP layer passes them on as they are.
 */
/** POST /auth's body, as docker login sends it. */
export interface RegistryLogin {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

/** An image to pull or push, with the client's registry credentials as it sent them. */
export interface RegistryRequest {
  /** The repository, e.g. registry.example:5000/team/redis (a tag or digest may be in it). */
  image: string;
  tag?: string;
  platform?: string;
  /** The X-Registry-Auth header as the client sent it (base64url JSON); never logged. */
  registryAuth?: string;
}

export interface DockerBackend {
  version(): Promise<BackendVersion>;
  info(): Promise<BackendInfo>;

  /**
   * `name` undefined: one is generated. 404 for a missing image, 409 for a
   * taken name. `platform` (`docker run --platform`): only a host of that
   * architecture may run it.
   */
  createContainer(
    body: DockerContainerCreateBody,
    name: string | undefined,
    opts?: { platform?: Platform },
  ): Promise<DockerContainerCreateResponse>;
  /**
   * With `checkpoint`: restore the container's processes from that
   * checkpoint instead of starting them afresh.
   */
  startContainer(ref: string, opts?: StartOptions): Promise<'started' | 'already-running'>;
  stopContainer(
    ref: string,
    opts?: { timeoutSeconds?: number; signal?: string },
  ): Promise<'stopped' | 'not-running'>;
  killContainer(ref: string, signal?: string): Promise<void>;
  restartContainer(ref: string, opts?: { timeoutSeconds?: number; signal?: string }): Promise<void>;
  /** The TTY's size: rows and columns. 409 when the container is not running. */
  resizeContainer(ref: string, height: number, width: number): Promise<void>;
  removeContainer(ref: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
  /** `size`: with SizeRw and SizeRootFs (docker inspect --size). */
  inspectContainer(ref: string, opts?: { size?: boolean }): Promise<DockerContainerInspect>;
  listContainers(opts: ListContainersOptions): Promise<DockerContainerSummary[]>;
  containerLogs(ref: string, opts: LogsOptions): Promise<LogStream>;
  /**
   * Two steps, because the docker CLI starts a container only after the
   * wait's status line arrived: the promise resolves once the wait is in
   * place (404 before that), `result` once the condition is met. Aborting
   * `signal` (the client went away) ends the wait.
   */
  waitContainer(ref: string, condition: DockerWaitCondition, signal: AbortSignal): Promise<WaitHandle>;
  attachContainer(ref: string, opts: AttachOptions): Promise<AttachStream>;

  /** Events as they happen (and, with `since`, what happened before), until `until` or `signal`. */
  events(opts: EventsOptions, signal: AbortSignal): Promise<AsyncIterable<DockerEvent>>;
  /** docker export: the container's file system as a tar stream. */
  exportContainer(ref: string): Promise<Readable>;
  pauseContainer(ref: string): Promise<void>;
  unpauseContainer(ref: string): Promise<void>;
  renameContainer(ref: string, name: string): Promise<void>;
  topContainer(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  containerChanges(ref: string): Promise<{ Path: string; Kind: number }[]>;
  /** Docker's stats JSON as the host's Podman writes it: one object, or one a second until destroyed. */
  containerStats(ref: string, stream: boolean): Promise<Readable>;
  updateContainer(ref: string, update: DockerUpdateBody): Promise<void>;
  /** docker cp: the host's answer (status, path-stat header, tar) passed on as is. */
  containerArchive(
    ref: string,
    method: 'HEAD' | 'GET' | 'PUT',
    query: Record<string, string>,
    body?: Readable,
  ): Promise<IncomingMessage>;
  pruneContainers(filters: DockerFilters): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }>;
  imageHistory(ref: string): Promise<unknown[]>;
  tagImage(ref: string, repo: string, tag: string): Promise<void>;
  removeImage(ref: string, force: boolean): Promise<({ Untagged: string } | { Deleted: string })[]>;
  pruneImages(
    filters: DockerFilters,
  ): Promise<{ ImagesDeleted: ({ Untagged: string } | { Deleted: string })[]; SpaceReclaimed: number }>;
  systemDf(): Promise<DockerSystemDf>;
  listNetworks(): Promise<DockerNetwork[]>;
  /**
   * User-defined networks and named volumes: the cluster's (node-local,
   * each on one host). A backend without them answers 501.
   */
  createNetwork?(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }>;
  removeNetwork?(ref: string): Promise<void>;
  connectNetwork?(ref: string, container: string, endpoint: DockerEndpointSettings): Promise<void>;
  disconnectNetwork?(ref: string, container: string, force: boolean): Promise<void>;
  listVolumes?(): Promise<DockerVolume[]>;
  createVolume?(req: { name?: string; labels: Record<string, string> }): Promise<DockerVolume>;
  removeVolume?(name: string, force: boolean): Promise<void>;
  /**
   * docker pull: Docker's progress messages while the image comes from its
   * registry; errors arrive as messages (`error`), the stream ends after.
   */
  pullImage(req: RegistryRequest, signal: AbortSignal): Promise<AsyncIterable<JsonMessage>>;
  /** docker login: the credentials checked against the registry from a host; nothing is stored. */
  registryLogin(body: RegistryLogin): Promise<{ Status: string; IdentityToken?: string }>;
  /** docker search, from a host (the registries are the hosts' to reach). */
  searchImages(
    term: string,
    opts: { limit?: number; filters?: string; registryAuth?: string },
  ): Promise<DockerSearchResult[]>;
  /** docker push, from a host that has the image; messages as pullImage. */
  pushImage(req: RegistryRequest, signal: AbortSignal): Promise<AsyncIterable<JsonMessage>>;

  /** An exec session in a running container (409 when it is not running); its ID. */
  createExec(ref: string, body: DockerExecCreateBody): Promise<string>;
  /** Attached: the session's stream; detached: undefined once it runs. 404 for an unknown ID. */
  startExec(id: string, body: DockerExecStartBody): Promise<ExecStream | undefined>;
  inspectExec(id: string): Promise<DockerExecInspect>;
  resizeExec(id: string, height: number, width: number): Promise<void>;

  listImages(opts: { all: boolean; filters: DockerFilters }): Promise<DockerImageSummary[]>;
  /** 404 `No such image: <ref>` when no host has it. */
  inspectImage(ref: string): Promise<DockerImageInspect>;

  /** 409 when the container is not running or the checkpoint exists. */
  createCheckpoint(ref: string, opts: CheckpointCreateOptions): Promise<void>;
  listCheckpoints(ref: string, opts?: { dir?: string }): Promise<DockerCheckpoint[]>;
  deleteCheckpoint(ref: string, checkpointId: string, opts?: { dir?: string }): Promise<void>;
}

export interface StartOptions {
  checkpoint?: string;
  /** Directory holding the checkpoint (absolute); the backend's own directory when absent. */
  checkpointDir?: string;
}

export interface ListContainersOptions {
  all: boolean;
  /** The newest `limit` containers, running or not. */
  limit?: number;
  /** Keys: name, id, label, status (validated by the HTTP layer). */
  filters: DockerFilters;
  /** SizeRw and SizeRootFs of each (docker ps --size): the hosts compute them, which takes a while. */
  size?: boolean;
}

export interface LogsOptions {
  follow: boolean;
  tail: number | 'all';
  timestamps: boolean;
  since?: string;
  until?: string;
}

export interface LogStream {
  /** A TTY container's output is one raw stream; otherwise frames say stdout or stderr. */
  tty: boolean;
  frames: AsyncIterable<LogFrame>;
  /** Stops a follow early (client gone). */
  close(): void;
}

export interface WaitHandle {
  result: Promise<DockerWaitResponse>;
}

export interface AttachOptions {
  stream: boolean;
  logs: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  detachKeys?: string;
}

/** GET /system/df */
export interface DockerSystemDf {
  LayersSize: number;
  Images: (DockerImageSummary & { Containers: number })[];
  Containers: (DockerContainerSummary & { SizeRw: number; SizeRootFs: number })[];
  Volumes: unknown[];
  BuildCache: unknown[];
}

/** One entry of GET /images/search. */
export interface DockerSearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

/** GET /volumes/{name} */
export interface DockerVolume {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  /** lifeboat: the host that has it (classic Swarm put it in the name, `node/volume`). */
  Status?: { Node: string };
  UsageData?: { Size: number; RefCount: number };
}

/**
 * A network as GET /networks lists it: each host's default bridge (classic
 * Swarm named it `node/bridge`) and the cluster's user-defined networks.
 */
export interface DockerNetwork {
  Name: string;
  Id: string;
  Created: string;
  /** swarm: lifeboat's cluster network, on every host */
  Scope: 'local' | 'swarm';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string>; Config: { Subnet: string; Gateway?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  Containers: Record<string, { Name: string; IPv4Address: string; MacAddress: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** lifeboat: the host a user-defined network lives on (absent until its first member is placed). */
  Node?: string;
}

export interface ExecStream {
  tty: boolean;
  /** The session reads stdin (AttachStdin at create). */
  stdin: boolean;
  /** Reads: multiplexed frames (raw with a TTY); ends when the command exits. Writes: its stdin. */
  stream: Duplex;
}

/** GET /exec/{id}/json */
export interface DockerExecInspect {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  CanRemove: boolean;
  DetachKeys: string;
  OpenStdin: boolean;
  OpenStdout: boolean;
  OpenStderr: boolean;
  ProcessConfig: { arguments: string[]; entrypoint: string; privileged: boolean; tty: boolean; user: string };
}

export interface AttachStream {
  tty: boolean;
  /** Reads: Docker's multiplexed frames (raw bytes when tty). Writes: the container's stdin. */
  stream: Duplex;
}

export interface CheckpointCreateOptions {
  id: string;
  /** Absolute directory; the backend's own directory when absent. */
  dir?: string;
  /** Stop the container after the dump (Docker's default through the CLI). */
  exit: boolean;
}

export interface BackendComponent {
  name: string;
  version: string;
  details?: Record<string, string>;
}

export interface BackendVersion {
  /** What runs the containers underneath (e.g. Podman 4.3.1). */
  components: BackendComponent[];
  kernelVersion: string;
  os: string;
  arch: string;
}

export interface ContainerCounts {
  total: number;
  running: number;
  paused: number;
  stopped: number;
}

/** One host behind the endpoint, as classic Swarm listed it in SystemStatus. */
export interface BackendNode {
  name: string;
  /** host[:port] the node is reached at */
  address: string;
  id: string;
  status: 'Healthy' | 'Unhealthy' | 'Pending';
  /** drain: an operator is emptying it (`lifeboat node drain`); it takes no new container. */
  availability?: 'active' | 'drain';
  containers: ContainerCounts;
  cpus: number;
  memoryBytes: number;
  reservedCpus: number;
  reservedMemoryBytes: number;
  labels: Record<string, string>;
  serverVersion: string;
  /** RFC 3339 */
  updatedAt: string;
  error?: string;
}

export interface BackendInfo {
  id: string;
  name: string;
  containers: ContainerCounts;
  images: number;
  driver: string;
  cpus: number;
  memoryBytes: number;
  kernelVersion: string;
  operatingSystem: string;
  arch: string;
  rootDir: string;
  labels: Record<string, string>;
  /** Classic Swarm's first SystemStatus rows, e.g. [["Strategy", "spread"]]. */
  status: [string, string][];
  nodes: BackendNode[];
}
