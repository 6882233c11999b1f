import type { IncomingMessage } from 'node:http';
import { machine } from 'node:os';
import { Transform, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { demux } from '../../engine/demux-stream.ts';
import {
  ConflictError,
  ContainerNotFoundError,
  EngineError,
  ImageNotFoundError,
} from '../../engine/errors.ts';
import type { PodmanClient } from '../../engine/podman-client.ts';
import type { CheckpointOptions, ContainerCreateSpec, ExecInspect } from '../../engine/types.ts';
import type { Platform } from '../../scheduler/platform.ts';
import { LifeboatError, ValidationError } from '../../util/errors.ts';
import { createLogger, type Logger } from '../../util/log.ts';
import type {
  AttachOptions,
  AttachStream,
  BackendInfo,
  BackendVersion,
  CheckpointCreateOptions,
  ContainerCounts,
  DockerBackend,
  DockerExecInspect,
  DockerNetwork,
  DockerSearchResult,
  DockerSystemDf,
  ExecStream,
  ListContainersOptions,
  LogsOptions,
  LogStream,
  StartOptions,
  RegistryLogin,
  RegistryRequest,
  WaitHandle,
} from './backend.ts';
import { CheckpointArchives } from './checkpoint-archives.ts';
import type { Keyring } from '../../checkpoint/crypto/index.ts';
import { selectContainers } from './container-filters.ts';
import {
  AmbiguousReferenceError,
  CheckpointRestoreError,
  ContainerNotRunningError,
  ContainerRunningError,
  NameConflictError,
  ContainerStateError,
  ImageInUseError,
  NoSuchContainerError,
  NoSuchExecError,
  NoSuchImageError,
} from './errors.ts';
import { matchesPruneFilters } from './container-filters.ts';
import { updateResources, type DockerUpdateBody } from './daily.ts';
import type { DockerEvent, EventsOptions } from './events.ts';
import { podmanEvents } from './podman-events.ts';
import type { DockerExecCreateBody, DockerExecStartBody } from './exec.ts';
import { jsonMessages, type JsonMessage } from './json-messages.ts';
import { matchesImageFilters } from './image-filters.ts';
import {
  dockerState,
  parseLink,
  parseNetworkMode,
  toCreateSpec,
  toDockerImage,
  toDockerImageInspect,
  toDockerInspect,
  toDockerSummary,
  unixSeconds,
  type PodmanImage,
  type PodmanInspect,
  type PodmanListEntry,
} from './podman-mapping.ts';
import type {
  DockerCheckpoint,
  DockerContainerCreateBody,
  DockerContainerCreateResponse,
  DockerContainerInspect,
  DockerContainerSummary,
  DockerFilters,
  DockerImageInspect,
  DockerImageSummary,
  DockerWaitCondition,
  DockerWaitResponse,
} from './types.ts';
import { validateCheckpointDir, validateCheckpointId, validateContainerName } from './validate.ts';

export interface PodmanDockerBackendOptions {
  podman: PodmanClient;
  /** Every container of this host is created under it (e.g. /lifeboat_node1), whatever the client asks. */
  cgroupParent: string;
  /** Base directory of checkpoint archives made through the Docker API (absolute). */
  checkpointDir: string;
  /** Encrypts those archives under the cluster key (they hold process memory); plain tar without. */
  archiveKey?: Keyring;
  /** How this host appears in /info's node list. */
  node?: { name?: string; address?: string; labels?: Record<string, string> };
  /**
   * Dump and restore established TCP connections (CRIU tcp-established).
   * Default true: without it a server with a connected client cannot be
   * checkpointed at all, and the Docker API has no flag to ask for it.
   */
  tcpEstablished?: boolean;
  /**
   * How an archive becomes a container again. Default: Podman's restore
   * import. A cluster passes its agent's validated restore instead (the node
   * API never proxies a raw restore).
   */
  restoreArchive?: (
    archive: Readable,
    opts: { cleanupName: string; tcpEstablished: boolean },
  ) => Promise<{ id: string }>;
  /** How a checkpoint archive is taken. Default: Podman's checkpoint export; a cluster asks the agent. */
  checkpointArchive?: (id: string, opts: CheckpointOptions) => Promise<Readable>;
  logger?: Logger;
}

interface PodmanInfo {
  host?: {
    arch?: string;
    cpus?: number;
    memTotal?: number;
    kernel?: string;
    os?: string;
    hostname?: string;
    distribution?: { distribution?: string; version?: string; codename?: string };
  };
  store?: {
    containerStore?: { number?: number; paused?: number; running?: number; stopped?: number };
    imageStore?: { number?: number };
    graphDriverName?: string;
    graphRoot?: string;
  };
}

/** The Docker API over one Podman instance: the single-host backend, and the per-host piece of a cluster. */
export class PodmanDockerBackend implements DockerBackend {
  readonly podman: PodmanClient;
  readonly cgroupParent: string;
  readonly archives: CheckpointArchives;
  private readonly node: { name?: string; address?: string; labels?: Record<string, string> };
  private readonly tcpEstablished: boolean;
  private readonly restoreArchive: NonNullable<PodmanDockerBackendOptions['restoreArchive']>;
  private readonly checkpointArchive: NonNullable<PodmanDockerBackendOptions['checkpointArchive']>;
  private readonly log: Logger;
  /** TTY sizes asked for at create (HostConfig.ConsoleSize), set at the first start. */
  private readonly consoleSizes = new Map<string, [number, number]>();

  constructor(opts: PodmanDockerBackendOptions) {
    this.podman = opts.podman;
    this.cgroupParent = opts.cgroupParent;
    this.archives = new CheckpointArchives(opts.checkpointDir, opts.archiveKey);
    this.node = opts.node ?? {};
    this.tcpEstablished = opts.tcpEstablished ?? true;
    this.restoreArchive = opts.restoreArchive ?? ((archive, o) => this.podman.restoreImport(archive, o));
    this.checkpointArchive = opts.checkpointArchive ?? ((id, o) => this.podman.checkpointExport(id, o));
    this.log = opts.logger ?? createLogger('docker-backend');
  }

  // ---------------------------------------------------------------- resolution

  /** dockerd's order: full ID, exact name, then a unique ID prefix. */
  async resolve(ref: string): Promise<PodmanListEntry> {
    const c = await this.find(ref);
    if (!c) throw new NoSuchContainerError(ref);
    return c;
  }

  private async find(ref: string): Promise<PodmanListEntry | undefined> {
    const all = await this.entries();
    const name = ref.replace(/^\//, '');
    const exact =
      all.find((c) => c.Id === ref) ?? all.find((c) => c.Names.some((n) => n.replace(/^\//, '') === name));
    if (exact) return exact;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const byPrefix = all.filter((c) => c.Id.startsWith(ref));
    if (byPrefix.length > 1) throw new AmbiguousReferenceError(ref);
    return byPrefix[0];
  }

  private async entries(): Promise<PodmanListEntry[]> {
    return (await this.podman.listContainers({ all: true })) as unknown as PodmanListEntry[];
  }

  /** Runs an engine call on a resolved container; a container gone meanwhile is Docker's 404. */
  private async on<T>(ref: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ContainerNotFoundError) throw new NoSuchContainerError(ref);
      throw err;
    }
  }

  private static nameOf(c: PodmanListEntry): string {
    return (c.Names[0] ?? c.Id).replace(/^\//, '');
  }

  private static running(c: PodmanListEntry): boolean {
    const s = dockerState(c.State);
    return s === 'running' || s === 'paused';
  }

  // ---------------------------------------------------------------- system

  async version(): Promise<BackendVersion> {
    const [v, info] = await Promise.all([this.podman.version(), this.podman.info() as Promise<PodmanInfo>]);
    return {
      components: [{ name: 'Podman Engine', version: v.Version }],
      kernelVersion: info.host?.kernel ?? '',
      os: info.host?.os ?? 'linux',
      arch: info.host?.arch ?? process.arch,
    };
  }

  async info(): Promise<BackendInfo> {
    const [info, v, summaries] = await Promise.all([
      this.podman.info() as Promise<PodmanInfo>,
      this.podman.version(),
      this.listContainers({ all: true, filters: {} }),
    ]);
    const counts = countStates(summaries);
    const host = info.host ?? {};
    const dist = host.distribution;
    const name = this.node.name ?? host.hostname ?? 'podman';
    return {
      id: name,
      name,
      containers: counts,
      images: info.store?.imageStore?.number ?? 0,
      driver: info.store?.graphDriverName ?? '',
      cpus: host.cpus ?? 0,
      memoryBytes: host.memTotal ?? 0,
      kernelVersion: host.kernel ?? '',
      operatingSystem: dist?.distribution
        ? `${dist.distribution} ${dist.version ?? ''}${dist.codename ? ` (${dist.codename})` : ''}`.trim()
        : (host.os ?? 'linux'),
      arch: host.arch ?? process.arch,
      rootDir: info.store?.graphRoot ?? '',
      labels: this.node.labels ?? {},
      status: [],
      nodes: [
        {
          name,
          address: this.node.address ?? '',
          id: name,
          status: 'Healthy',
          containers: counts,
          cpus: host.cpus ?? 0,
          memoryBytes: host.memTotal ?? 0,
          reservedCpus: 0,
          reservedMemoryBytes: 0,
          labels: this.node.labels ?? {},
          serverVersion: `Podman ${v.Version}`,
          updatedAt: new Date().toISOString(),
        },
      ],
    };
  }

  // ---------------------------------------------------------------- containers

  async createContainer(
    body: DockerContainerCreateBody,
    name: string | undefined,
    opts: { platform?: Platform } = {},
  ): Promise<DockerContainerCreateResponse> {
    const wanted = name === undefined || name === '' ? undefined : validateContainerName(name);
    const image = body.Image ?? '';
    // this backend is one host (the cluster's turns a platform into a placement constraint)
    if (opts.platform?.machine && opts.platform.machine !== machine())
      throw new ValidationError(
        `platform ${opts.platform.raw} (${opts.platform.machine}): this host is ${machine()}`,
        'leave out --platform, or run it on a host of that architecture',
      );
    if (wanted) {
      const taken = (await this.entries()).find((c) => c.Names.some((n) => n.replace(/^\//, '') === wanted));
      if (taken) throw new NameConflictError(wanted, taken.Id);
    }
    if (!(await this.podman.imageExists(image))) throw new NoSuchImageError(image);
    // dockerd's 404 for a missing source, instead of Podman's 500 from deep inside create
    for (const from of body.HostConfig?.VolumesFrom ?? []) await this.resolve(from.replace(/:[^:]*$/, ''));
    const spec = toCreateSpec(body, {
      name: wanted ?? '',
      cgroupParent: this.cgroupParent,
      linkHosts: await this.linkHosts(body.HostConfig?.Links ?? []),
      netns: await this.netns(body.HostConfig?.NetworkMode),
    });
    try {
      const id = await this.podman.createContainer(spec);
      // Podman creates the TTY at its own size: the one asked for is set once the container runs
      if (body.Tty && body.HostConfig?.ConsoleSize) this.consoleSizes.set(id, body.HostConfig.ConsoleSize);
      this.log.debug('created container', { id, name: wanted });
      return { Id: id, Warnings: [] };
    } catch (err) {
      if (wanted && (err instanceof ConflictError || /already in use/i.test(String(err))))
        throw new NameConflictError(wanted, '');
      if (err instanceof ImageNotFoundError) throw new NoSuchImageError(image);
      const missing =
        err instanceof EngineError ? /statfs (.+): no such file or directory/.exec(err.podmanMessage) : null;
      if (missing?.[1])
        throw new ValidationError(
          `invalid mount config for type "bind": bind source path does not exist: ${missing[1]}`,
          'create the directory on the host first: lifeboat, like Podman, does not create bind sources',
        );
      throw err;
    }
  }

  /** Docker links as /etc/hosts entries: the alias (and the name) point at the target's address. */
  private async linkHosts(links: string[]): Promise<string[]> {
    const hosts: string[] = [];
    for (const link of links) {
      const { target, alias } = parseLink(link);
      const c = await this.find(target);
      if (!c) throw new ValidationError(`Could not get container for ${target}`);
      if (!PodmanDockerBackend.running(c))
        throw new ValidationError(`Cannot link to a non running container: /${target} AS /${alias}`);
      const ip = (await this.podman.inspectContainer(c.Id)).NetworkSettings.IPAddress;
      if (!ip) continue;
      hosts.push(`${alias}:${ip}`);
      const name = PodmanDockerBackend.nameOf(c);
      if (name !== alias) hosts.push(`${name}:${ip}`);
    }
    return hosts;
  }

  private async netns(mode: string | undefined): Promise<ContainerCreateSpec['netns']> {
    const parsed = parseNetworkMode(mode);
    if ('nsmode' in parsed) return parsed;
    const target = await this.resolve(parsed.container);
    return { nsmode: 'container', value: target.Id };
  }

  async startContainer(ref: string, opts: StartOptions = {}): Promise<'started' | 'already-running'> {
    if (opts.checkpoint !== undefined && opts.checkpoint !== '')
      return this.startFromCheckpoint(ref, opts.checkpoint, opts.checkpointDir);
    const c = await this.resolve(ref);
    if (PodmanDockerBackend.running(c)) return 'already-running';
    await this.on(ref, () => this.podman.startContainer(c.Id));
    const size = this.consoleSizes.get(c.Id);
    if (size) {
      this.consoleSizes.delete(c.Id);
      await this.podman
        .resizeTty(c.Id, size[0], size[1])
        .catch((err: unknown) =>
          this.log.warn('could not set the TTY size asked for at create', { id: c.Id, error: String(err) }),
        );
    }
    return 'started';
  }

  async resizeContainer(ref: string, height: number, width: number): Promise<void> {
    const c = await this.resolve(ref);
    if (!PodmanDockerBackend.running(c)) throw new ContainerNotRunningError(PodmanDockerBackend.nameOf(c));
    await this.on(ref, () => this.podman.resizeTty(c.Id, height, width));
  }

  /**
   * Podman restores only into a new container, so the stopped one is
   * removed first and the archive (which carries its ID, name and config)
   * brings it back. A container already gone is fine: its archive is enough.
   */
  private async startFromCheckpoint(
    ref: string,
    checkpoint: string,
    dir: string | undefined,
  ): Promise<'started'> {
    validateCheckpointId(checkpoint);
    validateCheckpointDir(dir);
    const c = await this.find(ref);
    const name = c ? PodmanDockerBackend.nameOf(c) : ref.replace(/^\//, '');
    if (!c && !(await this.archives.exists(name, checkpoint, dir).catch(() => false)))
      throw new NoSuchContainerError(ref);
    const { path, stream } = await this.archives.open(name, checkpoint, dir);
    if (c && PodmanDockerBackend.running(c)) {
      stream.destroy();
      throw new ContainerRunningError(
        `Container ${name} is running: stop it before starting it from checkpoint ${checkpoint}`,
      );
    }
    try {
      if (c) await this.podman.removeContainer(c.Id, { force: true });
      const r = await this.restoreArchive(stream, {
        tcpEstablished: this.tcpEstablished,
        cleanupName: name,
      });
      this.log.info('restored container from checkpoint', { name, checkpoint, id: r.id, archive: path });
      return 'started';
    } catch (err) {
      stream.destroy();
      throw new CheckpointRestoreError(name, checkpoint, path, err);
    }
  }

  async stopContainer(
    ref: string,
    opts: { timeoutSeconds?: number; signal?: string } = {},
  ): Promise<'stopped' | 'not-running'> {
    const c = await this.resolve(ref);
    if (!PodmanDockerBackend.running(c)) return 'not-running';
    if (opts.signal) await this.stopWithSignal(ref, c.Id, opts.signal, opts.timeoutSeconds ?? 10);
    else await this.on(ref, () => this.podman.stopContainer(c.Id, opts.timeoutSeconds ?? 10));
    return 'stopped';
  }

  /**
   * Docker's stop with `--signal`: that signal instead of the container's
   * stop signal, up to `timeoutSeconds` for it to exit, then SIGKILL.
   * Podman's stop always sends the container's own stop signal.
   */
  private async stopWithSignal(
    ref: string,
    id: string,
    signal: string,
    timeoutSeconds: number,
  ): Promise<void> {
    const exited = async (ms: number): Promise<boolean> => {
      for (const until = Date.now() + ms; ; await sleep(100)) {
        const i = await this.on(ref, () => this.podman.inspectContainer(id));
        if (!i.State.Running) return true;
        if (Date.now() >= until) return false;
      }
    };
    await this.on(ref, () => this.podman.killContainer(id, signal));
    if (await exited(timeoutSeconds * 1000)) return;
    // it may exit between the last look and the kill: then there is nothing left to kill
    await this.on(ref, () => this.podman.killContainer(id, 'SIGKILL')).catch(async (err: unknown) => {
      if (!(await exited(0))) throw err;
    });
    if (!(await exited(10_000)))
      throw new LifeboatError('stop_failed', `container ${ref} did not stop after SIGKILL within 10 s`, {
        status: 500,
      });
  }

  async killContainer(ref: string, signal = 'SIGKILL'): Promise<void> {
    const c = await this.resolve(ref);
    if (!PodmanDockerBackend.running(c)) throw new ContainerNotRunningError(ref);
    await this.on(ref, () => this.podman.killContainer(c.Id, signal));
  }

  async restartContainer(
    ref: string,
    opts: { timeoutSeconds?: number; signal?: string } = {},
  ): Promise<void> {
    const c = await this.resolve(ref);
    if (!opts.signal)
      return this.on(ref, () => this.podman.restartContainer(c.Id, opts.timeoutSeconds ?? 10));
    // docker restart --signal: a stop with that signal, then a start
    if (PodmanDockerBackend.running(c))
      await this.stopWithSignal(ref, c.Id, opts.signal, opts.timeoutSeconds ?? 10);
    await this.on(ref, () => this.podman.startContainer(c.Id));
  }

  /** Like dockerd, removing a container drops its checkpoints in the default directory. */
  async removeContainer(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = await this.resolve(ref);
    if (PodmanDockerBackend.running(c) && !opts.force)
      throw new ContainerRunningError(
        `You cannot remove a running container ${c.Id}. Stop the container before attempting removal or force remove`,
      );
    await this.on(ref, () =>
      this.podman.removeContainer(c.Id, { force: opts.force ?? false, volumes: opts.volumes ?? false }),
    );
    await this.archives.removeAll(PodmanDockerBackend.nameOf(c));
  }

  async inspectContainer(ref: string, opts: { size?: boolean } = {}): Promise<DockerContainerInspect> {
    const c = await this.resolve(ref);
    const raw = await this.on(ref, () => this.podman.inspectContainer(c.Id, opts));
    return toDockerInspect(raw as PodmanInspect);
  }

  async listContainers(opts: ListContainersOptions): Promise<DockerContainerSummary[]> {
    const now = Date.now();
    const entries = opts.size
      ? ((await this.podman.listContainers({ all: true, size: true })) as unknown as PodmanListEntry[])
      : await this.entries();
    return selectContainers(
      entries.map((e) => toDockerSummary(e, now)),
      opts,
    );
  }

  async containerLogs(ref: string, opts: LogsOptions): Promise<LogStream> {
    const c = await this.resolve(ref);
    const inspect = await this.on(ref, () => this.podman.inspectContainer(c.Id));
    const res = await this.on(ref, () =>
      this.podman.logs(c.Id, {
        follow: opts.follow,
        timestamps: opts.timestamps,
        ...(opts.tail === 'all' ? {} : { tail: opts.tail }),
        ...(opts.since ? { since: opts.since } : {}),
        ...(opts.until ? { until: opts.until } : {}),
      }),
    );
    return { tty: inspect.Config.Tty, frames: demux(res), close: () => res.destroy() };
  }

  async waitContainer(ref: string, condition: DockerWaitCondition, signal: AbortSignal): Promise<WaitHandle> {
    const c = await this.resolve(ref);
    const state = dockerState(c.State);
    const exited = (): WaitHandle => ({ result: Promise.resolve({ StatusCode: c.ExitCode }) });
    // Podman removes an auto-remove container as it exits, and its waits then answer 0:
    // the exit code is taken from the container's `died` event instead
    if (c.AutoRemove && (state === 'created' || PodmanDockerBackend.running(c)))
      return { result: this.exitFromEvents(c.Id, unixSeconds(c.StartedAt) ?? Date.now() / 1000 - 1, signal) };
    if (condition === 'not-running') {
      if (!PodmanDockerBackend.running(c)) return exited();
      const w = await this.on(ref, () => this.podman.waitDockerCondition(c.Id, condition, { signal }));
      return { result: w.result.then(toWaitResponse) };
    }
    if (condition === 'next-exit') return this.nextExit(ref, c.Id, signal);
    // removed: Podman's own wait for it forgets the exit code, so take it from the exit first
    const exit =
      state === 'created' || PodmanDockerBackend.running(c)
        ? await this.nextExit(ref, c.Id, signal)
        : exited();
    const result = exit.result.then(async (r) => {
      try {
        const gone = await this.podman.waitDockerCondition(c.Id, 'removed', { signal });
        await gone.result;
      } catch (err) {
        if (!(err instanceof ContainerNotFoundError)) throw err;
      }
      return r;
    });
    return { result };
  }

  /** The exit code in the container's next `died` event at or after `since` (Unix seconds). */
  private async exitFromEvents(id: string, since: number, signal: AbortSignal): Promise<DockerWaitResponse> {
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    try {
      for await (const e of await this.events({ since: Math.floor(since), filters: {} }, both)) {
        if (e.Actor.ID !== id || (e.Action !== 'died' && e.Action !== 'die')) continue;
        const code = Number(e.Actor.Attributes['containerExitCode'] ?? e.Actor.Attributes['exitCode']);
        return { StatusCode: Number.isInteger(code) ? code : -1 };
      }
      return {
        StatusCode: -1,
        Error: { Message: `the event stream of container ${id} ended before it exited` },
      };
    } finally {
      stop.abort();
    }
  }

  private async nextExit(ref: string, id: string, signal: AbortSignal): Promise<WaitHandle> {
    const baseline = (await this.on(ref, () => this.podman.inspectContainer(id))).State.FinishedAt;
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const w = await this.on(ref, () => this.podman.waitDockerCondition(id, 'next-exit', { signal: both }));
    // Podman learns of exits from its event log; should it miss the one
    // right after the wait began, the container's FinishedAt still tells.
    const result = Promise.race([
      w.result.then(toWaitResponse),
      this.pollNextExit(id, baseline, both),
    ]).finally(() => stop.abort());
    return { result };
  }

  private async pollNextExit(id: string, baseline: string, signal: AbortSignal): Promise<DockerWaitResponse> {
    while (true) {
      await sleep(1000, undefined, { signal });
      try {
        const s = (await this.podman.inspectContainer(id)).State;
        if (!s.Running && s.FinishedAt !== baseline) return { StatusCode: s.ExitCode };
      } catch (err) {
        if (err instanceof ContainerNotFoundError)
          return { StatusCode: -1, Error: { Message: `container ${id} was removed` } };
        throw err;
      }
    }
  }

  async attachContainer(ref: string, opts: AttachOptions): Promise<AttachStream> {
    const c = await this.resolve(ref);
    const inspect = await this.on(ref, () => this.podman.inspectContainer(c.Id));
    const stream = await this.on(ref, () =>
      this.podman.attach(c.Id, {
        // stream=0: only what `logs` asks for, then the connection ends (docker-py's attach(stream=False))
        stream: opts.stream,
        stdin: opts.stdin,
        stdout: opts.stdout,
        stderr: opts.stderr,
        logs: opts.logs,
        ...(opts.detachKeys ? { detachKeys: opts.detachKeys } : {}),
      }),
    );
    return { tty: inspect.Config.Tty, stream };
  }

  // ---------------------------------------------------------------- events

  /** This host's Podman events, which are Docker's event objects already. */
  events(opts: EventsOptions, signal: AbortSignal): Promise<AsyncIterable<DockerEvent>> {
    return podmanEvents(this.podman, opts, signal);
  }

  // ---------------------------------------------------------------- daily commands

  async exportContainer(ref: string): Promise<Readable> {
    const c = await this.resolve(ref);
    return this.on(ref, () => this.podman.exportContainer(c.Id));
  }

  async pauseContainer(ref: string): Promise<void> {
    const c = await this.resolve(ref);
    if (c.State === 'paused') throw new ContainerStateError(`Container ${c.Id} is already paused`);
    if (!PodmanDockerBackend.running(c)) throw new ContainerNotRunningError(c.Id);
    await this.on(ref, () => this.podman.pause(c.Id));
  }

  async unpauseContainer(ref: string): Promise<void> {
    const c = await this.resolve(ref);
    if (c.State !== 'paused') throw new ContainerStateError(`Container ${c.Id} is not paused`);
    await this.on(ref, () => this.podman.unpause(c.Id));
  }

  async renameContainer(ref: string, name: string): Promise<void> {
    const c = await this.resolve(ref);
    const taken = await this.find(name);
    if (taken && taken.Id !== c.Id) throw new NameConflictError(name, taken.Id);
    await this.on(ref, () => this.podman.rename(c.Id, name));
  }

  async topContainer(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const c = await this.resolve(ref);
    if (!PodmanDockerBackend.running(c)) throw new ContainerNotRunningError(c.Id);
    return this.on(ref, () => this.podman.top(c.Id, psArgs));
  }

  async containerChanges(ref: string): Promise<{ Path: string; Kind: number }[]> {
    const c = await this.resolve(ref);
    return this.on(ref, () => this.podman.changes(c.Id));
  }

  async containerStats(ref: string, stream: boolean): Promise<Readable> {
    const c = await this.resolve(ref);
    const res = await this.on(ref, () => this.podman.stats(c.Id, stream));
    return res.pipe(dockerStatsLines());
  }

  async updateContainer(ref: string, update: DockerUpdateBody): Promise<void> {
    const c = await this.resolve(ref);
    const resources = updateResources(update);
    if (Object.keys(resources).length === 0) return;
    await this.on(ref, () => this.podman.update(c.Id, resources));
  }

  async containerArchive(
    ref: string,
    method: 'HEAD' | 'GET' | 'PUT',
    query: Record<string, string>,
    body?: Readable,
  ): Promise<IncomingMessage> {
    const c = await this.resolve(ref);
    return this.on(ref, () => this.podman.archive(c.Id, method, query, body));
  }

  async pruneContainers(
    filters: DockerFilters,
  ): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const now = Date.now();
    const stopped = (await this.entries()).filter(
      (c) => !PodmanDockerBackend.running(c) && matchesPruneFilters(toDockerSummary(c, now), filters, now),
    );
    const deleted: string[] = [];
    for (const c of stopped) {
      await this.podman.removeContainer(c.Id, { force: false }).then(
        () => deleted.push(c.Id),
        (err: unknown) =>
          this.log.warn('prune: could not remove a container', { id: c.Id, error: String(err) }),
      );
      await this.archives.removeAll(PodmanDockerBackend.nameOf(c)).catch(() => undefined);
    }
    return { ContainersDeleted: deleted, SpaceReclaimed: 0 };
  }

  async imageHistory(ref: string): Promise<unknown[]> {
    try {
      return await this.podman.imageHistory(ref);
    } catch (err) {
      if (err instanceof ImageNotFoundError) throw new NoSuchImageError(ref);
      throw err;
    }
  }

  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    try {
      await this.podman.tagImage(ref, repo, tag);
    } catch (err) {
      if (err instanceof ImageNotFoundError) throw new NoSuchImageError(ref);
      throw err;
    }
  }

  async removeImage(ref: string, force: boolean): Promise<({ Untagged: string } | { Deleted: string })[]> {
    let r;
    try {
      r = await this.podman.removeImage(ref, force);
    } catch (err) {
      if (err instanceof ImageNotFoundError) throw new NoSuchImageError(ref);
      if (err instanceof ConflictError || (err instanceof EngineError && err.status === 409))
        throw new ImageInUseError(ref, err.podmanMessage);
      throw err;
    }
    return [
      ...(r.Untagged ?? []).map((u) => ({ Untagged: u })),
      ...(r.Deleted ?? []).map((d) => ({ Deleted: d.startsWith('sha256:') ? d : `sha256:${d}` })),
    ];
  }

  async pruneImages(
    filters: DockerFilters,
  ): Promise<{ ImagesDeleted: ({ Untagged: string } | { Deleted: string })[]; SpaceReclaimed: number }> {
    const onlyDangling = (filters['dangling'] ?? ['true']).every((v) => v === 'true' || v === '1');
    const used = new Set((await this.entries()).map((c) => c.ImageID.replace(/^sha256:/, '')));
    const images = (await this.podman.listImages()) as PodmanImage[];
    const out: ({ Untagged: string } | { Deleted: string })[] = [];
    let reclaimed = 0;
    for (const i of images) {
      const dangling = !(i.RepoTags ?? []).some((t) => t && t !== '<none>:<none>');
      if (used.has(i.Id.replace(/^sha256:/, '')) || (onlyDangling && !dangling)) continue;
      if (!matchesImageFilters(toDockerImage(i), { ...filters, dangling: [] })) continue;
      try {
        out.push(...(await this.removeImage(i.Id, false)));
        reclaimed += i.Size;
      } catch (err) {
        this.log.warn('prune: could not remove an image', { id: i.Id, error: String(err) });
      }
    }
    return { ImagesDeleted: out, SpaceReclaimed: reclaimed };
  }

  async systemDf(): Promise<DockerSystemDf> {
    const now = Date.now();
    const containers = await this.entries();
    const images = ((await this.podman.listImages()) as PodmanImage[]).map(toDockerImage);
    const uses = (id: string): number =>
      containers.filter((c) => `sha256:${c.ImageID.replace(/^sha256:/, '')}` === id).length;
    return {
      LayersSize: images.reduce((a, i) => a + i.Size, 0),
      Images: images.map((i) => ({ ...i, Containers: uses(i.Id) })),
      Containers: containers.map((c) => ({ ...toDockerSummary(c, now), SizeRw: 0, SizeRootFs: 0 })),
      Volumes: [],
      BuildCache: [],
    };
  }

  async pullImage(req: RegistryRequest, signal: AbortSignal): Promise<AsyncIterable<JsonMessage>> {
    return jsonMessages(
      await this.podman.pullImageStream(req.image, req.tag, {
        ...(req.registryAuth ? { registryAuth: req.registryAuth } : {}),
        ...(req.platform ? { platform: req.platform } : {}),
        signal,
      }),
    );
  }

  async searchImages(
    term: string,
    opts: { limit?: number; filters?: string; registryAuth?: string },
  ): Promise<DockerSearchResult[]> {
    try {
      return await this.podman.searchImages(term, opts);
    } catch (err) {
      if (err instanceof EngineError && err.httpStatus >= 400)
        throw new LifeboatError('search_failed', `searching for ${term} failed: ${err.podmanMessage}`, {
          status: err.httpStatus >= 500 ? 502 : err.httpStatus,
          hint: 'name the registry in the term (docker search REGISTRY:PORT/NAME); the hosts must reach it and trust its CA (/etc/containers/certs.d/HOST:PORT/ca.crt)',
        });
      throw err;
    }
  }

  async registryLogin(body: RegistryLogin): Promise<{ Status: string; IdentityToken?: string }> {
    try {
      return await this.podman.registryLogin(body);
    } catch (err) {
      // the registry's refusal is the client's error, as dockerd answers it
      if (err instanceof EngineError && err.httpStatus >= 400)
        throw new LifeboatError(
          'registry_login_failed',
          `login to ${body.serveraddress ?? 'the registry'} failed: ${err.podmanMessage}`,
          {
            status: 401,
            hint: 'check the user name and password, and that every host trusts the registry (its CA in /etc/containers/certs.d/HOST:PORT/ca.crt)',
          },
        );
      throw err;
    }
  }

  async pushImage(req: RegistryRequest, signal: AbortSignal): Promise<AsyncIterable<JsonMessage>> {
    try {
      return jsonMessages(
        await this.podman.pushImageStream(req.image, req.tag, {
          ...(req.registryAuth ? { registryAuth: req.registryAuth } : {}),
          signal,
        }),
      );
    } catch (err) {
      if (err instanceof ImageNotFoundError) throw new NoSuchImageError(req.image);
      throw err;
    }
  }

  async listNetworks(): Promise<DockerNetwork[]> {
    const nets = await this.podman.listNetworks();
    const containers = await this.entries();
    return nets.map((n) => {
      const members: DockerNetwork['Containers'] = {};
      for (const c of containers)
        if (PodmanDockerBackend.running(c) && (c.Networks ?? []).includes(n.name))
          members[c.Id] = { Name: PodmanDockerBackend.nameOf(c), IPv4Address: '', MacAddress: '' };
      return {
        // Docker's name for the default network is bridge; Podman's is podman
        Name: n.name === 'podman' ? 'bridge' : n.name,
        Id: n.id,
        Created: n.created ?? '',
        Scope: 'local' as const,
        Driver: n.driver,
        EnableIPv6: n.ipv6_enabled ?? false,
        IPAM: {
          Driver: 'default',
          Options: {},
          Config: (n.subnets ?? []).map((s) => ({
            Subnet: s.subnet,
            ...(s.gateway ? { Gateway: s.gateway } : {}),
          })),
        },
        Internal: n.internal ?? false,
        Attachable: false,
        Ingress: false,
        Containers: members,
        Options: n.options ?? {},
        Labels: n.labels ?? {},
      };
    });
  }

  // ---------------------------------------------------------------- exec

  async createExec(ref: string, body: DockerExecCreateBody): Promise<string> {
    const c = await this.resolve(ref);
    if (!PodmanDockerBackend.running(c)) throw new ContainerNotRunningError(c.Id);
    const { ConsoleSize, ...config } = body;
    const id = await this.on(ref, () => this.podman.execCreate(c.Id, config));
    if (ConsoleSize && body.Tty) this.consoleSizes.set(id, ConsoleSize);
    return id;
  }

  async startExec(id: string, body: DockerExecStartBody): Promise<ExecStream | undefined> {
    const inspect = await this.execInspectOr404(id);
    const size = body.ConsoleSize ?? this.consoleSizes.get(id);
    this.consoleSizes.delete(id);
    const tty = inspect.ProcessConfig?.tty ?? body.Tty;
    const stream = await this.podman.execStart(id, {
      detach: body.Detach,
      tty,
      ...(size ? { height: size[0], width: size[1] } : {}),
    });
    if (!stream) return undefined;
    return { tty, stdin: inspect.OpenStdin ?? false, stream };
  }

  async inspectExec(id: string): Promise<DockerExecInspect> {
    const e = await this.execInspectOr404(id);
    const p = e.ProcessConfig ?? {};
    return {
      ID: e.ID,
      ContainerID: e.ContainerID,
      Running: e.Running,
      ExitCode: e.Running ? null : e.ExitCode,
      Pid: e.Pid,
      CanRemove: e.CanRemove ?? false,
      DetachKeys: e.DetachKeys ?? '',
      OpenStdin: e.OpenStdin ?? false,
      OpenStdout: e.OpenStdout ?? false,
      OpenStderr: e.OpenStderr ?? false,
      ProcessConfig: {
        arguments: p.arguments ?? [],
        entrypoint: p.entrypoint ?? '',
        privileged: p.privileged ?? false,
        tty: p.tty ?? false,
        user: p.user ?? '',
      },
    };
  }

  async resizeExec(id: string, height: number, width: number): Promise<void> {
    await this.execInspectOr404(id);
    await this.podman.execResize(id, height, width);
  }

  private async execInspectOr404(id: string): Promise<ExecInspect> {
    try {
      return await this.podman.execInspect(id);
    } catch (err) {
      if (err instanceof ContainerNotFoundError) throw new NoSuchExecError(id);
      throw err;
    }
  }

  // ---------------------------------------------------------------- images

  async listImages(opts: { all: boolean; filters: DockerFilters }): Promise<DockerImageSummary[]> {
    const images = (await this.podman.listImages({ all: opts.all })) as PodmanImage[];
    return images
      .map(toDockerImage)
      .filter((i) => matchesImageFilters(i, opts.filters))
      .sort((a, b) => b.Created - a.Created);
  }

  async inspectImage(ref: string): Promise<DockerImageInspect> {
    try {
      return toDockerImageInspect(await this.podman.inspectImage(ref));
    } catch (err) {
      if (err instanceof ImageNotFoundError) throw new NoSuchImageError(ref);
      throw err;
    }
  }

  // ---------------------------------------------------------------- checkpoints

  async createCheckpoint(ref: string, opts: CheckpointCreateOptions): Promise<void> {
    validateCheckpointId(opts.id);
    validateCheckpointDir(opts.dir);
    const c = await this.resolve(ref);
    if (!PodmanDockerBackend.running(c)) throw new ContainerNotRunningError(ref);
    const name = PodmanDockerBackend.nameOf(c);
    const started = Date.now();
    const path = await this.on(ref, () =>
      this.archives.write(
        name,
        opts.id,
        () =>
          this.checkpointArchive(c.Id, {
            leaveRunning: !opts.exit,
            tcpEstablished: this.tcpEstablished,
          }),
        opts.dir,
      ),
    );
    this.log.info('checkpoint created', {
      name,
      checkpoint: opts.id,
      archive: path,
      ms: Date.now() - started,
    });
  }

  async listCheckpoints(ref: string, opts: { dir?: string } = {}): Promise<DockerCheckpoint[]> {
    const name = await this.checkpointOwner(ref, opts.dir);
    return this.archives.list(name, opts.dir);
  }

  async deleteCheckpoint(ref: string, checkpointId: string, opts: { dir?: string } = {}): Promise<void> {
    validateCheckpointId(checkpointId);
    const name = await this.checkpointOwner(ref, opts.dir);
    await this.archives.remove(name, checkpointId, opts.dir);
  }

  /** Checkpoints outlive a failed restore: a name with archives counts even when its container is gone. */
  private async checkpointOwner(ref: string, dir: string | undefined): Promise<string> {
    validateCheckpointDir(dir);
    const c = await this.find(ref);
    if (c) return PodmanDockerBackend.nameOf(c);
    const name = ref.replace(/^\//, '');
    const has = await this.archives.list(name, dir).then(
      (l) => l.length > 0,
      () => false,
    );
    if (!has) throw new NoSuchContainerError(ref);
    return name;
  }
}

function toWaitResponse(r: { statusCode: number; error?: string }): DockerWaitResponse {
  return r.error ? { StatusCode: r.statusCode, Error: { Message: r.error } } : { StatusCode: r.statusCode };
}

function countStates(cs: DockerContainerSummary[]): ContainerCounts {
  return {
    total: cs.length,
    running: cs.filter((c) => c.State === 'running').length,
    paused: cs.filter((c) => c.State === 'paused').length,
    stopped: cs.filter((c) => c.State !== 'running' && c.State !== 'paused').length,
  };
}

/**
 * Podman's stats objects, one per line, with Docker's `name` (`/web`; the
 * docker CLI drops the first character). A line that is not JSON passes on.
 */
function dockerStatsLines(): Transform {
  let buf = '';
  const fix = (line: string): string => {
    try {
      const o = JSON.parse(line) as { name?: string };
      if (typeof o.name === 'string' && !o.name.startsWith('/')) o.name = `/${o.name}`;
      return JSON.stringify(o) + '\n';
    } catch {
      return line + '\n';
    }
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      buf += chunk.toString('utf8');
      let out = '';
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) out += fix(line);
      }
      done(null, out);
    },
    flush(done) {
      done(null, buf.trim() ? fix(buf.trim()) : '');
    },
  });
}
