import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Keyring } from '../checkpoint/crypto/index.ts';
import type { NodeClient } from '../node-api/node-client.ts';
import type {
  AttachOptions,
  AttachStream,
  DockerExecInspect,
  DockerNetwork,
  DockerSearchResult,
  DockerVolume,
  DockerSystemDf,
  ExecStream,
  BackendInfo,
  BackendNode,
  BackendVersion,
  CheckpointCreateOptions,
  DockerBackend,
  ListContainersOptions,
  LogStream,
  LogsOptions,
  StartOptions,
  WaitHandle,
  RegistryLogin,
  RegistryRequest,
} from '../api/docker/backend.ts';
import {
  NameConflictError,
  NoSuchContainerError,
  NoSuchExecError,
  NoSuchImageError,
  NoSuchNetworkError,
  NoSuchVolumeError,
} from '../api/docker/errors.ts';
import type { NetworkCreateRequest } from '../api/docker/network-body.ts';
import type { DockerUpdateBody } from '../api/docker/daily.ts';
import type { DockerEvent, EventsOptions } from '../api/docker/events.ts';
import type { DockerExecCreateBody, DockerExecStartBody } from '../api/docker/exec.ts';
import type { JsonMessage } from '../api/docker/json-messages.ts';
import { selectContainers } from '../api/docker/container-filters.ts';
import { PodmanDockerBackend } from '../api/docker/podman-backend.ts';
import {
  hostDownInspect,
  hostDownSummary,
  toDockerSummary,
  parseNetworkMode,
  toCreateSpec,
  type PodmanListEntry,
} from '../api/docker/podman-mapping.ts';
import { EngineUnavailableError } from '../engine/errors.ts';
import { platformConstraint, type Platform } from '../scheduler/platform.ts';
import { DEFAULT_STALE_MOVE_MS } from './settle-moves.ts';
import type { ContainerCreateSpec, ContainerListEntry } from '../engine/types.ts';
import { errorMessage, LifeboatError, ValidationError } from '../util/errors.ts';
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
} from '../api/docker/types.ts';
import { validateContainerName } from '../api/docker/validate.ts';
import type { Scheduler } from '../scheduler/index.ts';
import type { ClusterState } from './cluster-state.ts';
import { toDockerEvent } from './docker-events.ts';
import type { ClusterEvent, EventLog } from './events.ts';
import type { HostActivity } from './host-activity.ts';
import { HostDownError, type NodeRegistry } from './node-registry.ts';
import { createInCluster } from './placement.ts';
import type { AddressPool } from '../network/address-pool.ts';
import { CLUSTER_NETWORK, clusterAddressOf } from '../network/cluster-network.ts';
import { withDefaultNetwork } from './default-network.ts';
import { needsOf, type LocalResources } from './local-resources.ts';
import { pullOnHosts } from './registry-images.ts';
import type { ContainerPhase, ContainerRecord, NodeRecord } from './records.ts';

export interface ClusterDockerBackendOptions {
  state: ClusterState;
  nodes: NodeRegistry;
  scheduler: Scheduler;
  events: EventLog;
  /** Where archives of `docker checkpoint create` live (on the manager), per host below it. */
  checkpointDir: string;
  /** Seals `docker checkpoint create` archives under the cluster key. */
  archiveKey?: Keyring;
  strategyName?: string;
  /** The answering manager and whether it leads (docker info's Role, as Swarm's primary/replica). */
  manager?: () => { name: string; role: 'primary' | 'replica' };
  /** The cluster's networks and volumes (node-local; their users are placed beside them). */
  resources?: LocalResources;
  /** Host paths every host shares: a bind below one does not pin a checkpoint-policy container. */
  sharedPaths?: string[];
  /** The cluster network's addresses (src/network). */
  addresses?: AddressPool;
  /** Told when a container is created, removed or changes phase (tickers follow it). */
  onContainerChange?: (name: string, what: 'created' | 'started' | 'stopped' | 'removed') => void;
  /** Hosts this manager changed lately (host-activity.ts): `docker ps` asks them, not their reports. */
  activity?: HostActivity;
  /** Clusters of more hosts than this answer `docker ps` from reports where they can (default 20). */
  psFromReportsAbove?: number;
  /** Every container record for `docker ps` (default: read from the store; the manager passes its mirror). */
  containerRecords?: () => Promise<ContainerRecord[]>;
  /** A record in phase migrating or restoring not updated for this long is left over (DEFAULT_STALE_MOVE_MS). */
  staleMoveMs?: number;
  /** One operation at a time per container (the manager's: migration, restore, checkpoint). */
  exclusive?: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
}

/** The create body with the cluster-network address the managers allocated (kept in the record's spec). */
function withClusterAddress<
  B extends { NetworkingConfig?: { EndpointsConfig: Record<string, DockerEndpointSettings> } },
>(body: B, spec: ContainerCreateSpec): B {
  const ip = clusterAddressOf(spec);
  if (!ip) return body;
  const eps = body.NetworkingConfig?.EndpointsConfig ?? {};
  const ep = eps[CLUSTER_NETWORK] ?? {};
  return {
    ...body,
    NetworkingConfig: {
      EndpointsConfig: {
        ...eps,
        [CLUSTER_NETWORK]: { ...ep, IPAMConfig: { ...ep.IPAMConfig, IPv4Address: ip } },
      },
    },
  };
}

/** The cluster network's address comes with the container's record at create: not joined or left later. */
function refuseClusterNetwork(cluster: boolean, what: 'connect' | 'disconnect'): void {
  if (cluster)
    throw new LifeboatError(
      'cluster_network_at_create',
      `docker network ${what} is not supported for the cluster network ${CLUSTER_NETWORK}: a container is on it from its create, with an address the cluster allocates and keeps for it`,
      {
        status: 400,
        hint: `create the container with --network ${CLUSTER_NETWORK} (or without it), e.g. docker run --network ${CLUSTER_NETWORK} ...`,
      },
    );
}

/** Below this many hosts `docker ps` asks every host: exact, and cheap enough. */
const PS_FROM_REPORTS_ABOVE = 20;
/** A report counts for `docker ps` while its host has been silent no longer than this. */
const REPORT_FRESH_MS = 2000;

/**
 * One Docker endpoint for the whole cluster, as classic Swarm was: create is
 * scheduled with Swarm's filters and strategy; every other call goes to the
 * host that runs the container, through that host's Docker-on-Podman backend.
 * Names are cluster-unique; IDs and ID prefixes resolve across hosts.
 */
export class ClusterDockerBackend implements DockerBackend {
  private readonly perNode = new Map<string, { client: NodeClient; backend: PodmanDockerBackend }>();

  /** Exec session ID -> the host it runs on. */
  private readonly execs = new Map<string, string>();

  constructor(private readonly o: ClusterDockerBackendOptions) {}

  private backend(node: string): PodmanDockerBackend {
    const client = this.o.nodes.client(node);
    const have = this.perNode.get(node);
    if (have && have.client === client) return have.backend;
    const backend = new PodmanDockerBackend({
      podman: client.podman,
      cgroupParent: `/lifeboat_${node}`,
      // one directory for all hosts: a checkpoint taken on one host starts on any other
      checkpointDir: this.o.checkpointDir,
      ...(this.o.archiveKey ? { archiveKey: this.o.archiveKey } : {}),
      node: { name: node },
      checkpointArchive: (id, opts) => client.checkpointStream(id, opts),
      restoreArchive: async (archive: Readable, opts) => {
        const r = await client.restoreFromStream(archive, { tcpEstablished: opts.tcpEstablished });
        return { id: r.id };
      },
    });
    this.perNode.set(node, { client, backend });
    return backend;
  }

  private async healthyNames(): Promise<string[]> {
    return (await this.o.nodes.healthy()).map((n) => n.report.name);
  }

  /** The host of a container: its record by name, else any host's report by ID, ID prefix or name. */
  private async locate(ref: string): Promise<{ node: string; name: string }> {
    const clean = ref.replace(/^\//, '');
    const rec = await this.o.state.container(clean);
    if (rec) return { node: rec.record.node, name: clean };
    const matches: { node: string; name: string; id: string }[] = [];
    // records know IDs at once; heartbeat reports only a second later (docker run: create, then wait by ID)
    for (const r of await this.o.state.containers()) {
      if (r.id && (r.id === clean || (clean.length >= 3 && r.id.startsWith(clean))))
        matches.push({ node: r.node, name: r.name, id: r.id });
    }
    for (const n of await this.o.nodes.healthy()) {
      for (const c of n.report.containers) {
        const name = (c.Names[0] ?? '').replace(/^\//, '');
        const known = matches.some((m) => m.id === c.Id);
        if (!known && (c.Id === clean || name === clean || (clean.length >= 3 && c.Id.startsWith(clean)))) {
          matches.push({ node: n.report.name, name, id: c.Id });
        }
      }
    }
    const exact = matches.find((m) => m.id === clean || m.name === clean);
    if (exact) return exact;
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1)
      throw new NoSuchContainerError(`${ref} (ambiguous: ${matches.length} containers match)`);
    throw new NoSuchContainerError(ref);
  }

  /**
   * A change to a container (stop, kill, rm, pause, rename, update, a
   * checkpoint): it waits for a move, restore or checkpoint of the container
   * in flight, then acts on the host the container is on by then. Acting
   * during a move would hit a copy being frozen and dumped (Podman fails on
   * files CRIU is writing), or one that is about to be removed, while the
   * container goes on running on its new host.
   */
  private async held<T>(ref: string, fn: (at: { node: string; name: string }) => Promise<T>): Promise<T> {
    const { name } = await this.locate(ref);
    const run = async (): Promise<T> => fn(await this.locate(ref));
    return this.o.exclusive ? this.o.exclusive(name, run) : run();
  }

  private async setPhase(name: string, phase: ContainerPhase): Promise<void> {
    if (await this.o.state.container(name)) {
      await this.o.state.updateContainer(name, (r) => ({ ...r, phase })).catch(() => undefined);
    }
  }

  async version(): Promise<BackendVersion> {
    const healthy = await this.healthyNames();
    const first = healthy[0];
    const base = first
      ? await this.backend(first).version()
      : { components: [], kernelVersion: '', os: 'linux', arch: 'amd64' };
    return { ...base, components: [{ name: 'lifeboat', version: '0.1.0' }, ...base.components] };
  }

  async info(): Promise<BackendInfo> {
    const all = await this.o.nodes.all();
    const healthy = new Set(await this.healthyNames());
    const nodes: BackendNode[] = all.map((n) => {
      const cs = n.report.containers;
      const running = cs.filter((c) => c.State === 'running').length;
      return {
        name: n.report.name,
        address: n.report.address,
        id: n.report.name,
        status: healthy.has(n.report.name) ? 'Healthy' : 'Unhealthy',
        availability: n.availability ?? 'active',
        containers: { total: cs.length, running, paused: 0, stopped: cs.length - running },
        cpus: n.report.cpus,
        memoryBytes: n.report.memoryBytes,
        reservedCpus: 0,
        reservedMemoryBytes: 0,
        labels: n.report.labels,
        serverVersion: `podman (criu ${n.report.capabilities.criu ?? '?'})`,
        updatedAt: new Date(n.lastHeartbeat).toISOString(),
        ...(healthy.has(n.report.name) ? {} : { error: 'no heartbeat' }),
      };
    });
    const sum = (f: (b: BackendNode) => number): number => nodes.reduce((a, b) => a + f(b), 0);
    return {
      id: 'lifeboat',
      name: 'lifeboat',
      containers: {
        total: sum((n) => n.containers.total),
        running: sum((n) => n.containers.running),
        paused: 0,
        stopped: sum((n) => n.containers.stopped),
      },
      images: new Set(all.flatMap((n) => n.report.images.map((i) => i.id))).size,
      driver: 'overlay',
      cpus: sum((n) => n.cpus),
      memoryBytes: sum((n) => n.memoryBytes),
      kernelVersion: '',
      operatingSystem: 'lifeboat cluster',
      arch: 'x86_64',
      rootDir: '',
      labels: {},
      status: [
        ['Role', this.o.manager?.().role ?? 'primary'],
        ...(this.o.manager ? [['Manager', this.o.manager().name] as [string, string]] : []),
        ['Strategy', this.o.strategyName ?? 'spread'],
        // `Nodes: N` and the node rows follow from systemStatus
        ['Filters', 'health, port, containerslots, dependency, affinity, constraint'],
      ],
      nodes,
    };
  }

  async createContainer(
    asked: DockerContainerCreateBody,
    name: string | undefined,
    opts: { platform?: Platform } = {},
  ): Promise<DockerContainerCreateResponse> {
    const wanted = name ? validateContainerName(name) : `lifeboat_${randomBytes(4).toString('hex')}`;
    // --platform: a constraint on the hosts' architecture label, as `-e constraint:architecture==...` is
    const onPlatform = platformConstraint(opts.platform);
    const { body, why: networkWhy } = withDefaultNetwork(asked, this.o.addresses !== undefined);
    const hc = body.HostConfig ?? {};
    const ports = Object.entries(hc.PortBindings ?? {}).flatMap(([key, binds]) => {
      const [port, proto] = key.split('/');
      return (binds ?? []).map((b) => ({
        containerPort: Number(port),
        hostPort: Number(b.HostPort || port),
        protocol: (proto === 'udp' ? 'udp' : 'tcp') as 'tcp' | 'udp',
        ...(b.HostIp ? { hostIp: b.HostIp } : {}),
      }));
    });
    let id = '';
    await createInCluster(
      this.o,
      {
        name: wanted,
        image: body.Image ?? '',
        env: [...(body.Env ?? []), ...(onPlatform ? [onPlatform] : [])],
        labels: body.Labels ?? {},
        // the record keeps everything the client asked for: a restart elsewhere (Swarm's
        // on-node-failure) creates the container from it
        rest: { ...restOfSpec(body, wanted), portMappings: ports },
      },
      {
        links: hc.Links ?? [],
        volumesFrom: hc.VolumesFrom ?? [],
        ...(hc.NetworkMode ? { networkMode: hc.NetworkMode } : {}),
      },
      async (node, scheduled) => {
        const r = await this.backend(node).createContainer(
          withClusterAddress({ ...body, Env: scheduled.env, Labels: scheduled.labels }, scheduled.spec),
          wanted,
        );
        id = r.Id;
        return r.Id;
      },
    );
    if (networkWhy)
      this.o.events.emit('container.network', `${wanted} ${networkWhy}`, {
        container: wanted,
        fields: { network: CLUSTER_NETWORK },
      });
    this.o.onContainerChange?.(wanted, 'created');
    return { Id: id, Warnings: [] };
  }

  async startContainer(ref: string, opts: StartOptions = {}): Promise<'started' | 'already-running'> {
    const { node, name } = await this.locate(ref);
    const r = await this.backend(node).startContainer(name, opts);
    await this.setPhase(name, 'running');
    this.o.onContainerChange?.(name, 'started');
    if (r === 'started') this.lifecycle('start', name, node);
    return r;
  }

  async stopContainer(
    ref: string,
    opts: { timeoutSeconds?: number; signal?: string } = {},
  ): Promise<'stopped' | 'not-running'> {
    return this.held(ref, async ({ node, name }) => {
      const r = await this.backend(node).stopContainer(name, opts);
      await this.setPhase(name, 'stopped');
      this.o.onContainerChange?.(name, 'stopped');
      if (r === 'stopped') this.lifecycle('stop', name, node);
      return r;
    });
  }

  async killContainer(ref: string, signal?: string): Promise<void> {
    return this.held(ref, async ({ node, name }) => {
      await this.backend(node).killContainer(name, signal);
      if (!signal || /KILL|TERM|INT/.test(signal)) await this.setPhase(name, 'stopped');
      this.lifecycle('kill', name, node, signal ? { signal } : {});
    });
  }

  async resizeContainer(ref: string, height: number, width: number): Promise<void> {
    const { node, name } = await this.locate(ref);
    await this.backend(node).resizeContainer(name, height, width);
  }

  async restartContainer(
    ref: string,
    opts: { timeoutSeconds?: number; signal?: string } = {},
  ): Promise<void> {
    return this.held(ref, async ({ node, name }) => {
      await this.backend(node).restartContainer(name, opts);
      await this.setPhase(name, 'running');
      this.lifecycle('restart', name, node);
    });
  }

  /**
   * docker rm. A container being moved, restored or checkpointed is removed
   * once that ends, wherever it is then: removing it under CRIU fails on
   * files the dump is still writing, and could leave a copy behind.
   */
  async removeContainer(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    await this.held(ref, (at) => this.removeFrom(at, opts));
  }

  private async removeFrom(
    { node, name }: { node: string; name: string },
    opts: { force?: boolean; volumes?: boolean },
  ): Promise<void> {
    let gone = false;
    try {
      await this.backend(node).removeContainer(name, opts);
    } catch (err) {
      // the record of a container its host no longer has: removing the record is what was asked
      // ... unless a move or restore (another manager's) may be about to create it there; one
      // left so by a manager that died is settled after staleMoveMs, and removable from then on
      const held = (await this.o.state.container(name))?.record;
      const moving =
        (held?.phase === 'migrating' || held?.phase === 'restoring') &&
        Date.now() - Date.parse(held.updatedAt) < (this.o.staleMoveMs ?? DEFAULT_STALE_MOVE_MS);
      if (!(err instanceof NoSuchContainerError) || held?.node !== node || moving) throw err;
      gone = true;
    }
    const rec = (await this.o.state.container(name))?.record;
    if (rec && rec.node !== node) {
      // a copy another host still had (found by its ID): the container itself lives on, and keeps its record
      this.o.events.emit(
        'container.remove',
        `removed a stale copy of ${name} from ${node}; ${name} itself runs on ${rec.node}`,
        { container: name, node },
      );
      return;
    }
    await this.o.state.deleteContainer(name);
    this.o.events.emit(
      'container.remove',
      gone
        ? `removed the record of ${name}: ${node} no longer had the container`
        : `removed ${name} from ${node}`,
      { container: name, node },
    );
    this.o.onContainerChange?.(name, 'removed');
  }

  async inspectContainer(ref: string, opts: { size?: boolean } = {}): Promise<DockerContainerInspect> {
    const { node, name } = await this.locate(ref);
    const n = await this.o.state.node(node);
    let i: DockerContainerInspect;
    try {
      i = await this.backend(node).inspectContainer(name, opts);
    } catch (err) {
      // a host that does not answer: what its last report (else the record) said, marked as classic Swarm did
      const rec = (await this.o.state.container(name))?.record;
      const entry = !isHostDown(err)
        ? undefined
        : (n?.report.containers.find((c) => namesOf(c).includes(name)) ??
          (rec ? recordEntry(rec) : undefined));
      if (!entry) throw err;
      i = hostDownInspect(entry as PodmanListEntry, errorMessage(err));
    }
    // classic Swarm added the host to inspect, and said where a published port is: on the host's address
    const address = n?.report.address ?? '';
    const ports = Object.fromEntries(
      Object.entries(i.NetworkSettings.Ports ?? {}).map(([k, bindings]) => [
        k,
        bindings?.map((b) => ({ ...b, HostIp: onHost(b.HostIp, address) })) ?? null,
      ]),
    );
    return {
      ...i,
      NetworkSettings: { ...i.NetworkSettings, Ports: ports },
      Node: {
        ID: node,
        IP: address,
        Addr: address,
        Name: node,
        Cpus: n?.report.cpus ?? 0,
        Memory: n?.report.memoryBytes ?? 0,
        Labels: n?.report.labels ?? {},
      },
    } as DockerContainerInspect;
  }

  async listContainers(opts: ListContainersOptions): Promise<DockerContainerSummary[]> {
    const everywhere = { ...opts, limit: -1 } as ListContainersOptions;
    const healthy = new Set(await this.healthyNames());
    const recs = await (this.o.containerRecords?.() ?? this.o.state.containers());
    const records = new Map(recs.map((r) => [r.name, r.node]));
    // a host's containers as its last report has them (or as their records say, for ones created
    // after it), unless the cluster moved them elsewhere since
    const fromReport = (n: NodeRecord): PodmanListEntry[] => {
      const listed = n.report.containers.filter((c) =>
        namesOf(c).every((name) => (records.get(name) ?? n.report.name) === n.report.name),
      );
      const seen = new Set(listed.flatMap(namesOf));
      const recorded = recs.filter((r) => r.node === n.report.name && !seen.has(r.name)).map(recordEntry);
      return [...listed, ...recorded] as PodmanListEntry[];
    };
    const lastReported = (n: NodeRecord): DockerContainerSummary[] =>
      selectContainers(
        fromReport(n).map((c) => hostDownSummary(c, Date.now())),
        everywhere,
      );
    const reported = (n: NodeRecord): DockerContainerSummary[] =>
      selectContainers(
        fromReport(n).map((c) => toDockerSummary(c, Date.now())),
        everywhere,
      );
    const nodes = await this.o.nodes.all();
    // a large cluster answers from the reports the heartbeats carry, except for hosts this manager
    // changed lately (their report may predate the change) and hosts whose report is not fresh
    const fromReports = nodes.length > (this.o.psFromReportsAbove ?? PS_FROM_REPORTS_ABOVE);
    // sizes are computed by each host's Podman when asked: reports do not carry them
    const reportServes = (host: string): boolean =>
      fromReports &&
      !opts.size &&
      this.o.activity !== undefined &&
      !this.o.activity.busy(host) &&
      this.o.nodes.silentMs(host) < REPORT_FRESH_MS;
    const lists = await Promise.all(
      nodes.map(async (n) => {
        const host = n.report.name;
        const rows = !healthy.has(host)
          ? lastReported(n)
          : reportServes(host)
            ? reported(n)
            : await this.backend(host)
                .listContainers(everywhere)
                .catch((err: unknown) => (isHostDown(err) ? lastReported(n) : []));
        // `docker ps` shows a published port on its host's address, as classic Swarm did
        return rows.map((r) => ({
          ...r,
          Ports: r.Ports.map((p) => (p.IP === undefined ? p : { ...p, IP: onHost(p.IP, n.report.address) })),
        }));
      }),
    );
    const all = lists.flat().sort((a, b) => b.Created - a.Created);
    const limit = (opts as { limit?: number }).limit;
    return limit !== undefined && limit > 0 ? all.slice(0, limit) : all;
  }

  async containerLogs(ref: string, opts: LogsOptions): Promise<LogStream> {
    const { node, name } = await this.locate(ref);
    return this.backend(node).containerLogs(name, opts);
  }

  async waitContainer(ref: string, condition: DockerWaitCondition, signal: AbortSignal): Promise<WaitHandle> {
    const { node, name } = await this.locate(ref);
    return this.backend(node).waitContainer(name, condition, signal);
  }

  async attachContainer(ref: string, opts: AttachOptions): Promise<AttachStream> {
    const { node, name } = await this.locate(ref);
    return this.backend(node).attachContainer(name, opts);
  }

  async listImages(opts: { all: boolean; filters: DockerFilters }): Promise<DockerImageSummary[]> {
    const lists = await Promise.all(
      (await this.healthyNames()).map((n) =>
        this.backend(n)
          .listImages(opts)
          .catch(() => []),
      ),
    );
    const byId = new Map<string, DockerImageSummary>();
    for (const i of lists.flat()) if (!byId.has(i.Id)) byId.set(i.Id, i);
    return [...byId.values()];
  }

  // ---------------------------------------------------------------- events

  /** A container lifecycle event through the cluster (docker events shows it). */
  private lifecycle(action: string, name: string, node: string, fields: Record<string, string> = {}): void {
    this.o.events.emit(`container.${action}`, `${action} ${name} on ${node}`, {
      container: name,
      node,
      fields,
    });
  }

  /**
   * The cluster's event log in Docker's shape: containers created, started,
   * stopped, removed through the cluster, and every decision lifeboat took
   * (placement, migration, checkpoint, host failure, restore). What a
   * container does by itself (it exits, it is OOM-killed) is not in it.
   */
  async events(opts: EventsOptions, signal: AbortSignal): Promise<AsyncIterable<DockerEvent>> {
    const log = this.o.events;
    const queue: ClusterEvent[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = log.subscribe((e) => {
      queue.push(e);
      wake?.();
    });
    const seconds = (e: ClusterEvent): number => Date.parse(e.time) / 1000;
    const past = opts.since === undefined ? [] : log.since(0).filter((e) => seconds(e) >= opts.since!);
    const seen = past.at(-1)?.seq ?? 0;
    return (async function* () {
      try {
        for (const e of past) {
          if (opts.until !== undefined && seconds(e) > opts.until) return;
          yield toDockerEvent(e);
        }
        for (;;) {
          while (queue.length) {
            const e = queue.shift()!;
            if (e.seq <= seen) continue;
            if (opts.until !== undefined && seconds(e) > opts.until) return;
            yield toDockerEvent(e);
          }
          const left = opts.until === undefined ? undefined : opts.until * 1000 - Date.now();
          if (signal.aborted || (left !== undefined && left <= 0)) return;
          await new Promise<void>((resolve) => {
            const timer = left === undefined ? undefined : setTimeout(resolve, left);
            const done = (): void => {
              if (timer) clearTimeout(timer);
              wake = undefined;
              resolve();
            };
            wake = done;
            signal.addEventListener('abort', done, { once: true });
          });
        }
      } finally {
        unsubscribe();
      }
    })();
  }

  // ---------------------------------------------------------------- daily commands, on the container's host

  async exportContainer(ref: string): Promise<Readable> {
    const { node, name } = await this.locate(ref);
    return this.backend(node).exportContainer(name);
  }

  async pauseContainer(ref: string): Promise<void> {
    return this.held(ref, async ({ node, name }) => {
      await this.backend(node).pauseContainer(name);
      this.lifecycle('pause', name, node);
    });
  }

  async unpauseContainer(ref: string): Promise<void> {
    return this.held(ref, async ({ node, name }) => {
      await this.backend(node).unpauseContainer(name);
      this.lifecycle('unpause', name, node);
    });
  }

  /**
   * A plain container is renamed where it runs and in its record. One with
   * a checkpoint ticker or a restore policy keeps its name: its versions
   * in the store and its policy are filed under it.
   */
  async renameContainer(ref: string, to: string): Promise<void> {
    return this.held(ref, async ({ node, name }) => {
      const rec = (await this.o.state.container(name))?.record;
      if (rec?.ticker || rec?.restorePolicy)
        throw new ValidationError(
          `container ${name} has a checkpoint ticker or a restore policy: it cannot be renamed`,
          'its checkpoint versions are kept under its name; create it again under the new name if you must',
        );
      const other = (await this.o.state.container(to))?.record;
      if (other) throw new NameConflictError(to, other.id ?? '', other.node);
      await this.backend(node).renameContainer(name, to);
      if (rec) {
        await this.o.state.createContainer({ ...rec, name: to, spec: { ...rec.spec, name: to } });
        await this.o.state.deleteContainer(name);
      }
      this.lifecycle('rename', to, node, { oldName: name });
    });
  }

  async topContainer(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const { node, name } = await this.locate(ref);
    return this.backend(node).topContainer(name, psArgs);
  }

  async containerChanges(ref: string): Promise<{ Path: string; Kind: number }[]> {
    const { node, name } = await this.locate(ref);
    return this.backend(node).containerChanges(name);
  }

  async containerStats(ref: string, stream: boolean): Promise<Readable> {
    const { node, name } = await this.locate(ref);
    return this.backend(node).containerStats(name, stream);
  }

  async updateContainer(ref: string, update: DockerUpdateBody): Promise<void> {
    return this.held(ref, async ({ node, name }) => {
      await this.backend(node).updateContainer(name, update);
      // the record follows, so a restart elsewhere (and the scheduler's reservations) see the new limits
      if (update.Memory !== undefined || update.CpuShares !== undefined)
        await this.o.state.updateContainer(name, (r) => ({
          ...r,
          spec: {
            ...r.spec,
            ...(update.Memory !== undefined ? { memoryLimitBytes: update.Memory } : {}),
            ...(update.CpuShares !== undefined ? { cpuShares: update.CpuShares } : {}),
          },
        }));
    });
  }

  async containerArchive(
    ref: string,
    method: 'HEAD' | 'GET' | 'PUT',
    query: Record<string, string>,
    body?: Readable,
  ): Promise<IncomingMessage> {
    const { node, name } = await this.locate(ref);
    return this.backend(node).containerArchive(name, method, query, body);
  }

  async pruneContainers(
    filters: DockerFilters,
  ): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const out = { ContainersDeleted: [] as string[], SpaceReclaimed: 0 };
    const records = await this.o.state.containers();
    for (const n of await this.healthyNames()) {
      const r = await this.backend(n).pruneContainers(filters);
      out.ContainersDeleted.push(...r.ContainersDeleted);
      out.SpaceReclaimed += r.SpaceReclaimed;
    }
    // records of containers that are gone now go too
    const left = new Set(
      (await this.listContainers({ all: true, filters: {} })).flatMap((c) =>
        c.Names.map((x) => x.replace(/^\//, '')),
      ),
    );
    for (const r of records)
      if (r.node && !left.has(r.name) && r.phase === 'stopped') await this.o.state.deleteContainer(r.name);
    return out;
  }

  /** From the first healthy host that has the image. */
  async imageHistory(ref: string): Promise<unknown[]> {
    return this.onSomeHost(ref, (b) => b.imageHistory(ref));
  }

  /** Tagged on every healthy host that has the image, so a container can use the tag on any of them. */
  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    await this.onEveryHost(ref, (b) => b.tagImage(ref, repo, tag));
  }

  async removeImage(ref: string, force: boolean): Promise<({ Untagged: string } | { Deleted: string })[]> {
    const all = await this.onEveryHost(ref, (b) => b.removeImage(ref, force));
    const seen = new Set<string>();
    return all.flat().filter((e) => {
      const k = JSON.stringify(e);
      return seen.has(k) ? false : (seen.add(k), true);
    });
  }

  async pruneImages(
    filters: DockerFilters,
  ): Promise<{ ImagesDeleted: ({ Untagged: string } | { Deleted: string })[]; SpaceReclaimed: number }> {
    const out = { ImagesDeleted: [] as ({ Untagged: string } | { Deleted: string })[], SpaceReclaimed: 0 };
    for (const n of await this.healthyNames()) {
      const r = await this.backend(n).pruneImages(filters);
      out.ImagesDeleted.push(...r.ImagesDeleted);
      out.SpaceReclaimed += r.SpaceReclaimed;
    }
    return out;
  }

  /** The cluster's disk use: every healthy host's images (each image once) and containers. */
  async systemDf(): Promise<DockerSystemDf> {
    const parts = await Promise.all((await this.healthyNames()).map((n) => this.backend(n).systemDf()));
    const images = new Map<string, DockerSystemDf['Images'][number]>();
    for (const p of parts)
      for (const i of p.Images) {
        const had = images.get(i.Id);
        images.set(i.Id, had ? { ...had, Containers: had.Containers + i.Containers } : i);
      }
    return {
      LayersSize: [...images.values()].reduce((a, i) => a + i.Size, 0),
      Images: [...images.values()],
      Containers: parts.flatMap((p) => p.Containers),
      Volumes: [],
      BuildCache: [],
    };
  }

  /** Pulled on every healthy host at once (registry-images.ts). */
  async pullImage(req: RegistryRequest, signal: AbortSignal): Promise<AsyncIterable<JsonMessage>> {
    const image = req.tag ? `${req.image}:${req.tag}` : req.image;
    const hosts = (await this.healthyNames()).map((host) => ({
      host,
      pull: () => this.backend(host).pullImage(req, signal),
    }));
    return pullOnHosts(image, hosts);
  }

  /** From the first healthy host: the hosts are the ones that reach the registries. */
  async searchImages(
    term: string,
    opts: { limit?: number; filters?: string; registryAuth?: string },
  ): Promise<DockerSearchResult[]> {
    const [host] = await this.healthyNames();
    if (host === undefined)
      throw new LifeboatError('no_healthy_host', 'no healthy host to search from', { status: 503 });
    return this.backend(host).searchImages(term, opts);
  }

  /** Checked from the first healthy host (the hosts are the ones that will pull). */
  async registryLogin(body: RegistryLogin): Promise<{ Status: string; IdentityToken?: string }> {
    const [host] = await this.healthyNames();
    if (host === undefined)
      throw new LifeboatError('no_healthy_host', 'no healthy host to check the login from', { status: 503 });
    return this.backend(host).registryLogin(body);
  }

  /** From the first healthy host that has the image. */
  async pushImage(req: RegistryRequest, signal: AbortSignal): Promise<AsyncIterable<JsonMessage>> {
    for (const host of await this.healthyNames()) {
      const has = await this.backend(host)
        .inspectImage(req.tag ? `${req.image}:${req.tag}` : req.image)
        .then(
          () => true,
          (err: unknown) => {
            if (err instanceof NoSuchImageError) return false;
            throw err;
          },
        );
      if (!has) continue;
      const inner = await this.backend(host).pushImage(req, signal);
      return (async function* () {
        yield { status: `Pushing from ${host}` };
        yield* inner;
      })();
    }
    throw new NoSuchImageError(req.tag ? `${req.image}:${req.tag}` : req.image);
  }

  /** Each host's networks, named `<host>/<network>` as classic Swarm did. */
  async listNetworks(): Promise<DockerNetwork[]> {
    const records = this.o.resources ? await this.o.state.networks() : [];
    const user = new Set(records.map((r) => r.name));
    const lists = await Promise.all(
      (await this.healthyNames()).map(async (n) =>
        (
          await this.backend(n)
            .listNetworks()
            .catch(() => [])
        )
          .filter((x) => !user.has(x.Name))
          .map((x) => ({
            ...x,
            Name: `${n}/${x.Name}`,
            Id: `${n}-${x.Id}`.slice(0, 64),
          })),
      ),
    );
    const containers = await this.o.state.containers();
    const userNets = await Promise.all(
      records.map(async (r): Promise<DockerNetwork> => {
        const members: DockerNetwork['Containers'] = {};
        const member = (c: ContainerRecord): boolean =>
          r.cluster ? needsOf(c.spec).cluster === true : needsOf(c.spec).networks.includes(r.name);
        for (const c of containers.filter(member)) {
          const ep = await this.inspectContainer(c.name)
            .then((i) => i.NetworkSettings.Networks[r.name])
            .catch(() => undefined);
          members[c.id ?? c.name] = {
            Name: c.name,
            IPv4Address: ep?.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : '',
            MacAddress: ep?.MacAddress ?? '',
          };
        }
        return {
          Name: r.name,
          Id: r.id,
          Created: r.created,
          // the cluster network spans every host (as a Swarm overlay's scope); the others live on one
          Scope: r.cluster ? 'swarm' : 'local',
          Driver: 'bridge',
          EnableIPv6: false,
          IPAM: {
            Driver: 'default',
            Options: {},
            Config: r.subnets.map((s) => ({
              Subnet: s.subnet,
              ...(s.gateway ? { Gateway: s.gateway } : {}),
            })),
          },
          Internal: r.internal,
          Attachable: true,
          Ingress: false,
          Containers: members,
          Options: Object.fromEntries(
            Object.entries(r.options).map(([k, v]) => [k === 'mtu' ? 'com.docker.network.driver.mtu' : k, v]),
          ),
          Labels: r.labels,
          // classic Swarm: the host a node-local network lives on
          ...(r.node ? { Node: r.node } : {}),
        };
      }),
    );
    return [...userNets, ...lists.flat()];
  }

  private resources(): LocalResources {
    if (!this.o.resources) throw new NoSuchNetworkError('(networks are not kept by this endpoint)');
    return this.o.resources;
  }

  async createNetwork(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const rec = await this.resources().createNetwork(req);
    return { Id: rec.id, Warning: '' };
  }

  async removeNetwork(ref: string): Promise<void> {
    await this.resources().removeNetwork(ref);
  }

  async connectNetwork(ref: string, container: string, endpoint: DockerEndpointSettings): Promise<void> {
    const res = this.resources();
    const net = await res.findNetwork(ref);
    if (!net) throw new NoSuchNetworkError(ref);
    refuseClusterNetwork(net.cluster === true, 'connect');
    const { node, name } = await this.locate(container);
    const needs = { networks: [net.name], volumes: [] };
    const pin = await res.pin(needs);
    if (pin.node && pin.node !== node)
      throw new LifeboatError(
        'resources_apart',
        `network ${net.name} lives on ${pin.node} and container ${name} on ${node}: a network is local to its host`,
        {
          status: 409,
          hint: `move the container to ${pin.node} first (lifeboat migrate ${name} -e constraint:node==${pin.node})`,
        },
      );
    await res.claim(needs, node);
    await res.ensureOn(node, needs);
    const attachment = {
      ...(endpoint.Aliases?.length ? { aliases: endpoint.Aliases } : {}),
      ...(endpoint.IPAMConfig?.IPv4Address ? { staticIps: [endpoint.IPAMConfig.IPv4Address] } : {}),
    };
    await this.o.nodes.client(node).podman.connectNetwork(net.name, name, attachment);
    // the record carries it: a move or a restore joins the network again
    await this.o.state
      .updateContainer(name, (r) => ({
        ...r,
        spec: { ...r.spec, networks: { ...r.spec.networks, [net.name]: attachment } },
      }))
      .catch(() => undefined);
  }

  async disconnectNetwork(ref: string, container: string, force: boolean): Promise<void> {
    const net = await this.resources().findNetwork(ref);
    if (!net) throw new NoSuchNetworkError(ref);
    refuseClusterNetwork(net.cluster === true, 'disconnect');
    const { node, name } = await this.locate(container);
    await this.o.nodes.client(node).podman.disconnectNetwork(net.name, name, force);
    await this.o.state
      .updateContainer(name, (r) => {
        const { [net.name]: _gone, ...rest } = r.spec.networks ?? {};
        return { ...r, spec: { ...r.spec, networks: rest } };
      })
      .catch(() => undefined);
  }

  async listVolumes(): Promise<DockerVolume[]> {
    if (!this.o.resources) return [];
    const containers = await this.o.state.containers();
    const healthy = new Set(await this.healthyNames());
    const records = await this.o.state.volumes();
    const mountpoints = await Promise.all(
      records.map((v) =>
        v.node && healthy.has(v.node)
          ? this.o.nodes
              .client(v.node)
              .podman.inspectVolume(v.name)
              .then((i) => i?.Mountpoint ?? '')
              .catch(() => '')
          : Promise.resolve(''),
      ),
    );
    return records.map((v, i) => ({
      Name: v.name,
      Driver: 'local',
      // on the volume's host (Status.Node says which)
      Mountpoint: mountpoints[i] ?? '',
      CreatedAt: v.created,
      Labels: v.labels,
      Scope: 'local',
      Options: {},
      ...(v.node ? { Status: { Node: v.node } } : {}),
      UsageData: {
        Size: -1,
        RefCount: containers.filter((c) => needsOf(c.spec).volumes.includes(v.name)).length,
      },
    }));
  }

  async createVolume(req: { name?: string; labels: Record<string, string> }): Promise<DockerVolume> {
    const name = req.name ?? randomBytes(32).toString('hex');
    await this.resources().createVolume(name, req.labels);
    const v = (await this.listVolumes()).find((x) => x.Name === name);
    if (!v) throw new NoSuchVolumeError(name);
    return v;
  }

  async removeVolume(name: string, force: boolean): Promise<void> {
    await this.resources().removeVolume(name, force);
  }

  private async onSomeHost<T>(ref: string, fn: (b: PodmanDockerBackend) => Promise<T>): Promise<T> {
    for (const n of await this.healthyNames()) {
      try {
        return await fn(this.backend(n));
      } catch (err) {
        if (!(err instanceof NoSuchImageError)) throw err;
      }
    }
    throw new NoSuchImageError(ref);
  }

  private async onEveryHost<T>(ref: string, fn: (b: PodmanDockerBackend) => Promise<T>): Promise<T[]> {
    const out: T[] = [];
    for (const n of await this.healthyNames()) {
      try {
        out.push(await fn(this.backend(n)));
      } catch (err) {
        if (!(err instanceof NoSuchImageError)) throw err;
      }
    }
    if (out.length === 0) throw new NoSuchImageError(ref);
    return out;
  }

  async createExec(ref: string, body: DockerExecCreateBody): Promise<string> {
    const { node, name } = await this.locate(ref);
    const id = await this.backend(node).createExec(name, body);
    this.execs.set(id, node);
    // Docker forgets sessions an hour after they end; lifeboat keeps the last 1000 it made
    if (this.execs.size > 1000) this.execs.delete(this.execs.keys().next().value as string);
    return id;
  }

  async startExec(id: string, body: DockerExecStartBody): Promise<ExecStream | undefined> {
    return this.backend(this.execNode(id)).startExec(id, body);
  }

  async inspectExec(id: string): Promise<DockerExecInspect> {
    return this.backend(this.execNode(id)).inspectExec(id);
  }

  async resizeExec(id: string, height: number, width: number): Promise<void> {
    await this.backend(this.execNode(id)).resizeExec(id, height, width);
  }

  /** The host of an exec session this manager created (sessions are not shared between managers). */
  private execNode(id: string): string {
    const node = this.execs.get(id);
    if (!node) throw new NoSuchExecError(id);
    return node;
  }

  /** From the first healthy host that has the image (the same ID everywhere: images are shipped, not rebuilt). */
  async inspectImage(ref: string): Promise<DockerImageInspect> {
    for (const n of await this.healthyNames()) {
      try {
        return await this.backend(n).inspectImage(ref);
      } catch (err) {
        // another host may have it; a host that fails otherwise is as good as one without it
        if (!(err instanceof NoSuchImageError)) continue;
      }
    }
    throw new NoSuchImageError(ref);
  }

  async createCheckpoint(ref: string, opts: CheckpointCreateOptions): Promise<void> {
    return this.held(ref, async ({ node, name }) => {
      await this.backend(node).createCheckpoint(name, opts);
      if (opts.exit) await this.setPhase(name, 'stopped');
    });
  }

  async listCheckpoints(ref: string, opts: { dir?: string } = {}): Promise<DockerCheckpoint[]> {
    const { node, name } = await this.locate(ref);
    return this.backend(node).listCheckpoints(name, opts);
  }

  async deleteCheckpoint(ref: string, checkpointId: string, opts: { dir?: string } = {}): Promise<void> {
    const { node, name } = await this.locate(ref);
    await this.backend(node).deleteCheckpoint(name, checkpointId, opts);
  }
}

/** The host did not answer: known down by its heartbeats, or no connection. */
function isHostDown(err: unknown): boolean {
  return err instanceof HostDownError || err instanceof EngineUnavailableError;
}

function namesOf(c: ContainerListEntry): string[] {
  return c.Names.map((n) => n.replace(/^\//, ''));
}

/** A list entry from what the cluster recorded of a container its host never reported. */
function recordEntry(r: ContainerRecord): ContainerListEntry {
  return {
    Id: r.id ?? '',
    Names: [r.name],
    Image: r.spec.image,
    ImageID: r.imageId ?? '',
    State: 'unknown',
    Status: '',
    Created: Math.floor(Date.parse(r.updatedAt) / 1000) || 0,
    Labels: r.spec.labels ?? {},
    Ports: null,
    Command: r.spec.command ?? null,
    Pid: 0,
    ExitCode: 0,
    Exited: false,
    StartedAt: 0,
  };
}

/**
 * The host-independent part of the create: what toCreateSpec makes of the
 * body without a host's links, cgroup or `container:` network.
 */
function restOfSpec(
  body: DockerContainerCreateBody,
  name: string,
): Omit<ContainerCreateSpec, 'name' | 'image' | 'env' | 'labels'> {
  const mode = parseNetworkMode(body.HostConfig?.NetworkMode);
  const {
    name: _n,
    image: _i,
    env: _e,
    labels: _l,
    cgroupParent: _c,
    ...rest
  } = toCreateSpec(body, {
    name,
    cgroupParent: '',
    linkHosts: [],
    netns: 'nsmode' in mode ? mode : undefined,
  });
  return rest;
}

/** A binding on every address of a host (`""`, `0.0.0.0`) is reached at the host's address. */
function onHost(hostIp: string | undefined, address: string): string {
  return !hostIp || hostIp === '0.0.0.0' ? address || hostIp || '' : hostIp;
}
