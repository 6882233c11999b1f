import { HostActivity } from './host-activity.ts';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { HttpNodeClient, type RelayCounter } from '../node-api/http-node-client.ts';
import type { Compression } from '../node-api/node-client.ts';
import type { HeartbeatRequest, HeartbeatResponse } from '../node-api/heartbeat-protocol.ts';
import { Router } from '../api/http/router.ts';
import { listenTracked, serve, type RunningServer } from '../api/http/serve.ts';
import { createDockerApiRouter, startDockerApiServer } from '../api/docker/server.ts';
import { startDockerApiTlsServer } from '../api/docker/tls-server.ts';
import {
  authorizePeer,
  firstCertificatePem,
  serverTlsOptions,
  type ClusterCa,
  type TlsBundle,
} from '../pki/index.ts';
import { Certificates } from '../join/certificates.ts';
import { ManagerClusterNetwork, type ClusterNetworkOptions } from './cluster-network.ts';
import { JoinService } from '../join/service.ts';
import { JoinTokens } from '../join/tokens.ts';
import { LifeboatError } from '../util/errors.ts';
import { Scheduler } from '../scheduler/index.ts';
import type { ClusterStore, Leadership } from '../store/index.ts';
import { timedStore } from '../store/timed-store.ts';
import type { PrefixMirror } from '../store/prefix-mirror.ts';
import type { ContainerRecord, NodeRecord } from './records.ts';
import { DrainService } from './drain.ts';
import { rebalance, type RebalanceOutcome } from './rebalance.ts';
import type { Keyring } from '../checkpoint/crypto/index.ts';
import { createLogger, type Logger } from '../util/log.ts';
import { withDeadline } from '../util/deadline.ts';
import { errorMessage } from '../util/errors.ts';
import { CheckpointCommands } from './checkpoint-commands.ts';
import { LocalResources } from './local-resources.ts';
import { DEFAULT_STALE_MOVE_MS, settleStaleMoves } from './settle-moves.ts';
import { storeSharing } from './store-sharing.ts';
import { ClusterDockerBackend } from './cluster-docker-backend.ts';
import { ClusterState } from './cluster-state.ts';
import { EventLog } from './events.ts';
import { lifeboatApiRouter, registerHealthRoutes } from './lifeboat-api.ts';
import { DOCKER_FORWARD_PREFIX, LeaderForwarder } from './leader-forward.ts';
import { PublishedPortForwarder, type PublishedPort } from './port-forwarder.ts';
import { ManagerMetrics } from './metrics.ts';
import type { Discovery } from './discovery.ts';
import { DiscoveryPoller } from './discovery-poller.ts';
import { Migrator } from './migrate.ts';
import { Rescheduler } from './rescheduler.ts';
import { TickerService } from './tickers.ts';
import { NodeRegistry } from './node-registry.ts';
import { FreshRead } from './fresh-read.ts';

export interface ManagerOptions {
  /** This manager's identity (unique among replicas). */
  name: string;
  /**
   * `docker ps` in a cluster of more hosts than this answers from the hosts'
   * heartbeat reports (at most ~2 s old) for every host this manager has not
   * changed in the last 3 s, and asks only the others; smaller clusters ask
   * every host. Default 20 (ClusterDockerBackend).
   */
  psFromReportsAbove?: number;
  store: ClusterStore;
  /** Manager API (heartbeats + lifeboat API), HTTPS with mutual TLS. */
  listen: { host: string; port: number };
  /** Address agents and other managers use to reach `listen` (default: listen). */
  advertise?: string;
  tls: TlsBundle;
  /**
   * The cluster CA with its key (`--ca DIR`): this manager then signs the
   * certificates of hosts that join with a token. Without it, joins are
   * refused here with a pointer to a manager that has it.
   */
  ca?: ClusterCa;
  /** Docker-compatible endpoint: a unix socket (0660, as dockerd's), or plain HTTP on loopback. */
  docker: { host: string; port: number } | { socketPath: string };
  /** The Docker endpoint again over mutual TLS (docker --tlsverify), for remote clients. */
  dockerTls?: { host: string; port: number; tls: TlsBundle };
  failureTimeoutMs: number;
  /**
   * A record left in phase `migrating` this long, by a move no manager here
   * drives, is settled by the leader (settle-moves.ts). Default 120 s: longer
   * than any move, which runs on the leader and records as it ends.
   */
  staleMoveMs?: number;
  /** Where `docker checkpoint create` archives are kept. */
  dockerCheckpointDir: string;
  /** Encrypts those archives (cluster key, previous keys for reading); plain tar files without. */
  clusterKey?: Keyring;
  strategy?: string;
  filters?: string[];
  /** Static host list (Swarm's nodes:// and file://): this manager polls those agents. */
  discovery?: Discovery;
  /** Compression of migration streams between agents when a request does not say; default none. */
  transferCompression?: Compression | 'auto';
  /**
   * Storage every host mounts at the same path (`--shared-path`): a bind of
   * a path below one moves with its container; other host paths pin it.
   */
  sharedPaths?: string[];
  /**
   * Listen on this address for every published port of the cluster and
   * relay to the host that runs the container now (clients of the Docker
   * endpoint, e.g. testcontainers, connect to its host and the published port).
   */
  forwardPorts?: string;
  /** A plain HTTP listener on loopback for /metrics, /healthz and /readyz (a local Prometheus, a watchdog). */
  metricsListen?: { host: string; port: number };
  /** The cluster network (src/network): its subnet, and whether to route it in this manager's namespace. */
  clusterNetwork?: ClusterNetworkOptions;
  logger?: Logger;
}

interface LeaderValue {
  name: string;
  apiUrl: string;
  dockerUrl: string;
}

const ELECTION = 'managers';
/** How long after a change a host's heartbeat report may still predate it (two heartbeats and a margin). */
const HOST_REPORT_SETTLE_MS = 3000;

/**
 * The cluster manager: one Docker endpoint for the cluster, the lifeboat API,
 * heartbeats from agents, and — while it leads — the failure detector.
 * Several managers share one store; one is elected leader (thesis 3.4.3).
 */
export class Manager {
  readonly name: string;
  readonly state: ClusterState;
  /** Archive bytes this manager carried itself (`docker checkpoint` archives only; moves go agent to agent). */
  readonly relayed: RelayCounter = { bytes: 0 };
  /** Hosts this manager changed lately: `docker ps` asks those live, the rest answer from their reports. */
  readonly activity = new HostActivity(HOST_REPORT_SETTLE_MS);
  readonly events: EventLog;
  readonly registry: NodeRegistry;
  readonly scheduler: Scheduler;
  readonly migrator: Migrator;
  readonly backend: ClusterDockerBackend;
  /** User-defined networks and named volumes: where each lives. */
  readonly resources: LocalResources;
  readonly checkpoints: CheckpointCommands;
  readonly tickers: TickerService;
  readonly rescheduler: Rescheduler;
  readonly drains: DrainService;
  readonly log: Logger;
  private apiServer: https.Server | undefined;
  private apiClose: (() => Promise<void>) | undefined;
  private docker: RunningServer | undefined;
  private metricsServer: RunningServer | undefined;
  readonly metrics: ManagerMetrics;
  private ports: PublishedPortForwarder | undefined;
  /** Each running container's published ports as last reported (publishedPorts). */
  private readonly lastPorts = new Map<string, number[]>();
  private dockerTls: { close(): Promise<void> } | undefined;
  private leadership: Leadership | undefined;
  private leaderTimer: NodeJS.Timeout | undefined;
  private poller: DiscoveryPoller | undefined;
  private campaignAbort = new AbortController();
  private resuming: Promise<unknown> | undefined;
  private lastResume = 0;
  private settling: Promise<unknown> | undefined;
  private lastSettle = 0;
  private lastRebuild = 0;
  private readonly busy = new Map<string, Promise<unknown>>();
  /** Hooks the HA services attach to (tickers, rescheduler). */
  readonly leaderHooks: {
    onElected: (() => Promise<void>)[];
    onDeposed: (() => Promise<void>)[];
    onHostFailed: ((node: string) => Promise<void>)[];
    onHostRecovered: ((node: string) => Promise<void>)[];
  } = { onElected: [], onDeposed: [], onHostFailed: [], onHostRecovered: [] };

  /** The cluster store, each request timed for the metrics. */
  private readonly store: ClusterStore;
  /** What every heartbeat reads, shared by the heartbeats arriving together (never older than each). */
  private readonly heartbeatReads = {
    leader: new FreshRead(() => this.leaderInfo()),
  };
  /**
   * Every container record from a watch, for each heartbeat's `elsewhere` and
   * for `docker ps`: reading them all from the store for each of 200
   * heartbeats a second starved the manager at 1,000 managed containers
   * (the scale bench: heartbeats late, live hosts declared failed).
   */
  private readonly containerMirror: PrefixMirror<ContainerRecord>;
  /** Certificates the cluster knows and those it revoked (`lifeboat node rm`). */
  readonly certificates: Certificates;
  readonly joinTokens: JoinTokens;
  readonly joins: JoinService;
  /** The cluster network: its record, addresses, the plan heartbeats carry. */
  readonly clusterNetwork: ManagerClusterNetwork;

  private constructor(private readonly o: ManagerOptions) {
    this.name = o.name;
    this.log = o.logger ?? createLogger(`manager/${o.name}`);
    this.store = timedStore(o.store, (op, seconds, ok) =>
      this.metrics?.storeSeconds.observe({ op, outcome: ok ? 'ok' : 'error' }, seconds),
    );
    this.state = new ClusterState(this.store);
    this.containerMirror = this.state.mirrorContainers();
    this.events = new EventLog();
    this.certificates = new Certificates(this.store);
    this.clusterNetwork = new ManagerClusterNetwork({
      state: this.state,
      records: () => this.containerMirror.get(),
      hosts: () => this.registry.all(),
      log: this.log.child('network'),
      ...(o.clusterNetwork ?? {}),
    });
    this.joinTokens = new JoinTokens(this.store, o.ca?.certPem ?? o.tls.caPem);
    this.joins = new JoinService({
      tokens: this.joinTokens,
      certificates: this.certificates,
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.clusterKey ? { clusterKey: o.clusterKey } : {}),
      hostSilentMs: async (name) => {
        const rec = (await this.registry.all()).find((n) => n.report.name === name);
        if (rec === undefined || rec.status === 'failed') return undefined;
        return this.registry.silentMs(name);
      },
      failureTimeoutMs: o.failureTimeoutMs,
      log: this.log.child('join'),
    });
    this.scheduler = new Scheduler({
      ...(o.strategy ? { strategy: o.strategy } : {}),
      ...(o.filters ? { filters: o.filters } : {}),
    });
    this.registry = new NodeRegistry({
      state: this.state,
      events: this.events,
      failureTimeoutMs: o.failureTimeoutMs,
      clientFor: (rec) =>
        new HttpNodeClient({
          name: rec.report.name,
          url: rec.apiUrl,
          tls: o.tls,
          // the address comes from the heartbeat: whoever answers there must hold this host's certificate
          pinName: true,
          relayed: this.relayed,
          liveness: this.registry.liveness(rec.report.name),
          onChange: () => this.activity.begin(rec.report.name),
        }),
    });
    this.metrics = new ManagerMetrics(
      {
        name: this.name,
        isLeader: () => this.isLeader,
        nodes: () => this.registry.all(),
        silentMs: (h) => this.registry.silentMs(h),
      },
      this.events,
    );
    this.tickers = new TickerService({ state: this.state, nodes: this.registry, events: this.events });
    this.resources = new LocalResources({ state: this.state, nodes: this.registry, events: this.events });
    this.rescheduler = new Rescheduler({
      state: this.state,
      nodes: this.registry,
      scheduler: this.scheduler,
      events: this.events,
      resources: this.resources,
      tickers: this.tickers,
      exclusive: (name, fn) => this.exclusive(name, fn),
      ...(o.transferCompression ? { compression: o.transferCompression } : {}),
    });
    this.migrator = new Migrator({
      state: this.state,
      nodes: this.registry,
      scheduler: this.scheduler,
      events: this.events,
      // only the leader ticks; a replica's migration is picked up by the leader's next rebuild
      rearmTicker: async (name) => (this.isLeader ? this.tickers.rearm(name) : false),
      exclusive: (name, fn) => this.exclusive(name, fn),
      resources: this.resources,
      sharedPaths: o.sharedPaths ?? [],
      addressMoving: (address, to) => this.clusterNetwork.addressMoving(address, to),
    });
    this.drains = new DrainService({
      state: this.state,
      nodes: this.registry,
      scheduler: this.scheduler,
      events: this.events,
      migrate: (req, onStep) => this.migrator.migrate(req, onStep),
      exclusive: (name, fn) => this.exclusive(name, fn),
      sharedPaths: this.o.sharedPaths ?? [],
      resources: this.resources,
      rearmTicker: async (name) => (this.isLeader ? this.tickers.rearm(name) : false),
    });
    // Leader duties (thesis 3.4.3): a new leader resumes every ticker, any
    // restore and any drain its predecessor left unfinished; a deposed one stops ticking.
    this.leaderHooks.onElected.push(async () => {
      await this.tickers.rebuild();
      await this.rescheduler.resume();
      await this.drains.resume();
    });
    this.leaderHooks.onDeposed.push(() => this.tickers.stopAll());
    this.leaderHooks.onHostFailed.push(async (node) => {
      await this.rescheduler.onHostFailed(node);
    });
    this.leaderHooks.onHostRecovered.push(async (node) => {
      await this.rescheduler.onHostReturned(node);
    });
    this.checkpoints = new CheckpointCommands({
      state: this.state,
      nodes: this.registry,
      events: this.events,
      exclusive: (name, fn) => this.exclusive(name, fn),
    });
    this.backend = new ClusterDockerBackend({
      state: this.state,
      nodes: this.registry,
      scheduler: this.scheduler,
      events: this.events,
      resources: this.resources,
      addresses: this.clusterNetwork.addresses,
      sharedPaths: o.sharedPaths ?? [],
      checkpointDir: o.dockerCheckpointDir,
      ...(o.clusterKey ? { archiveKey: o.clusterKey } : {}),
      strategyName: o.strategy ?? 'spread',
      activity: this.activity,
      containerRecords: () => this.containerMirror.get(),
      exclusive: (name, fn) => this.exclusive(name, fn),
      ...(o.staleMoveMs === undefined ? {} : { staleMoveMs: o.staleMoveMs }),
      ...(o.psFromReportsAbove === undefined ? {} : { psFromReportsAbove: o.psFromReportsAbove }),
      manager: () => ({ name: this.name, role: this.isLeader ? 'primary' : 'replica' }),
      onContainerChange: (name, what) => {
        if (!this.isLeader) return;
        // a failed store read must not end the process: the leader's ticker sync arms it a second later
        const failed = (e: unknown): void =>
          this.log.warn('ticker not updated; the next ticker sync retries', {
            container: name,
            error: errorMessage(e),
          });
        if (what === 'removed') void this.tickers.disarm(name).catch(failed);
        else if (what === 'created' || what === 'started') void this.tickers.arm(name).catch(failed);
      },
    });
  }

  static async start(o: ManagerOptions): Promise<Manager> {
    const m = new Manager(o);
    await m.listen();
    m.clusterNetwork.start();
    if (o.discovery) {
      m.poller = new DiscoveryPoller({
        discovery: o.discovery,
        tls: o.tls,
        accept: (hb) => m.acceptHeartbeat(hb),
        log: m.log.child('discovery'),
      });
      m.poller.start();
    }
    void m.campaign();
    return m;
  }

  get apiUrl(): string {
    const addr = this.apiServer?.address() as AddressInfo | undefined;
    return `https://${this.o.advertise ?? this.o.listen.host}:${addr?.port ?? this.o.listen.port}`;
  }

  get dockerUrl(): string {
    const d = this.o.docker;
    if ('socketPath' in d) return `unix://${d.socketPath}`;
    return `tcp://${this.docker?.host ?? d.host}:${this.docker?.port ?? d.port}`;
  }

  get isLeader(): boolean {
    return this.leadership?.isLeader === true;
  }

  /** One operation at a time per container (migration, restore, checkpoint). */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    while (this.busy.has(name)) await this.busy.get(name)!.catch(() => undefined);
    const p = fn();
    this.busy.set(name, p);
    try {
      return await p;
    } finally {
      this.busy.delete(name);
    }
  }

  private async listen(): Promise<void> {
    const forwarder = new LeaderForwarder({
      self: this.name,
      isLeader: () => this.isLeader,
      leader: () => this.leaderInfo(),
      tls: this.o.tls,
      log: this.log,
    });
    const router = lifeboatApiRouter(this, forwarder);
    // the leader's end of forwarding: replicas' Docker requests, manager certificates only
    const forwardedDocker = createDockerApiRouter({ backend: this.backend });
    router.mount(DOCKER_FORWARD_PREFIX, async (req, res, upgrade) => {
      if (authorizePeer(req, res, ['manager'])) await forwardedDocker.handle(req, res, upgrade);
      return true;
    });
    // certificates are checked per request (the router's guard): a joining host has none yet
    const server = https.createServer(serverTlsOptions(this.o.tls, { requireClientCert: 'per-request' }));
    router.attachTo(server as unknown as import('node:http').Server);
    this.apiClose = (await listenTracked(server, this.o.listen)).close;
    this.apiServer = server;
    const observe = (route: string, status: number, s: number): void =>
      this.metrics.observeRequest(route, status, s);
    this.docker = await startDockerApiServer({
      backend: this.backend,
      observe,
      intercept: forwarder.docker(),
      ...this.o.docker,
    });
    if (this.o.dockerTls) {
      this.dockerTls = await startDockerApiTlsServer({
        backend: this.backend,
        observe,
        intercept: forwarder.docker(),
        tls: this.o.dockerTls.tls,
        checkPeer: (peer) => this.certificates.refusal(peer),
        host: this.o.dockerTls.host,
        port: this.o.dockerTls.port,
      });
    }
    if (this.o.metricsListen) {
      const plain = new Router({ logger: this.log.child('metrics') });
      registerHealthRoutes(plain, this, '');
      this.metricsServer = await serve(plain, this.o.metricsListen);
    }
    if (this.o.forwardPorts) {
      this.ports = new PublishedPortForwarder({
        listenHost: this.o.forwardPorts,
        published: () => this.publishedPorts(),
        log: this.log.child('ports'),
      });
      this.ports.start();
      // a moved or restored container's ports follow it now, not at the next interval
      this.events.subscribe((e) => {
        if (e.type === 'migrate.done' || e.type === 'restore.done') this.ports?.kick();
      });
    }
    this.log.info('manager listening', {
      api: this.apiUrl,
      docker: this.dockerUrl,
      dockerTls: this.o.dockerTls ? `${this.o.dockerTls.host}:${this.o.dockerTls.port}` : undefined,
    });
  }

  /**
   * Ready to serve: the store answers (within a second) and a leader is
   * known. What a load balancer or watchdog asks (GET /readyz).
   */
  async readiness(): Promise<{
    ready: boolean;
    manager: string;
    leader?: string;
    store: string;
    reasons: string[];
  }> {
    const reasons: string[] = [];
    let leader: string | undefined;
    let store = 'ok';
    try {
      leader = (await withDeadline(this.leaderInfo(), 1000, 'the store did not answer within 1 s'))?.name;
      if (!leader) reasons.push('no leader is known');
    } catch (err) {
      store = errorMessage(err);
      reasons.push(`store: ${store}`);
    }
    return { ready: reasons.length === 0, manager: this.name, ...(leader ? { leader } : {}), store, reasons };
  }

  /**
   * Running containers' published TCP ports, on the host their record says
   * they run on. A move's record changes before the hosts' next reports do:
   * the source may still list the container, the target not yet. The record
   * decides the address, and the ports last seen stand in until the new
   * host reports them, so a client connecting right after a move reaches it.
   */
  private async publishedPorts(): Promise<PublishedPort[]> {
    const records = new Map((await this.state.containers()).map((r) => [r.name, r]));
    const healthy = await this.registry.healthy();
    const addressOf = new Map(healthy.map((n) => [n.report.name, n.report.address]));
    const seen = new Map<string, number[]>();
    /** Containers lifeboat has no record of: forwarded to the host that reports them. */
    const unrecorded = new Map<string, string>();
    for (const n of healthy)
      for (const c of n.report.containers) {
        const name = (c.Names[0] ?? '').replace(/^\//, '');
        const rec = records.get(name);
        if (c.State !== 'running' || (seen.has(name) && rec?.node !== n.report.name)) continue;
        const ports: number[] = [];
        for (const p of c.Ports ?? []) {
          if (p.protocol !== 'tcp' || !p.host_port) continue;
          const range = Math.max(1, (p as { range?: number }).range ?? 1);
          for (let i = 0; i < range; i++) ports.push(p.host_port + i);
        }
        seen.set(name, ports);
        if (!rec) unrecorded.set(name, n.report.address);
      }
    // kept while the record says it runs, or is moving or being restored
    const live = new Set<string | undefined>(['running', 'migrating', 'restoring']);
    for (const name of this.lastPorts.keys())
      if (!seen.has(name) && !live.has(records.get(name)?.phase)) this.lastPorts.delete(name);
    for (const [name, ports] of seen) this.lastPorts.set(name, ports);
    const out: PublishedPort[] = [];
    for (const [name, ports] of this.lastPorts) {
      const node = records.get(name)?.node;
      const address = node === undefined ? unrecorded.get(name) : addressOf.get(node);
      if (address) for (const port of ports) out.push({ port, address, container: name });
    }
    return out;
  }

  private async campaign(): Promise<void> {
    const value: LeaderValue = { name: this.name, apiUrl: this.apiUrl, dockerUrl: this.dockerUrl };
    while (!this.campaignAbort.signal.aborted) {
      try {
        const l = await this.store.campaign(ELECTION, this.name, JSON.stringify(value), {
          ttlSeconds: Math.max(1, Math.round(this.o.failureTimeoutMs / 2000)),
          signal: this.campaignAbort.signal,
        });
        this.leadership = l;
        this.events.emit('manager.leader', `manager ${this.name} leads the cluster`);
        const lost = new Promise<void>((resolve) => l.onLost(() => resolve()));
        await this.becomeLeader();
        await lost;
        this.events.emit('manager.deposed', `manager ${this.name} lost leadership`, { level: 'warn' });
        await this.stopLeading();
      } catch (err) {
        if (this.campaignAbort.signal.aborted) return;
        this.log.warn('campaign failed, retrying', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async becomeLeader(): Promise<void> {
    // Give agents one failure timeout to heartbeat to the new leader before
    // judging anyone: a manager failover must not look like host failures.
    const graceUntil = Date.now() + this.o.failureTimeoutMs;
    // resumed in the background: restores left by the old leader must not hold up failure detection
    void (async () => {
      for (const h of this.leaderHooks.onElected)
        await h().catch((e) => this.log.error('leader hook failed', { error: errorMessage(e) }));
    })();
    const tick = async (): Promise<void> => {
      if (!this.isLeader) return;
      try {
        // detect() refreshes the clients itself, from the same read
        if (Date.now() < graceUntil) await this.registry.refreshClients();
        else {
          const { failed, recovered, rebooted } = await this.registry.detect();
          // a hook that fails (the store unreachable for a while) is logged, never an unhandled
          // rejection: that ended the manager in the scale bench (retry passes pick the work up)
          const run = (
            hooks: ((node: string) => Promise<unknown>)[],
            hosts: NodeRecord[],
            failedMsg: string,
          ): void => {
            for (const r of hosts)
              for (const h of hooks)
                void h(r.report.name).catch((e) =>
                  this.log.warn(failedMsg, { node: r.report.name, error: errorMessage(e) }),
                );
          };
          run(
            this.leaderHooks.onHostFailed,
            failed,
            'restores after a host failure failed; the retry pass tries again',
          );
          run([(n) => this.rescheduler.onHostRebooted(n)], rebooted, 'restores after a host restart failed');
          run(this.leaderHooks.onHostRecovered, recovered, 'reconciling a returned host failed');
          // containers created or moved through a replica get their tickers from the leader
          if (Date.now() - this.lastRebuild >= 1000) {
            this.lastRebuild = Date.now();
            void this.syncTickers().catch((e) =>
              this.log.warn('ticker sync failed', { error: errorMessage(e) }),
            );
          }
          // moves a dead leader left unfinished: the record follows where the container runs
          if (!this.settling && Date.now() - this.lastSettle >= 5000) {
            this.lastSettle = Date.now();
            this.settling = settleStaleMoves(
              {
                state: this.state,
                nodes: this.registry,
                events: this.events,
                busy: (name) => this.busy.has(name),
                exclusive: (name, fn) => this.exclusive(name, fn),
              },
              this.o.staleMoveMs ?? DEFAULT_STALE_MOVE_MS,
            )
              .catch((e) => this.log.warn('settling interrupted moves failed', { error: errorMessage(e) }))
              .finally(() => (this.settling = undefined));
          }
          // containers no host could take at failure time are retried until one can
          if (!this.resuming && Date.now() - this.lastResume >= this.o.failureTimeoutMs) {
            this.lastResume = Date.now();
            this.resuming = this.rescheduler
              .resume()
              .catch((e) => this.log.warn('restore retry pass failed', { error: errorMessage(e) }))
              .finally(() => (this.resuming = undefined));
          }
        }
      } catch (err) {
        this.log.warn('failure detector pass failed', { error: errorMessage(err) });
      }
      this.leaderTimer = setTimeout(() => void tick(), Math.min(250, this.o.failureTimeoutMs / 4));
    };
    await tick();
  }

  /** Arms tickers of records this leader has not armed (created or moved through a replica), drops removed ones. */
  private async syncTickers(): Promise<void> {
    const records = await this.state.containers();
    const names = new Set(records.map((r) => r.name));
    for (const r of records) {
      if (
        r.ticker &&
        (!this.tickers.armed(r.name) ||
          this.tickers.status().some((t) => t.container === r.name && t.node !== r.node))
      ) {
        await this.tickers.arm(r);
      }
    }
    for (const t of this.tickers.status())
      if (!names.has(t.container)) await this.tickers.disarm(t.container);
  }

  private async stopLeading(): Promise<void> {
    if (this.leaderTimer) clearTimeout(this.leaderTimer);
    for (const h of this.leaderHooks.onDeposed) await h().catch(() => undefined);
  }

  async leaderInfo(): Promise<LeaderValue | undefined> {
    const v = await this.store.leader(ELECTION);
    return v ? (JSON.parse(v) as LeaderValue) : undefined;
  }

  /** Any replica accepts a heartbeat: it goes to the store, where the leader sees it. */
  async acceptHeartbeat(hb: HeartbeatRequest): Promise<HeartbeatResponse> {
    await this.registry.recordHeartbeat(hb.report, hb.apiUrl, hb.bootId, {
      // named in any state: the fence guard may have fenced while the agent still counted
      fenced: hb.fenced.length > 0,
      sentAt: hb.sentAt,
    });
    const mine = new Set(hb.report.containers.map((c) => (c.Names[0] ?? '').replace(/^\//, '')));
    // a record being moved may point elsewhere a moment before the copy here is the live one
    const runsElsewhere = (r: ContainerRecord): boolean =>
      mine.has(r.name) && r.node !== hb.report.name && r.phase !== 'migrating' && r.phase !== 'restoring';
    const elsewhere: string[] = [];
    for (const r of (await this.containerMirror.get()).filter(runsElsewhere)) {
      // the host removes what this names: the mirror may lag a move back here, the store decides
      const fresh = (await this.state.container(r.name))?.record;
      if (fresh && runsElsewhere(fresh)) elsewhere.push(r.name);
    }
    const leader = await this.heartbeatReads.leader.get().catch(() => undefined);
    const clusterNetwork = await this.clusterNetwork.planFor(hb.report.name);
    // the node API refuses them too: a revoked manager (or agent, on the peer endpoints) at its next call
    const revoked = (await this.certificates.listRevoked().catch(() => [])).map((r) => r.serial);
    return {
      accepted: true,
      ...(leader ? { leader: leader.name } : {}),
      failureTimeoutMs: this.o.failureTimeoutMs,
      elsewhere,
      ...(clusterNetwork ? { clusterNetwork } : {}),
      ...(revoked.length > 0 ? { revoked } : {}),
    };
  }

  /** The CA certificate this manager's identity chains to (the first of its trust bundle). */
  get caPem(): string {
    return firstCertificatePem(this.o.tls.caPem, "the manager's CA bundle") + '\n';
  }

  /**
   * `lifeboat node rm`: revokes every certificate the host has used, so its
   * next request anywhere is refused, and forgets the host once nothing is
   * left on it. A host that is up is removed only with `force`: it is then
   * cut off like a failed host (its agent fences it, its containers are
   * restored elsewhere, and its record goes on a later `rm`).
   */
  async removeNode(
    name: string,
    opts: { force: boolean; by: string },
  ): Promise<{
    name: string;
    revoked: { serial: string; role: string }[];
    recordRemoved: boolean;
    note?: string;
  }> {
    const rec = (await this.registry.all()).find((n) => n.report.name === name);
    const known = await this.certificates.known(name);
    if (rec === undefined && known.length === 0)
      throw new LifeboatError('no_such_node', `no host named ${name} in this cluster`, {
        status: 404,
        hint: '`lifeboat node ls` lists the hosts',
      });
    const up =
      rec !== undefined && rec.status !== 'failed' && this.registry.silentMs(name) < this.o.failureTimeoutMs;
    if (up && !opts.force)
      throw new LifeboatError(
        'node_is_up',
        `host ${name} is up (last heartbeat ${(this.registry.silentMs(name) / 1000).toFixed(1)} s ago)`,
        {
          status: 409,
          hint: `move its containers away first (lifeboat node drain ${name}) and stop its agent; or --force to cut it off now, as if it had failed`,
        },
      );
    const revoked = await this.certificates.revokeName(name, ['agent'], opts.by);
    const onIt = (await this.state.containers()).filter((c) => c.node === name).map((c) => c.name);
    let recordRemoved = false;
    let note: string | undefined;
    if (rec !== undefined && !up && onIt.length === 0) {
      await this.state.deleteNode(name);
      recordRemoved = true;
    } else if (rec !== undefined) {
      note = up
        ? `its heartbeats are refused from now on: it counts as failed after ${this.o.failureTimeoutMs / 1000} s and its containers are restored elsewhere; run \`lifeboat node rm ${name}\` again then to forget it`
        : `${onIt.length} container record(s) still name it (${onIt.slice(0, 5).join(', ')}): they are restored elsewhere first; run \`lifeboat node rm ${name}\` again then`;
    }
    this.events.emit(
      'node.remove',
      `removed host ${name}: ${revoked.length} certificate(s) revoked${recordRemoved ? ', record deleted' : ''}`,
      {
        node: name,
        level: 'warn',
        fields: { by: opts.by, force: opts.force },
      },
    );
    return {
      name,
      revoked: revoked.map((r) => ({ serial: r.serial, role: r.role })),
      recordRemoved,
      ...(note ? { note } : {}),
    };
  }

  async nodeSummaries(): Promise<unknown[]> {
    const healthyNodes = await this.registry.healthy();
    const healthy = new Set(healthyNodes.map((n) => n.report.name));
    const views = healthyNodes.map((n) => ({
      name: n.report.name,
      ...(n.report.store ? { sees: n.report.store.sees } : {}),
    }));
    return (await this.registry.all()).map((n) => ({
      name: n.report.name,
      address: n.report.address,
      status: healthy.has(n.report.name) ? 'healthy' : n.status === 'failed' ? 'failed' : 'unreachable',
      // as seen by this manager, on its own clock
      lastHeartbeatMsAgo: Math.round(this.registry.silentMs(n.report.name)),
      labels: n.report.labels,
      cpus: n.report.cpus,
      memoryBytes: n.report.memoryBytes,
      containers: n.report.containers.length,
      running: n.report.containers.filter((c) => c.State === 'running').length,
      capabilities: n.report.capabilities,
      apiUrl: n.apiUrl,
      availability: n.availability ?? 'active',
      ...(n.clockOffsetMs !== undefined ? { clockOffsetMs: n.clockOffsetMs } : {}),
      // the checkpoint store as shared with the other hosts (tickers refuse a private one)
      store: storeSharing(n.report.name, views),
    }));
  }

  /** lifeboat rebalance: a pack or spread plan over the cluster as it is, carried out unless a dry run. */
  async rebalance(
    mode: 'pack' | 'spread',
    opts: { dryRun?: boolean },
    onLine?: (o: unknown) => void,
  ): Promise<RebalanceOutcome> {
    return rebalance(
      {
        state: this.state,
        nodes: this.registry,
        events: this.events,
        ...(this.o.filters ? { filters: this.o.filters } : {}),
        sharedPaths: this.o.sharedPaths ?? [],
        migrate: (req) => this.migrator.migrate(req),
      },
      mode,
      opts,
      onLine,
    );
  }

  /** What the dashboard shows: hosts, and containers with their policy and newest checkpoint. */
  async overview(): Promise<{
    manager: string;
    leader?: string;
    time: string;
    nodes: unknown[];
    containers: unknown[];
  }> {
    const [nodes, records, leader] = await Promise.all([
      this.nodeSummaries(),
      this.state.containers(),
      this.leaderInfo().catch(() => undefined),
    ]);
    const containers = await Promise.all(
      records.map(async (r) => {
        const t = r.ticker ? await this.state.ticker(r.name).catch(() => undefined) : undefined;
        return {
          name: r.name,
          node: r.node,
          phase: r.phase,
          image: r.spec.image,
          generation: r.generation,
          ...(r.restorePolicy ? { restorePolicy: r.restorePolicy } : {}),
          ...(r.ticker ? { ticker: r.ticker } : {}),
          ...(r.note ? { note: r.note } : {}),
          ...(t
            ? {
                checkpoint: {
                  version: t.version,
                  group: t.group,
                  ...(t.lastCheckpointAt ? { lastCheckpointAt: t.lastCheckpointAt } : {}),
                },
              }
            : {}),
        };
      }),
    );
    return {
      manager: this.name,
      ...(leader ? { leader: leader.name } : {}),
      time: new Date().toISOString(),
      nodes,
      containers,
    };
  }

  async checkpointVersions(container: string): Promise<unknown> {
    const healthy = await this.registry.healthy();
    for (const n of healthy) {
      try {
        return await this.registry.client(n.report.name).listCheckpoints(container);
      } catch (err) {
        this.log.debug('listing checkpoints failed on a host', {
          node: n.report.name,
          error: errorMessage(err),
        });
      }
    }
    return [];
  }

  async stop(): Promise<void> {
    this.campaignAbort.abort();
    await this.ports?.close();
    await this.metricsServer?.close();
    await this.poller?.stop();
    await this.tickers.stopAll();
    if (this.leaderTimer) clearTimeout(this.leaderTimer);
    await this.leadership?.resign().catch(() => undefined);
    await this.docker?.close();
    await this.dockerTls?.close();
    await this.apiClose?.();
    await this.registry.close();
    await this.containerMirror.close();
    await this.certificates.close();
    await this.clusterNetwork.stop();
  }
}
