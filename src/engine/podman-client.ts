import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import {
  CheckpointFailedError,
  ConflictError,
  ContainerNotFoundError,
  EngineError,
  EngineUnavailableError,
  ImageNotFoundError,
  RestoreFailedError,
  softDirtyUnsupported,
} from './errors.ts';
import {
  buildPath,
  httpsTransport,
  readBody,
  sendRequest,
  unixTransport,
  type HttpsTransportOptions,
  type QueryValue,
  type Transport,
} from './unix-http.ts';
import type {
  CheckpointOptions,
  ContainerCreateSpec,
  ContainerInspect,
  ContainerListEntry,
  CriuRestoreStats,
  ExecConfig,
  ExecInspect,
  ImageSummary,
  NetworkAttachment,
  NetworkCreateSpec,
  NetworkInfo,
  PodmanImageInspect,
  RestoreOptions,
  RestoreResult,
  VolumeInfo,
} from './types.ts';
import { ValidationError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { criuLogErrors } from './criu-log.ts';
import { ensureTarStream } from './tar-peek.ts';
import { hostHasSoftDirty } from './soft-dirty.ts';

const API = '/v4.0.0/libpod';
/** Podman's Docker-compatible API: used only where its semantics are Docker's by definition. */
const COMPAT_API = '/v1.41';

interface CallOptions {
  query?: Record<string, QueryValue>;
  body?: Readable | Buffer | string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Path prefix; libpod's by default. */
  prefix?: string;
}

/**
 * Typed client of one Podman instance's libpod REST API: over its unix
 * socket (`new PodmanClient(path)`), or over an agent's HTTPS proxy
 * (`PodmanClient.overHttps(...)`).
 */
export class PodmanClient {
  /** The unix socket path, or the proxy's URL for a remote client. */
  readonly socketPath: string;
  readonly transport: Transport;
  private readonly softDirty: (() => Promise<boolean>) | undefined;
  private readonly log: Logger | undefined;

  /**
   * `softDirty`: whether the host of this Podman can track dirty memory;
   * by default probed on this machine (the agent runs next to its Podman).
   * `log`: where decisions such as a dump tried again are said.
   */
  constructor(socketPath: string | Transport, opts: { softDirty?: boolean; log?: Logger } = {}) {
    this.transport = typeof socketPath === 'string' ? unixTransport(socketPath) : socketPath;
    this.socketPath = this.transport.endpoint;
    this.softDirty = opts.softDirty === undefined ? undefined : async () => opts.softDirty === true;
    this.log = opts.log;
  }

  /**
   * A client of another host's Podman through its agent's proxy
   * (`baseUrl` e.g. `https://10.99.0.11:7443/podman`). The remote host
   * decides about soft-dirty tracking unless `softDirty` says otherwise.
   */
  static overHttps(opts: HttpsTransportOptions & { softDirty?: boolean }): PodmanClient {
    return new PodmanClient(httpsTransport(opts), { softDirty: opts.softDirty ?? true });
  }

  /** Releases kept-alive connections (remote clients). */
  close(): void {
    this.transport.close();
  }

  /** Pre-dump and incremental dumps need soft-dirty tracking: refuse them up front, by name. */
  private async requireSoftDirty(opts: CheckpointOptions): Promise<void> {
    if (!opts.preCheckpoint && !opts.withPrevious) return;
    const has = await (this.softDirty ?? hostHasSoftDirty)();
    if (!has) throw softDirtyUnsupported();
  }

  private async call(method: string, path: string, opts: CallOptions = {}): Promise<IncomingMessage> {
    return sendRequest(this.transport, {
      method,
      path: (opts.prefix ?? API) + path,
      timeoutMs: opts.timeoutMs ?? 120_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.query ? { query: opts.query } : {}),
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      ...(opts.headers ? { headers: opts.headers } : {}),
    });
  }

  /** Reads a JSON answer; any non-2xx becomes a typed error carrying Podman's message. */
  private async json<T>(operation: string, method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const res = await this.call(method, path, opts);
    const body = await readBody(res);
    if (!isOk(res)) throw toEngineError(operation, res.statusCode ?? 0, body);
    if (body.length === 0) return undefined as T;
    return JSON.parse(body.toString('utf8')) as T;
  }

  private async noContent(
    operation: string,
    method: string,
    path: string,
    opts: CallOptions = {},
  ): Promise<number> {
    const res = await this.call(method, path, opts);
    const body = await readBody(res);
    if (!isOk(res) && res.statusCode !== 304) throw toEngineError(operation, res.statusCode ?? 0, body);
    return res.statusCode ?? 0;
  }

  async ping(): Promise<boolean> {
    const res = await this.call('GET', '/_ping', { timeoutMs: 5_000 });
    await readBody(res);
    return res.statusCode === 200;
  }

  async version(): Promise<{ Version: string; ApiVersion: string }> {
    const v = await this.json<{
      Server?: { Version: string; ApiVersion: string };
      Version?: string;
      ApiVersion?: string;
    }>('version', 'GET', '/version');
    return {
      Version: v.Version ?? v.Server?.Version ?? '',
      ApiVersion: v.ApiVersion ?? v.Server?.ApiVersion ?? '',
    };
  }

  async info(): Promise<Record<string, unknown>> {
    return this.json('info', 'GET', '/info');
  }

  // ---------------------------------------------------------------- containers

  async createContainer(spec: ContainerCreateSpec): Promise<string> {
    const body = {
      name: spec.name,
      image: spec.image,
      command: spec.command,
      entrypoint: spec.entrypoint,
      env: spec.env ?? {},
      labels: spec.labels ?? {},
      cgroup_parent: spec.cgroupParent,
      portmappings: (spec.portMappings ?? []).map((p) => ({
        container_port: p.containerPort,
        host_port: p.hostPort,
        protocol: p.protocol ?? 'tcp',
        host_ip: p.hostIp ?? '',
      })),
      work_dir: spec.workDir,
      terminal: spec.terminal ?? false,
      stop_timeout: spec.stopTimeout,
      ...(spec.healthConfig ? { healthconfig: spec.healthConfig } : {}),
      netns: spec.netns ?? { nsmode: 'bridge' },
      stdin: spec.openStdin,
      user: spec.user,
      hostname: spec.hostname,
      remove: spec.autoRemove,
      hostadd: spec.hostAdd,
      expose: spec.expose,
      volumes_from: spec.volumesFrom,
      mounts: [...(spec.binds ?? []).map(bindMount), ...(spec.mounts ?? [])],
      resource_limits: resourceLimits(spec),
      privileged: spec.privileged,
      cap_add: spec.capAdd,
      cap_drop: spec.capDrop,
      read_only_filesystem: spec.readOnlyRootfs,
      no_new_privileges: spec.noNewPrivileges,
      seccomp_profile_path: spec.seccompProfilePath,
      apparmor_profile: spec.apparmorProfile,
      selinux_opts: spec.selinuxOpts,
      groups: spec.groups,
      devices: spec.devices?.map((path) => ({ path })),
      r_limits: spec.rlimits,
      init: spec.init,
      shm_size: spec.shmSizeBytes,
      restart_policy: spec.restartPolicy,
      restart_tries: spec.restartRetries,
      log_configuration: spec.log
        ? { driver: spec.log.driver, ...(spec.log.sizeBytes ? { size: spec.log.sizeBytes } : {}) }
        : undefined,
      dns_server: spec.dnsServers,
      dns_search: spec.dnsSearch,
      dns_option: spec.dnsOptions,
      sysctl: spec.sysctls,
      annotations: spec.annotations,
      oom_score_adj: spec.oomScoreAdj,
      stop_signal: spec.stopSignal,
      publish_image_ports: spec.publishAllPorts,
      ...(spec.networks
        ? { Networks: podmanNetworks(spec.networks, spec.staticMac) }
        : spec.staticMac
          ? { Networks: { podman: { static_mac: spec.staticMac } } }
          : {}),
      ...(spec.volumes?.length
        ? { volumes: spec.volumes.map((v) => ({ Name: v.name, Dest: v.dest, Options: v.options ?? [] })) }
        : {}),
      ...(spec.cgroupns ? { cgroupns: { nsmode: spec.cgroupns } } : {}),
      ...(spec.ipcns ? { ipcns: { nsmode: spec.ipcns } } : {}),
      ...(spec.pidns ? { pidns: { nsmode: spec.pidns } } : {}),
      ...(spec.utsns ? { utsns: { nsmode: spec.utsns } } : {}),
    };
    const r = await this.json<{ Id: string; Warnings?: string[] | null }>(
      `create container ${spec.name}`,
      'POST',
      '/containers/create',
      { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } },
    );
    // Podman discards settings the host's kernel cannot enforce and says so only in a
    // warning ("Your kernel does not support Block I/O weight ... Weight discarded"):
    // a container created without what was asked for is removed again and the request refused.
    const warnings = (r.Warnings ?? []).filter((w) => w.trim() !== '');
    if (warnings.length) {
      await this.removeContainer(r.Id, { force: true }).catch(() => undefined);
      throw new ValidationError(
        `this host cannot honour the container's settings: ${warnings.join('; ')}`,
        'leave the setting out, or constrain the container to hosts whose kernel supports it (e.g. -e constraint:node==...)',
      );
    }
    return r.Id;
  }

  async startContainer(name: string): Promise<void> {
    await this.noContent(`start container ${name}`, 'POST', `/containers/${enc(name)}/start`);
  }

  /** The size of a container's TTY, in rows (h) and columns (w). */
  async resizeTty(name: string, h: number, w: number): Promise<void> {
    await this.json(`resize container ${name}`, 'POST', `/containers/${enc(name)}/resize`, {
      query: { h, w },
    });
  }

  async stopContainer(name: string, timeoutSeconds = 10): Promise<void> {
    await this.noContent(`stop container ${name}`, 'POST', `/containers/${enc(name)}/stop`, {
      query: { timeout: timeoutSeconds },
      timeoutMs: (timeoutSeconds + 30) * 1000,
    });
  }

  async killContainer(name: string, signal = 'SIGKILL'): Promise<void> {
    await this.noContent(`kill container ${name}`, 'POST', `/containers/${enc(name)}/kill`, {
      query: { signal },
    });
  }

  async restartContainer(name: string, timeoutSeconds = 10): Promise<void> {
    await this.noContent(`restart container ${name}`, 'POST', `/containers/${enc(name)}/restart`, {
      query: { t: timeoutSeconds },
      timeoutMs: (timeoutSeconds + 30) * 1000,
    });
  }

  async removeContainer(name: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    await this.json(`remove container ${name}`, 'DELETE', `/containers/${enc(name)}`, {
      // force means kill now: don't wait out a stop timeout the process may ignore (a shell as PID 1)
      query: { force: opts.force ?? false, v: opts.volumes ?? false, timeout: opts.force ? 0 : undefined },
    });
  }

  /** Removes a container if it exists; true when one was removed. */
  async removeContainerIfExists(name: string): Promise<boolean> {
    try {
      await this.removeContainer(name, { force: true, volumes: true });
      return true;
    } catch (err) {
      if (err instanceof ContainerNotFoundError) return false;
      throw err;
    }
  }

  async inspectContainer(name: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.json(`inspect container ${name}`, 'GET', `/containers/${enc(name)}/json`, {
      ...(opts.size ? { query: { size: true } } : {}),
    });
  }

  /**
   * The container named `name` (or with that full ID), never another one.
   * Podman, like Docker, falls back to an ID prefix when no container has the
   * name: asking a host for `a1` or `db` when it has no such container may
   * answer with a stranger whose ID starts with those letters (a test found
   * `a1` "running" on two hosts). Lifeboat's own calls name containers; only
   * a Docker client's reference may be a prefix.
   */
  async inspectNamed(name: string): Promise<ContainerInspect> {
    const c = await this.inspectContainer(name);
    if (c.Name.replace(/^\//, '') !== name && c.Id !== name)
      throw new ContainerNotFoundError(
        `inspect container ${name}`,
        `no container named ${name} (only ${c.Name.replace(/^\//, '')}, whose ID starts with it)`,
      );
    return c;
  }

  /**
   * Runs the container's health check once; Podman records the result and
   * answers with the status ("healthy", "unhealthy", "starting").
   */
  async runHealthcheck(id: string): Promise<string> {
    const r = await this.json<{ Status?: string }>(
      `run the health check of ${id}`,
      'GET',
      `/containers/${enc(id)}/healthcheck`,
    );
    return r?.Status ?? '';
  }

  async containerExists(name: string): Promise<boolean> {
    const res = await this.call('GET', `/containers/${enc(name)}/exists`);
    const body = await readBody(res);
    if (res.statusCode === 204) return true;
    if (res.statusCode === 404) return false;
    throw toEngineError(`container exists ${name}`, res.statusCode ?? 0, body);
  }

  async listContainers(
    opts: { all?: boolean; filters?: Record<string, string[]>; size?: boolean } = {},
  ): Promise<ContainerListEntry[]> {
    const r = await this.json<ContainerListEntry[] | null>('list containers', 'GET', '/containers/json', {
      query: {
        all: opts.all ?? true,
        filters: opts.filters ? JSON.stringify(opts.filters) : undefined,
        ...(opts.size ? { size: true } : {}),
      },
    });
    return r ?? [];
  }

  /**
   * Container logs as Podman sends them: for a container without a TTY, a
   * multiplexed stream of 8-byte-header frames (the Docker format).
   */
  async logs(
    name: string,
    opts: {
      follow?: boolean;
      tail?: number | 'all';
      timestamps?: boolean;
      since?: string;
      until?: string;
    } = {},
  ): Promise<IncomingMessage> {
    const res = await this.call('GET', `/containers/${enc(name)}/logs`, {
      query: {
        stdout: true,
        stderr: true,
        follow: opts.follow ?? false,
        tail: opts.tail === undefined ? undefined : String(opts.tail),
        timestamps: opts.timestamps ?? false,
        since: opts.since,
        until: opts.until,
      },
      timeoutMs: 30_000,
    });
    if (!isOk(res)) throw toEngineError(`logs of ${name}`, res.statusCode ?? 0, await readBody(res));
    return res;
  }

  /** Waits until the container reaches `condition`; returns its exit code. */
  async wait(name: string, condition = 'stopped'): Promise<number> {
    const r = await this.json<number>(`wait for container ${name}`, 'POST', `/containers/${enc(name)}/wait`, {
      query: { condition },
      timeoutMs: 0,
    });
    return Number(r);
  }

  /**
   * Waits with Docker's semantics (`next-exit` counts only an exit after the
   * call, even for a created container; libpod's wait answers at once there).
   * Resolves when Podman has accepted the wait (status line received); the
   * exit arrives later through `result`. Aborting `signal` ends the wait.
   */
  async waitDockerCondition(
    name: string,
    condition: 'next-exit' | 'not-running' | 'removed',
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ result: Promise<{ statusCode: number; error?: string }> }> {
    const operation = `wait for container ${name}`;
    const res = await this.call('POST', `/containers/${enc(name)}/wait`, {
      prefix: COMPAT_API,
      query: { condition },
      timeoutMs: 0,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!isOk(res)) throw toEngineError(operation, res.statusCode ?? 0, await readBody(res));
    const result = readBody(res).then((body) => {
      const r = JSON.parse(body.toString('utf8')) as {
        StatusCode: number;
        Error?: { Message?: string } | null;
      };
      return r.Error?.Message
        ? { statusCode: r.StatusCode, error: r.Error.Message }
        : { statusCode: r.StatusCode };
    });
    return { result };
  }

  /**
   * Attaches to a container's streams over a hijacked connection (HTTP
   * upgrade). Reads give Docker's multiplexed frames for a container without
   * a TTY, raw bytes with one; writes go to its stdin when `stdin` is set.
   */
  async attach(
    name: string,
    opts: {
      stream?: boolean;
      stdin?: boolean;
      stdout?: boolean;
      stderr?: boolean;
      logs?: boolean;
      detachKeys?: string;
    } = {},
  ): Promise<Duplex> {
    return this.upgrade(
      `attach to container ${name}`,
      buildPath(`${API}/containers/${enc(name)}/attach`, {
        stream: opts.stream ?? true,
        stdin: opts.stdin ?? false,
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        logs: opts.logs ?? false,
        detachKeys: opts.detachKeys,
      }),
    );
  }

  /**
   * A POST that Podman answers by upgrading the connection (attach, exec
   * start): the raw socket once upgraded; any other answer is its error.
   */
  private upgrade(operation: string, path: string, body?: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const r = this.transport.request({
        method: 'POST',
        path,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'tcp',
          ...(body !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }
            : {}),
        },
      });
      r.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      r.on('response', (res) => {
        readBody(res).then(
          (b) => reject(toEngineError(operation, res.statusCode ?? 0, b)),
          (err: unknown) => reject(err),
        );
      });
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')
          reject(new EngineUnavailableError(this.socketPath, err.message));
        else reject(err);
      });
      r.end(body);
    });
  }

  // ---------------------------------------------------------------- daily container commands

  async pause(name: string): Promise<void> {
    await this.noContent(`pause container ${name}`, 'POST', `/containers/${enc(name)}/pause`);
  }

  async unpause(name: string): Promise<void> {
    await this.noContent(`unpause container ${name}`, 'POST', `/containers/${enc(name)}/unpause`);
  }

  async rename(name: string, to: string): Promise<void> {
    await this.noContent(`rename container ${name}`, 'POST', `/containers/${enc(name)}/rename`, {
      query: { name: to },
    });
  }

  /** `ps` in the container: Docker's {Titles, Processes}. */
  async top(name: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    return this.json(`top of container ${name}`, 'GET', `/containers/${enc(name)}/top`, {
      query: { ps_args: psArgs, stream: false },
    });
  }

  /** Docker's stats JSON: one object, or a stream of them (one a second) to read until destroyed. */
  async stats(name: string, stream: boolean): Promise<IncomingMessage> {
    const res = await this.call('GET', `/containers/${enc(name)}/stats`, {
      query: { stream, 'one-shot': !stream },
      timeoutMs: stream ? 0 : 30_000,
    });
    if (!isOk(res))
      throw toEngineError(`stats of container ${name}`, res.statusCode ?? 0, await readBody(res));
    return res;
  }

  /** The container's file system as a tar (`podman export`). */
  async exportContainer(name: string): Promise<IncomingMessage> {
    const res = await this.call('GET', `/containers/${enc(name)}/export`, { timeoutMs: 0 });
    if (!isOk(res)) throw toEngineError(`export container ${name}`, res.statusCode ?? 0, await readBody(res));
    return res;
  }

  /** Changes what Podman can change on a live container: its cgroup limits (OCI LinuxResources). */
  async update(name: string, resources: Record<string, unknown>): Promise<void> {
    await this.noContent(`update container ${name}`, 'POST', `/containers/${enc(name)}/update`, {
      body: JSON.stringify(resources),
      headers: { 'Content-Type': 'application/json' },
    });
  }

  /**
   * Docker's archive endpoint (docker cp): HEAD states a path
   * (X-Docker-Container-Path-Stat), GET returns it as a tar, PUT extracts a
   * tar into it. The answer is returned as is, errors included.
   */
  async archive(
    name: string,
    method: 'HEAD' | 'GET' | 'PUT',
    query: Record<string, QueryValue>,
    body?: Readable,
  ): Promise<IncomingMessage> {
    return this.call(method, `/containers/${enc(name)}/archive`, {
      query,
      timeoutMs: 0,
      ...(body ? { body, headers: { 'Content-Type': 'application/x-tar' } } : {}),
    });
  }

  /**
   * Podman's event stream (Docker's event objects, one JSON per line); `until` in the past ends it,
   * and so does `stream: false` once the log is read to its end.
   */
  async events(query: {
    since?: number;
    until?: number;
    stream?: boolean;
    signal?: AbortSignal;
  }): Promise<IncomingMessage> {
    const res = await this.call('GET', '/events', {
      query: { stream: query.stream ?? true, since: query.since, until: query.until },
      timeoutMs: 0,
      ...(query.signal ? { signal: query.signal } : {}),
    });
    if (!isOk(res)) throw toEngineError('events', res.statusCode ?? 0, await readBody(res));
    return res;
  }

  /** Podman's networks (netavark/CNI): name, id, driver, subnets. */
  async listNetworks(): Promise<NetworkInfo[]> {
    return (await this.json('list networks', 'GET', '/networks/json')) ?? [];
  }

  /** Creates a bridge network; Podman picks a free subnet unless one is given. */
  async createNetwork(spec: NetworkCreateSpec): Promise<NetworkInfo> {
    const body = {
      name: spec.name,
      driver: 'bridge',
      internal: spec.internal ?? false,
      ipv6_enabled: spec.ipv6 ?? false,
      dns_enabled: true,
      labels: spec.labels ?? {},
      options: spec.options ?? {},
      ...(spec.interfaceName ? { network_interface: spec.interfaceName } : {}),
      subnets: (spec.subnets ?? []).map((s) => ({
        subnet: s.subnet,
        ...(s.gateway ? { gateway: s.gateway } : {}),
      })),
    };
    return this.json<NetworkInfo>(`create network ${spec.name}`, 'POST', '/networks/create', {
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' },
    });
  }

  /** The network, or undefined when this host has none by that name. */
  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    return this.jsonUnless404<NetworkInfo>(`inspect network ${name}`, `/networks/${enc(name)}/json`);
  }

  /** A GET's JSON answer, or undefined when Podman answers 404. */
  private async jsonUnless404<T>(what: string, path: string): Promise<T | undefined> {
    const res = await this.call('GET', path);
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    if (!isOk(res)) throw toEngineError(what, res.statusCode ?? 0, await readBody(res));
    return JSON.parse((await readBody(res)).toString('utf8')) as T;
  }

  async removeNetwork(name: string, force = false): Promise<void> {
    await this.json(`remove network ${name}`, 'DELETE', `/networks/${enc(name)}`, { query: { force } });
  }

  async connectNetwork(network: string, container: string, att: NetworkAttachment): Promise<void> {
    await this.noContent(
      `connect ${container} to network ${network}`,
      'POST',
      `/networks/${enc(network)}/connect`,
      {
        body: JSON.stringify({
          container,
          aliases: att.aliases ?? [],
          ...(att.staticIps?.length ? { static_ips: att.staticIps } : {}),
        }),
        headers: { 'Content-Type': 'application/json' },
      },
    );
  }

  async disconnectNetwork(network: string, container: string, force = false): Promise<void> {
    await this.noContent(
      `disconnect ${container} from network ${network}`,
      'POST',
      `/networks/${enc(network)}/disconnect`,
      {
        body: JSON.stringify({ Container: container, Force: force }),
        headers: { 'Content-Type': 'application/json' },
      },
    );
  }

  async createVolume(name: string, labels: Record<string, string> = {}): Promise<VolumeInfo> {
    return this.json<VolumeInfo>(`create volume ${name}`, 'POST', '/volumes/create', {
      body: JSON.stringify({ Name: name, Driver: 'local', Label: labels }),
      headers: { 'Content-Type': 'application/json' },
    });
  }

  /** The volume, or undefined when this host has none by that name. */
  async inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    return this.jsonUnless404<VolumeInfo>(`inspect volume ${name}`, `/volumes/${enc(name)}/json`);
  }

  async listVolumes(): Promise<VolumeInfo[]> {
    return (await this.json('list volumes', 'GET', '/volumes/json')) ?? [];
  }

  async removeVolume(name: string, force = false): Promise<void> {
    await this.noContent(`remove volume ${name}`, 'DELETE', `/volumes/${enc(name)}`, { query: { force } });
  }

  // ---------------------------------------------------------------- exec

  /** Creates an exec session in a running container (libpod takes Docker's ExecConfig). */
  async execCreate(name: string, config: ExecConfig): Promise<string> {
    const r = await this.json<{ Id: string }>(
      `exec in container ${name}`,
      'POST',
      `/containers/${enc(name)}/exec`,
      {
        body: JSON.stringify(config),
        headers: { 'Content-Type': 'application/json' },
      },
    );
    return r.Id;
  }

  /**
   * Starts an exec session. Attached: the hijacked connection, Docker's
   * multiplexed frames out (raw with a TTY) and stdin in. Detached: undefined
   * once Podman started it.
   */
  async execStart(
    id: string,
    opts: { detach: boolean; tty: boolean; height?: number; width?: number },
  ): Promise<Duplex | undefined> {
    const operation = `start exec session ${id}`;
    const body = JSON.stringify({
      Detach: opts.detach,
      Tty: opts.tty,
      ...(opts.height && opts.width ? { h: opts.height, w: opts.width } : {}),
    });
    if (opts.detach) {
      await this.noContent(operation, 'POST', `/exec/${enc(id)}/start`, {
        body,
        headers: { 'Content-Type': 'application/json' },
      });
      return undefined;
    }
    return this.upgrade(operation, `${API}/exec/${enc(id)}/start`, body);
  }

  async execInspect(id: string): Promise<ExecInspect> {
    return this.json(`inspect exec session ${id}`, 'GET', `/exec/${enc(id)}/json`);
  }

  async execResize(id: string, h: number, w: number): Promise<void> {
    await this.json(`resize exec session ${id}`, 'POST', `/exec/${enc(id)}/resize`, { query: { h, w } });
  }

  // ---------------------------------------------------------------- images

  async imageExists(name: string): Promise<boolean> {
    const res = await this.call('GET', `/images/${enc(name)}/exists`);
    const body = await readBody(res);
    if (res.statusCode === 204) return true;
    if (res.statusCode === 404) return false;
    throw toEngineError(`image exists ${name}`, res.statusCode ?? 0, body);
  }

  /** libpod's image inspect; the fields beyond the engine's use are optional. */
  async inspectImage(name: string): Promise<PodmanImageInspect> {
    return this.json(`inspect image ${name}`, 'GET', `/images/${enc(name)}/json`);
  }

  async tagImage(name: string, repo: string, tag: string): Promise<void> {
    await this.noContent(`tag image ${name}`, 'POST', `/images/${enc(name)}/tag`, { query: { repo, tag } });
  }

  /** libpod's answer: what was untagged and deleted. */
  async removeImage(
    name: string,
    force = false,
  ): Promise<{ Untagged?: string[] | null; Deleted?: string[] | null }> {
    return this.json(`remove image ${name}`, 'DELETE', `/images/${enc(name)}`, { query: { force } });
  }

  async imageHistory(
    name: string,
  ): Promise<
    { Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }[]
  > {
    return (await this.json(`history of image ${name}`, 'GET', `/images/${enc(name)}/history`)) ?? [];
  }

  /** `all`: intermediate images too (docker images -a). */
  async listImages(opts: { all?: boolean } = {}): Promise<ImageSummary[]> {
    return (
      (await this.json<ImageSummary[] | null>('list images', 'GET', '/images/json', {
        ...(opts.all ? { query: { all: true } } : {}),
      })) ?? []
    );
  }

  /** Imports a root filesystem tarball as an image (new ID each time: prefer load for shipping). */
  async importImage(tar: Readable | Buffer, reference: string, changes: string[] = []): Promise<string> {
    const r = await this.json<{ Id: string }>(`import image ${reference}`, 'POST', '/images/import', {
      query: { reference, changes },
      body: tar,
      headers: { 'Content-Type': 'application/x-tar' },
      timeoutMs: 0,
    });
    return r.Id;
  }

  /**
   * Pulls an image from its registry through Podman's Docker-compatible API,
   * so the answer is Docker's own progress stream (JSON messages, errors
   * inside it). `registryAuth` is the X-Registry-Auth header as the client
   * sent it. Registry trust (TLS) is the host's: containers' certs.d.
   */
  async pullImageStream(
    image: string,
    tag: string | undefined,
    opts: { registryAuth?: string; platform?: string; signal?: AbortSignal } = {},
  ): Promise<Readable> {
    const res = await this.call('POST', '/images/create', {
      prefix: COMPAT_API,
      query: {
        fromImage: image,
        ...(tag ? { tag } : {}),
        ...(opts.platform ? { platform: opts.platform } : {}),
      },
      headers: opts.registryAuth ? { 'X-Registry-Auth': opts.registryAuth } : {},
      timeoutMs: 0,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!isOk(res)) throw toEngineError(`pull image ${image}`, res.statusCode ?? 0, await readBody(res));
    return res;
  }

  /**
   * Checks credentials against a registry (docker login), through Podman's
   * Docker-compatible /auth: nothing is stored on the host.
   */
  async registryLogin(body: {
    username?: string;
    password?: string;
    serveraddress?: string;
    identitytoken?: string;
  }): Promise<{ Status: string; IdentityToken?: string }> {
    return this.json('log in to registry', 'POST', '/auth', {
      prefix: COMPAT_API,
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' },
      timeoutMs: 60_000,
    });
  }

  /**
   * Searches a registry (docker search) through Podman's Docker-compatible
   * API: `term` may name the registry (`registry.example:5000/app`).
   */
  async searchImages(
    term: string,
    opts: { limit?: number; filters?: string; registryAuth?: string } = {},
  ): Promise<
    { name: string; description: string; star_count: number; is_official: boolean; is_automated: boolean }[]
  > {
    return this.json('search registry', 'GET', '/images/search', {
      prefix: COMPAT_API,
      query: {
        term,
        ...(opts.limit ? { limit: opts.limit } : {}),
        ...(opts.filters ? { filters: opts.filters } : {}),
      },
      // Podman 4.3's search reads credentials only from the per-registry form (X-Registry-Config)
      headers: opts.registryAuth ? { 'X-Registry-Config': perRegistryAuth(opts.registryAuth, term) } : {},
      timeoutMs: 120_000,
    });
  }

  /** Pushes an image to its registry (Docker's progress stream, as pullImageStream). */
  async pushImageStream(
    image: string,
    tag: string | undefined,
    opts: { registryAuth?: string; signal?: AbortSignal } = {},
  ): Promise<Readable> {
    const res = await this.call('POST', `/images/${enc(image)}/push`, {
      prefix: COMPAT_API,
      query: tag ? { tag } : {},
      headers: opts.registryAuth ? { 'X-Registry-Auth': opts.registryAuth } : {},
      timeoutMs: 0,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!isOk(res)) throw toEngineError(`push image ${image}`, res.statusCode ?? 0, await readBody(res));
    return res;
  }

  /** Loads an image archive (oci-archive or docker-archive); keeps the image ID. */
  async loadImage(archive: Readable | Buffer): Promise<string[]> {
    const r = await this.json<{ Names: string[] }>('load image', 'POST', '/images/load', {
      body: archive,
      headers: { 'Content-Type': 'application/x-tar' },
      timeoutMs: 0,
    });
    return r.Names ?? [];
  }

  /** Streams an image as an oci-archive (keeps the image ID when loaded elsewhere). */
  async saveImage(name: string): Promise<Readable> {
    const res = await this.call('GET', `/images/${enc(name)}/get`, {
      query: { format: 'oci-archive' },
      timeoutMs: 0,
    });
    if (!isOk(res)) throw toEngineError(`save image ${name}`, res.statusCode ?? 0, await readBody(res));
    return res;
  }

  // ---------------------------------------------------------------- checkpoint / restore

  /**
   * Checkpoints a container and streams the archive (an uncompressed tar).
   * The answer is checked before a byte is handed out: a failure is a typed
   * error, never a JSON body posing as an archive.
   */
  async checkpointExport(name: string, opts: CheckpointOptions = {}): Promise<Readable> {
    const operation = `checkpoint container ${name}`;
    await this.requireSoftDirty(opts);
    return this.dumping(name, async () => {
      const res = await this.call('POST', `/containers/${enc(name)}/checkpoint`, {
        query: { export: true, ...checkpointQuery(opts) },
        timeoutMs: 0,
      });
      if (!isOk(res)) throw classifyCheckpointError(operation, res.statusCode ?? 0, await readBody(res));
      return ensureTarStream(res, operation);
    });
  }

  /**
   * Checkpoints without export (CRIU images stay in Podman's storage, e.g. a
   * pre-dump or `keep`); returns CRIU's dump statistics when asked.
   */
  async checkpoint(name: string, opts: CheckpointOptions = {}): Promise<Record<string, unknown>> {
    const operation = `${opts.preCheckpoint ? 'pre-checkpoint' : 'checkpoint'} container ${name}`;
    await this.requireSoftDirty(opts);
    return this.dumping(name, async () => {
      const res = await this.call('POST', `/containers/${enc(name)}/checkpoint`, {
        query: checkpointQuery(opts),
        timeoutMs: 0,
      });
      const body = await readBody(res);
      if (!isOk(res)) throw classifyCheckpointError(operation, res.statusCode ?? 0, body);
      return body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    });
  }

  /**
   * A dump, tried again when CRIU refused it for a connection still waiting
   * in a listening socket's queue ("In-flight connection"): a server under
   * connection load has one there now and then, for a millisecond, and the
   * container ran on (CRIU thaws it when it gives up). Any other failure is
   * thrown with CRIU's own error lines from the dump's log, which say why;
   * Podman's message only says runc exited 1.
   */
  private async dumping<T>(name: string, dump: () => Promise<T>, tries = DUMP_TRIES): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      try {
        return await dump();
      } catch (err) {
        if (!(err instanceof CheckpointFailedError)) throw err;
        const errors = await this.dumpLogErrors(name, started);
        if (attempt < tries && errors.some((l) => IN_FLIGHT.test(l))) {
          this.log?.info('dump refused for a connection not yet accepted by the container: trying again', {
            container: name,
            attempt,
          });
          await new Promise((r) => setTimeout(r, 50 * attempt));
          continue;
        }
        if (errors.length) err.message = [err.message, ...errors].join('\n');
        throw err;
      }
    }
  }

  /** The error lines of CRIU's log of a dump that started at `since` (an older log says nothing about it). */
  private async dumpLogErrors(name: string, since: number): Promise<string[]> {
    try {
      const dir = (await this.inspectContainer(name)).StaticDir;
      if (!dir) return [];
      return criuLogErrors(join(dir, 'dump.log'), { since }) ?? [];
    } catch {
      return [];
    }
  }

  /**
   * Restores a container from CRIU images already in its own directory: its
   * own checkpoint kept on this host (the way back when a migration fails
   * after the freeze), or images a migration placed there
   * (agent/prepared-restore.ts). Returns CRIU's restore statistics.
   */
  async restore(
    name: string,
    opts: Pick<
      RestoreOptions,
      'tcpEstablished' | 'keep' | 'printStats' | 'fileLocks' | 'ignoreStaticIp' | 'ignoreStaticMac'
    > = {},
  ): Promise<RestoreResult> {
    const operation = `restore container ${name} from the checkpoint in its directory`;
    const res = await this.call('POST', `/containers/${enc(name)}/restore`, {
      query: {
        tcpEstablished: opts.tcpEstablished,
        keep: opts.keep,
        printStats: opts.printStats,
        fileLocks: opts.fileLocks,
        ignoreStaticIP: opts.ignoreStaticIp,
        ignoreStaticMAC: opts.ignoreStaticMac,
      },
      timeoutMs: 0,
    });
    const body = await readBody(res);
    if (!isOk(res)) throw classifyRestoreError(operation, res.statusCode ?? 0, body);
    return restoreResult(body);
  }

  /**
   * Writes `config.dump` and `spec.dump` into a running container's
   * directory without dumping anything: what an export writes before the
   * freeze (libpod's prepareCheckpointExport), asked for with an export whose
   * `withPrevious` has no pre-dump to build on, so Podman stops right after.
   * Only call it when `<userdata>/pre-checkpoint` does not exist, or a real
   * dump would start.
   */
  async writeCheckpointConfig(name: string): Promise<void> {
    const operation = `write the checkpoint configuration of container ${name}`;
    const res = await this.call('POST', `/containers/${enc(name)}/checkpoint`, {
      query: { export: true, withPrevious: true },
      timeoutMs: 60_000,
    });
    const body = await readBody(res);
    if (isOk(res)) {
      throw new CheckpointFailedError(
        operation,
        res.statusCode ?? 0,
        'Podman dumped the container unexpectedly',
      );
    }
    const msg = podmanMessage(body);
    if (!/pre-checkpoint/.test(msg)) throw classifyCheckpointError(operation, res.statusCode ?? 0, body);
  }

  /**
   * Creates a container, in state `configured`, from a checkpoint's
   * `config.dump` and `spec.dump` alone (a tar holding just those two):
   * Podman's import creates it with the checkpoint's ID, name, image,
   * networks and ports, then finds no CRIU images and stops before touching
   * the network or starting anything. Returns the container's ID; the caller
   * places the images in its directory and calls `restore`.
   */
  async createFromCheckpointConfig(configTar: Buffer, containerId: string): Promise<string> {
    const operation = `create container ${containerId.slice(0, 12)} from a checkpoint configuration`;
    const res = await this.call('POST', '/containers/import/restore', {
      query: { import: true },
      body: configTar,
      headers: { 'Content-Type': 'application/x-tar' },
      timeoutMs: 60_000,
    });
    const body = await readBody(res);
    if (isOk(res)) {
      throw new RestoreFailedError(
        operation,
        res.statusCode ?? 0,
        'Podman restored a checkpoint without images',
      );
    }
    const msg = podmanMessage(body);
    if (!/complete checkpoint for this container cannot be found/.test(msg))
      throw classifyRestoreError(operation, res.statusCode ?? 0, body);
    const c = await this.inspectContainer(containerId);
    if (c.State.Status !== 'configured' && c.State.Status !== 'created') {
      throw new RestoreFailedError(operation, 500, `the new container is ${c.State.Status}, not configured`);
    }
    return c.Id;
  }

  /** Changes to a container's root file system against its image (`podman diff`). */
  async changes(name: string): Promise<{ Path: string; Kind: 0 | 1 | 2 }[]> {
    return (
      (await this.json<{ Path: string; Kind: 0 | 1 | 2 }[] | null>(
        `list changes of container ${name}`,
        'GET',
        `/containers/${enc(name)}/changes`,
        { query: { diffType: 'container' } },
      )) ?? []
    );
  }

  /** Mounts a container's root file system (also when it is not running); returns the mount point. */
  async mount(name: string): Promise<string> {
    const operation = `mount container ${name}`;
    const res = await this.call('POST', `/containers/${enc(name)}/mount`);
    const body = await readBody(res);
    if (!isOk(res)) throw toEngineError(operation, res.statusCode ?? 0, body);
    // Podman answers the path as plain text (some versions as a JSON string)
    const text = body.toString('utf8').trim();
    return text.startsWith('"') ? (JSON.parse(text) as string) : text;
  }

  async unmount(name: string): Promise<void> {
    await this.noContent(`unmount container ${name}`, 'POST', `/containers/${enc(name)}/unmount`);
  }

  /**
   * Restores a container from an archive stream. On failure Podman leaves a
   * `created` container behind; it is removed here (by `cleanupName`: the
   * restore name, or the archive's original container name) so that a retry
   * or an older version can be tried at once.
   */
  async restoreImport(
    archive: Readable,
    opts: RestoreOptions & { cleanupName?: string } = {},
  ): Promise<RestoreResult> {
    const operation = `restore container${opts.name ? ' ' + opts.name : ''}`;
    const res = await this.call('POST', `/containers/import/restore`, {
      query: {
        import: true,
        name: opts.name,
        ignoreStaticIP: opts.ignoreStaticIp,
        ignoreStaticMAC: opts.ignoreStaticMac,
        publishPorts: opts.publishPorts,
        tcpEstablished: opts.tcpEstablished,
        printStats: opts.printStats,
        fileLocks: opts.fileLocks,
        keep: opts.keep,
        ignoreRootFS: opts.ignoreRootFs,
        ignoreVolumes: opts.ignoreVolumes,
      },
      body: archive,
      headers: { 'Content-Type': 'application/x-tar' },
      timeoutMs: 0,
    });
    const body = await readBody(res);
    if (!isOk(res)) {
      const err = classifyRestoreError(operation, res.statusCode ?? 0, body);
      const leftover = opts.name ?? opts.cleanupName;
      if (leftover) await this.removeLeftover(leftover);
      throw err;
    }
    return restoreResult(body);
  }

  /** Removes a non-running leftover of a failed restore; a running container is never touched. */
  private async removeLeftover(name: string): Promise<void> {
    try {
      const c = await this.inspectNamed(name);
      if (!c.State.Running) await this.removeContainer(c.Id, { force: true, volumes: true });
    } catch (err) {
      if (!(err instanceof ContainerNotFoundError)) throw err;
    }
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function isOk(res: IncomingMessage): boolean {
  const s = res.statusCode ?? 0;
  return s >= 200 && s < 300;
}

/** Podman's restore answer: the container ID and CRIU's statistics (snake case, microseconds). */
function restoreResult(body: Buffer): RestoreResult {
  const r = JSON.parse(body.toString('utf8')) as {
    Id: string;
    RuntimeDuration?: number;
    runtime_restore_duration?: number;
    CRIUStatistics?: { pages_restored?: number; restore_time?: number; forking_time?: number };
    criu_statistics?: { pages_restored?: number; restore_time?: number; forking_time?: number };
  };
  const s = r.CRIUStatistics ?? r.criu_statistics ?? {};
  const stats: CriuRestoreStats = {};
  if (s.pages_restored !== undefined) stats.pagesRestored = s.pages_restored;
  if (s.restore_time !== undefined) stats.restoreTimeUs = s.restore_time;
  if (s.forking_time !== undefined) stats.forkingTimeUs = s.forking_time;
  const runtime = r.RuntimeDuration ?? r.runtime_restore_duration;
  if (runtime !== undefined) stats.runtimeRestoreDurationUs = runtime;
  return { id: r.Id, stats };
}

function checkpointQuery(opts: CheckpointOptions): Record<string, QueryValue> {
  return {
    leaveRunning: opts.leaveRunning,
    tcpEstablished: opts.tcpEstablished,
    preCheckpoint: opts.preCheckpoint,
    withPrevious: opts.withPrevious,
    printStats: opts.printStats,
    fileLocks: opts.fileLocks,
    keep: opts.keep,
    ignoreRootFS: opts.ignoreRootFs,
    ignoreVolumes: opts.ignoreVolumes,
  };
}

/** Podman's error body: {cause, message, response}. Anything else is quoted as text. */
export function podmanMessage(body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const j = JSON.parse(text) as { message?: string; cause?: string };
    return j.message ?? j.cause ?? text;
  } catch {
    return text.slice(0, 2000) || '(empty answer)';
  }
}

export function toEngineError(operation: string, status: number, body: Buffer): EngineError {
  const msg = podmanMessage(body);
  if (status === 404) {
    if (/image/i.test(msg) && !/container/i.test(msg)) return new ImageNotFoundError(operation, msg);
    return new ContainerNotFoundError(operation, msg);
  }
  if (status === 409) return new ConflictError(operation, msg);
  return new EngineError(operation, status, msg);
}

const SOFT_DIRTY_PATTERNS = [
  /tracking memory is not available/i,
  /missing features/i,
  /mem_dirty_track/i,
  /soft.?dirty/i,
];

/** CRIU's refusal of a connection not yet accepted by its listening socket (a transient state). */
const IN_FLIGHT = /In-flight connection/;
/** A dump refused for an in-flight connection is tried this many times in all. */
const DUMP_TRIES = 4;

function classifyCheckpointError(operation: string, status: number, body: Buffer): Error {
  const msg = podmanMessage(body);
  if (SOFT_DIRTY_PATTERNS.some((re) => re.test(msg))) return softDirtyUnsupported();
  if (status === 404 || status === 409) return toEngineError(operation, status, body);
  return new CheckpointFailedError(operation, status, msg);
}

function classifyRestoreError(operation: string, status: number, body: Buffer): Error {
  const msg = podmanMessage(body);
  if (
    /image.*(not known|not found|unknown)|pull.*(failed|denied)|initializing source|no such image/i.test(msg)
  ) {
    return new ImageNotFoundError(operation, msg);
  }
  if (status === 404 || status === 409) return toEngineError(operation, status, body);
  return new RestoreFailedError(operation, status, msg);
}

/** `host:container[:options]` as Docker's Binds: rbind, with ro and a propagation mode when given. */
/**
 * Docker's X-Registry-Auth (one credential, base64url JSON) as the
 * per-registry map of X-Registry-Config, keyed by its server address (or
 * the registry the search term names).
 */
export function perRegistryAuth(registryAuth: string, term: string): string {
  const auth = JSON.parse(Buffer.from(registryAuth, 'base64url').toString('utf8')) as {
    serveraddress?: string;
  };
  const slash = term.indexOf('/');
  const registry = slash > 0 && /[.:]/.test(term.slice(0, slash)) ? term.slice(0, slash) : 'docker.io';
  const key = (auth.serveraddress ?? '').replace(/^https?:\/\//, '').replace(/\/.*$/, '') || registry;
  // URL-safe alphabet with padding: Go's base64.URLEncoding, which Podman decodes it with
  return Buffer.from(JSON.stringify({ [key]: auth }))
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

/** libpod's per-network options; the MAC address goes with the first network. */
function podmanNetworks(
  nets: Record<string, NetworkAttachment>,
  mac: string | undefined,
): Record<string, { aliases?: string[]; static_ips?: string[]; static_mac?: string }> {
  const out: Record<string, { aliases?: string[]; static_ips?: string[]; static_mac?: string }> = {};
  Object.entries(nets).forEach(([name, a], i) => {
    out[name] = {
      ...(a.aliases?.length ? { aliases: a.aliases } : {}),
      ...(a.staticIps?.length ? { static_ips: a.staticIps } : {}),
      ...(mac && i === 0 ? { static_mac: mac } : {}),
    };
  });
  return out;
}

function bindMount(b: string): { type: 'bind'; source: string; destination: string; options: string[] } {
  const [source = '', destination = '', mode = ''] = b.split(':');
  const options = ['rbind'];
  for (const o of mode.split(',')) if (o && o !== 'rw') options.push(o);
  return { type: 'bind', source, destination, options };
}

/** The spec's limits in libpod's resource_limits shape; undefined when none is set. */
function resourceLimits(spec: ContainerCreateSpec): Record<string, unknown> | undefined {
  const defined = (o: Record<string, unknown>): Record<string, unknown> | undefined => {
    const out = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    return Object.keys(out).length ? out : undefined;
  };
  const memory = defined({
    limit: spec.memoryLimitBytes || undefined,
    reservation: spec.memoryReservationBytes || undefined,
    swap: spec.memorySwapBytes || undefined,
    swappiness: spec.memorySwappiness,
    disableOOMKiller: spec.oomKillDisable || undefined,
  });
  const cpu = defined({
    shares: spec.cpuShares || undefined,
    quota: spec.cpuQuota || undefined,
    period: spec.cpuPeriod || undefined,
    cpus: spec.cpusetCpus || undefined,
    mems: spec.cpusetMems || undefined,
  });
  const pids = defined({ limit: spec.pidsLimit || undefined });
  const blockIO = defined({ weight: spec.blkioWeight || undefined });
  return defined({ memory, cpu, pids, blockIO });
}
