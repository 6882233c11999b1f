import { randomBytes } from 'node:crypto';
import { createReadStream, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { rewriteArchive, type HostPaths } from '../checkpoint/archive/index.ts';
import { packDirectory } from '../checkpoint/archive/pack-directory.ts';
import type {
  CheckpointGroup,
  CheckpointStore,
  CheckpointManifest,
  CheckpointRef,
} from '../checkpoint/store/index.ts';
import type { HostCapabilities } from '../engine/capabilities.ts';
import { ContainerNotFoundError, ImageNotFoundError, SOFT_DIRTY_MISSING } from '../engine/errors.ts';
import type { PodmanClient } from '../engine/podman-client.ts';
import type { CheckpointOptions, ContainerCreateSpec, RestoreResult } from '../engine/types.ts';
import type {
  MigrationOutcome,
  MigrationProgress,
  NodeClient,
  NodeReport,
  PeerDialer,
  PeerRef,
  PeerSource,
  PreparedMigration,
  PrepareMigrationRequest,
  RestoreOutcome,
  RestoreInPlaceOptions,
  RestoreRequest,
  TransferGrant,
  TransferMode,
} from '../node-api/node-client.ts';
import { PodmanNode } from '../node-api/podman-node.ts';
import { withDeadline } from '../util/deadline.ts';
import { errorMessage, LifeboatError } from '../util/errors.ts';
import { createLogger, type Logger } from '../util/log.ts';
import { NodeLabel } from '../scheduler/index.ts';
import { standardLabels } from './standard-labels.ts';
import { CheckpointSource } from './checkpoint-source.ts';
import { StoreMarkers } from './store-markers.ts';
import type { AgentMetrics } from './agent-metrics.ts';
import { killRestorePolicyContainers } from './fence-guard.ts';
import { gzipMBps } from './gzip-speed.ts';
import { MigrationTarget } from './migration-target.ts';
import { HostRoutes } from '../network/host-routes.ts';
import { HostNames } from '../network/host-names.ts';
import { HostLeases, type LeaseHolder } from '../network/host-leases.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CLUSTER_BRIDGE,
  CLUSTER_NETWORK,
  clusterAddressOf,
  type ClusterNetworkPlan,
} from '../network/cluster-network.ts';
import { IP_TAKEN, PreparedRestore, type PreparedContainer, type StagedArchive } from './prepared-restore.ts';
import type { HostCommand } from './rootfs-diff.ts';
import { checkSpoolSpace, spoolAndValidate } from './spool.ts';
import { TransferGrants } from './transfer-grants.ts';

const execFileAsync = promisify(execFile);

export interface NodeServiceOptions {
  name: string;
  address: string;
  labels?: Record<string, string>;
  podman: PodmanClient;
  /** This host's Podman paths and container cgroup parent: archives are rewritten to them. */
  hostPaths: HostPaths;
  /** Shared checkpoint store (tickers, failover); absent on a host without shared storage. */
  store?: CheckpointStore;
  /** Private directory for archives in transit (0700); on the file system of Podman's storage, so they move in by rename. */
  spoolDir: string;
  capabilities: HostCapabilities;
  /** How this agent reaches another one's source side (its certificate pinned to the peer's name). */
  peers?: PeerDialer;
  /** Runs a command in this host's mount namespace, where Podman mounts containers (default: as is). */
  inHost?: HostCommand;
  /**
   * Keep the cluster network's bridge and routes in this process's network
   * namespace (the agent on its host). Off by default: a NodeService in a
   * test process must not touch the machine's own routes.
   */
  clusterNetwork?: boolean;
  logger?: Logger;
}

/**
 * Everything an agent does for its host, independent of the transport: the
 * node API exposes these operations to managers, and its source side
 * (`peer`) to other agents holding a grant.
 */
export class NodeService extends PodmanNode implements NodeClient {
  readonly name: string;
  readonly address: string;
  readonly labels: Record<string, string>;
  readonly podman: PodmanClient;
  readonly hostPaths: HostPaths;
  readonly store: CheckpointStore | undefined;
  readonly capabilities: HostCapabilities;
  private readonly spoolDir: string;
  private readonly log: Logger;
  private readonly grants = new TransferGrants();
  /** Transfer mode each granted migration was prepared in. */
  private readonly plans = new Map<string, TransferMode>();
  private readonly source: CheckpointSource;
  private readonly restorer: PreparedRestore;
  private readonly target: MigrationTarget;
  /** The cluster network in this host's namespace: its bridge and the routes to other hosts' containers. */
  private readonly routes: HostRoutes | undefined;
  /** The other hosts' cluster-network containers in this host's DNS for the network. */
  private readonly names: HostNames | undefined;
  /** CNI's leases of cluster addresses on this host: a stale one is released before its address comes back. */
  private readonly leases: HostLeases | undefined;
  private readonly dumps = { started: 0, running: 0 };
  /** Set by the agent (agent-metrics.ts); undefined where nobody scrapes (tests). */
  metrics: AgentMetrics | undefined;

  constructor(opts: NodeServiceOptions) {
    super();
    this.name = opts.name;
    this.address = opts.address;
    this.labels = { ...standardLabels(), ...opts.labels };
    this.podman = opts.podman;
    this.hostPaths = opts.hostPaths;
    this.store = opts.store;
    this.spoolDir = opts.spoolDir;
    this.capabilities = opts.capabilities;
    this.log = opts.logger ?? createLogger(`agent/${opts.name}`);
    this.source = new CheckpointSource(this.podman, this.log, opts.inHost);
    this.restorer = new PreparedRestore(this.podman, this.hostPaths, this.spoolDir, this.log);
    this.routes = opts.clusterNetwork ? new HostRoutes(this.log.child('network')) : undefined;
    this.names = opts.clusterNetwork ? new HostNames(this.log.child('network')) : undefined;
    this.leases = opts.clusterNetwork ? new HostLeases(this.log.child('network')) : undefined;
    if (this.routes)
      this.routes.routed = async (ips) => {
        await this.forgetNeighbours(ips);
        // the moved container's old network namespace here may answer for its address until its copy is
        // removed (a moment after the restore elsewhere): forget again once that is done
        for (const ms of [1000, 3000])
          setTimeout(() => void this.forgetNeighbours(ips).catch(() => undefined), ms).unref();
      };
    const peers = opts.peers;
    const routes = this.routes;
    this.target = new MigrationTarget({
      restorer: this.restorer,
      ...(routes
        ? {
            addressHold: {
              hold: (ip) => routes.hold(ip),
              release: async (ip, id) => {
                const mac = (await this.podman.inspectContainer(id)).NetworkSettings.Networks?.[
                  CLUSTER_NETWORK
                ]?.MacAddress;
                if (!mac) throw new Error(`the restored container has no MAC on ${CLUSTER_NETWORK}`);
                await routes.release(ip, mac);
              },
              unhold: (ip) => routes.unhold(ip),
            },
          }
        : {}),
      restoreArchive: (input, o) => this.restoreArchive(input, o),
      dial: (ref) => {
        if (!peers)
          throw new LifeboatError('no_peers', `host ${this.name} cannot reach other agents`, {
            hint: 'the agent needs its certificate to dial peers (lifeboat agent --pki)',
          });
        return peers(ref);
      },
      log: this.log,
    });
  }

  private lastReport: NodeReport | undefined;
  private reportInFlight: Promise<NodeReport> | undefined;

  /**
   * The report for a heartbeat: fresh when Podman answers within `maxWaitMs`,
   * else the last one. Podman holds container locks during a checkpoint or
   * restore for seconds; a heartbeat must not wait for that, or a busy host
   * looks dead and its containers get restored a second time elsewhere.
   */
  async heartbeatReport(maxWaitMs = 500): Promise<NodeReport> {
    this.reportInFlight ??= this.report()
      .then((r) => (this.lastReport = r))
      .finally(() => (this.reportInFlight = undefined));
    if (!this.lastReport) return this.reportInFlight;
    const fresh = await Promise.race([
      this.reportInFlight.catch(() => undefined),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), maxWaitMs).unref()),
    ]);
    return fresh ?? this.lastReport;
  }

  private paused: ReadonlySet<string> = new Set();
  /** Podman's storage driver, asked once: the `storagedriver` label classic Swarm's engines had. */
  private storageDriver: Promise<string | undefined> | undefined;

  private async labelsNow(): Promise<Record<string, string>> {
    this.storageDriver ??= Promise.resolve()
      .then(() => this.podman.info())
      .then((i) => {
        const d = (i['store'] as { graphDriverName?: unknown } | undefined)?.graphDriverName;
        return typeof d === 'string' && d !== '' ? d : undefined;
      })
      .catch(() => {
        this.storageDriver = undefined; // asked again with the next report
        return undefined;
      });
    const driver = await this.storageDriver;
    // an operator's --label of the same name wins
    return driver ? { [NodeLabel.storageDriver]: driver, ...this.labels } : this.labels;
  }

  async report(): Promise<NodeReport> {
    const [containers, images] = await Promise.all([
      this.podman.listContainers({ all: true }),
      this.podman.listImages(),
    ]);
    this.paused = new Set(containers.filter((c) => c.State === 'paused').map((c) => c.Id));
    return {
      name: this.name,
      address: this.address,
      labels: await this.labelsNow(),
      cpus: cpus().length,
      memoryBytes: totalmem(),
      containers,
      capabilities: {
        canCheckpoint: this.capabilities.canCheckpoint,
        canPreDump: this.capabilities.canPreDump,
        softDirty: this.capabilities.softDirty.detail,
        criu: this.capabilities.criu.version,
      },
      images: images.map((i) => ({ id: i.Id, names: i.RepoTags ?? [] })),
      ...(this.store ? { store: await this.storeView() } : {}),
    };
  }

  private markers: StoreMarkers | undefined;

  /** Which hosts' markers the checkpoint store shows (writing this host's own). */
  private async storeView(): Promise<{ sees: string[]; error?: string }> {
    this.markers ??= new StoreMarkers(this.store!.root, this.name, randomBytes(8).toString('hex'));
    try {
      return { sees: await this.markers.sees() };
    } catch (err) {
      return { sees: [], error: errorMessage(err) };
    }
  }

  /** Creates a container under this host's cgroup parent (so a power loss takes it too). */
  async create(spec: ContainerCreateSpec): Promise<string> {
    const ip = clusterAddressOf(spec);
    if (ip) await this.claimAddress(ip);
    return this.podman.createContainer({ ...spec, cgroupParent: this.hostPaths.cgroupParent });
  }

  /**
   * A cluster address becomes this host's: routed here from now on, and
   * free in this host's IPAM unless a live container holds it.
   */
  private async claimAddress(ip: string): Promise<void> {
    await this.routes?.claim(ip);
    await this.leases?.releaseStale(ip, (id) => this.leaseHolder(id));
  }

  private async leaseHolder(id: string): Promise<LeaseHolder> {
    try {
      const c = await this.podman.inspectContainer(id);
      return c.State.Running || c.State.Paused ? 'live' : 'gone';
    } catch (err) {
      return err instanceof ContainerNotFoundError ? 'gone' : 'unknown';
    }
  }

  /**
   * An address now routed to another host may still sit in the neighbour
   * cache of this host's containers, with the MAC it kept when it moved: they
   * would keep sending to a MAC that left. Each entry goes, and the next
   * packet asks again (the bridge answers by proxy ARP).
   */
  private async forgetNeighbours(ips: string[]): Promise<void> {
    // netlink, not /sys: a host's sysfs may be another namespace's
    const link = JSON.parse(
      (await execFileAsync('ip', ['-j', 'link', 'show', CLUSTER_BRIDGE]).then((r) => r.stdout)) || '[]',
    ) as { address?: string }[];
    const bridgeMac = link[0]?.address;
    if (!bridgeMac) return;
    const here = await this.podman.listContainers({ all: false, filters: { network: [CLUSTER_NETWORK] } });
    for (const c of here) {
      if (!c.Pid) continue;
      const inside = (args: string[]): Promise<string> =>
        execFileAsync('nsenter', [`--net=/proc/${c.Pid}/ns/net`, 'ip', ...args]).then((r) => r.stdout);
      for (const ip of ips) {
        // only an entry that names another MAC than the bridge's: one being resolved, or already right, stays
        const entries = JSON.parse(
          (await inside(['-j', 'neigh', 'show', 'to', ip]).catch(() => '')) || '[]',
        ) as {
          dev: string;
          lladdr?: string;
        }[];
        for (const e of entries)
          if (e.lladdr && e.lladdr !== bridgeMac)
            await inside(['neigh', 'del', ip, 'dev', e.dev]).catch(() => undefined);
      }
    }
  }

  /** The managers' cluster network plan (every heartbeat answer): the bridge, and routes to the other hosts' containers. */
  async applyClusterNetwork(plan: ClusterNetworkPlan): Promise<void> {
    await this.routes?.apply(plan, { bridge: true });
    if (plan.names) await this.names?.apply(plan.names);
  }

  async listCheckpoints(key: string): Promise<CheckpointGroup[]> {
    return this.requireStore().list(key);
  }

  async deleteCheckpointGroup(key: string, group: number): Promise<void> {
    await this.requireStore().removeGroup(key, group);
  }

  async deleteCheckpoints(key: string): Promise<void> {
    await this.requireStore().removeContainer(key);
  }

  async restoreInPlace(name: string, opts: RestoreInPlaceOptions = {}): Promise<void> {
    const { clusterAddress, ...restore } = opts;
    if (clusterAddress) await this.claimAddress(clusterAddress);
    await this.criu(() => this.podman.restore(name, { ...restore, keep: false }));
  }

  async preDump(name: string): Promise<void> {
    await this.criu(() => this.podman.checkpoint(name, { preCheckpoint: true, keep: true }));
  }

  /** Streams a checkpoint archive of a container (kept by a manager: `docker checkpoint create`). */
  async checkpointStream(name: string, opts: CheckpointOptions): Promise<Readable> {
    return this.criu(() => this.podman.checkpointExport(name, opts));
  }

  /**
   * Ready to run containers: Podman answers within a second, and CRIU
   * passed its check (else checkpoints and migrations from here fail).
   */
  async readiness(): Promise<{
    ready: boolean;
    node: string;
    podman: string;
    criu: string;
    reasons: string[];
  }> {
    const reasons: string[] = [];
    let podman = 'ok';
    try {
      podman = `podman ${(await withDeadline(this.podman.version(), 1000, 'Podman')).Version}`;
    } catch (err) {
      podman = errorMessage(err);
      reasons.push(`podman: ${podman}`);
    }
    const criu = this.capabilities.canCheckpoint ? 'ok' : this.capabilities.criu.check.detail;
    if (!this.capabilities.canCheckpoint) reasons.push(`criu: ${criu}`);
    return { ready: reasons.length === 0, node: this.name, podman, criu, reasons };
  }

  /** Containers Podman reported paused at the last report (frozen on purpose: FrozenWatch leaves them). */
  pausedContainers(): ReadonlySet<string> {
    return this.paused;
  }

  /** CRIU dumps and restores started by this agent and running now: a container frozen meanwhile may be theirs. */
  dumpActivity(): { started: number; running: number } {
    return { ...this.dumps };
  }

  /** A CRIU dump or restore (the container's cgroup may be frozen while it runs), counted for FrozenWatch. */
  private async criu<T>(fn: () => Promise<T>): Promise<T> {
    this.dumps.started++;
    this.dumps.running++;
    try {
      return await fn();
    } finally {
      this.dumps.running--;
    }
  }

  /**
   * Dumps a container into the shared checkpoint store as one version
   * (Algorithm 1, line 9). The archive is checked on the way (it must be a
   * valid checkpoint before it counts as a version) and CRIU's statistics go
   * into the manifest.
   */
  async checkpointToStore(
    name: string,
    key: string,
    ref: CheckpointRef,
    opts: CheckpointOptions,
  ): Promise<{ manifest: CheckpointManifest; timings: { dumpMs: number; storeMs: number } }> {
    const store = this.requireStore();
    // room first: a version that cannot be stored is refused before anyone is frozen
    const expected = await store.newestVersionBytes(key);
    await store.checkSpace(key, expected);
    await checkSpoolSpace(this.spoolDir, expected);
    const t0 = Date.now();
    let spooled;
    try {
      spooled = await spoolAndValidate(
        await this.criu(() => this.podman.checkpointExport(name, opts)),
        this.spoolDir,
      );
    } catch (err) {
      this.metrics?.dumps.inc({ outcome: 'failed' });
      throw err;
    }
    const t1 = Date.now();
    this.metrics?.dumps.inc({ outcome: 'ok' });
    this.metrics?.dumpSeconds.observe((t1 - t0) / 1000);
    try {
      const s = spooled.info.dumpStats;
      const criu: Record<string, number> = {};
      if (s?.frozenTimeUs !== undefined) criu['frozen_time_us'] = s.frozenTimeUs;
      if (s?.freezingTimeUs !== undefined) criu['freezing_time_us'] = s.freezingTimeUs;
      if (s?.memdumpTimeUs !== undefined) criu['memdump_time_us'] = s.memdumpTimeUs;
      if (s?.memwriteTimeUs !== undefined) criu['memwrite_time_us'] = s.memwriteTimeUs;
      if (s?.pagesWritten !== undefined) criu['pages_written'] = s.pagesWritten;
      const manifest = await store.write(key, ref, createReadStream(spooled.path), {
        node: this.name,
        kind: 'full',
        criu,
        ...(this.capabilities.canPreDump
          ? {}
          : { note: `full dump: pre-dump skipped, ${SOFT_DIRTY_MISSING}` }),
      });
      return { manifest, timings: { dumpMs: t1 - t0, storeMs: Date.now() - t1 } };
    } finally {
      spooled.remove();
    }
  }

  async restoreFromStream(
    input: Readable | AsyncIterable<Uint8Array>,
    opts: RestoreRequest = {},
  ): Promise<RestoreOutcome> {
    return this.criu(() => this.restoreArchive(input, opts));
  }

  /** Restores one stored version (Algorithm 2, line 12); integrity is checked before Podman sees a byte. */
  async restoreFromStore(
    key: string,
    ref: CheckpointRef,
    opts: RestoreRequest = {},
  ): Promise<RestoreOutcome> {
    // checked as it streams: nothing reaches Podman before the whole version passed
    const archive = await this.requireStore().openChecked(key, ref);
    return this.criu(() => this.restoreArchive(archive, opts));
  }

  /**
   * Restores a whole archive: unpacked and checked into a private staging
   * directory as it arrives, then, if nothing was refused, restored into a
   * container created from its configuration (PreparedRestore); Podman's
   * import takes what that path cannot carry (named volumes, another name,
   * a storage driver other than overlay).
   */
  async restoreArchive(
    input: Readable | AsyncIterable<Uint8Array>,
    opts: RestoreRequest = {},
  ): Promise<RestoreOutcome> {
    const t0 = Date.now();
    if (opts.clusterAddress) {
      // the address is this host's from now on, and the container gets it or nothing
      await this.claimAddress(opts.clusterAddress);
      opts = { ...opts, ignoreStaticIp: false };
    }
    const supported = opts.name === undefined ? await this.restorer.supported() : { ok: false };
    // the container is created from the configuration while the memory pages still stream in
    let creating: Promise<PreparedContainer> | undefined;
    const onConfig = (c: { configDump: Buffer; specDump: Buffer }): void => {
      if (hasNamedVolumes(c.configDump)) return;
      creating = this.restorer.create(c.configDump, c.specDump);
      creating.catch(() => undefined);
    };
    let staged: StagedArchive;
    try {
      staged = await this.restorer.stage(input, supported.ok ? onConfig : undefined);
    } catch (err) {
      if (creating) await creating.then((c) => this.restorer.discard(c)).catch(() => undefined);
      throw err;
    }
    const receiveMs = Date.now() - t0;
    try {
      const info = staged.info;
      if (info.kind !== 'checkpoint') {
        throw new LifeboatError(
          'archive_not_restorable',
          'a pre-checkpoint archive cannot be restored by itself',
          {
            status: 400,
          },
        );
      }
      if (info.imageId && !(await this.podman.imageExists(info.imageId))) {
        throw new ImageNotFoundError(
          `restore ${info.containerName} on ${this.name}`,
          `image ${info.imageName ?? ''} (ID ${info.imageId.slice(0, 12)}) is not on this host`,
        );
      }
      const t1 = Date.now();
      let result: RestoreResult;
      let addressKept: boolean;
      let mode: TransferMode = 'prepared';
      if (creating && info.volumes.length === 0) {
        const c = await creating;
        try {
          this.restorer.place(c, staged);
          ({ result, addressKept } = await this.restorer.restore(c, {
            tcpEstablished: opts.tcpEstablished ?? info.tcpEstablished,
            ...(opts.ignoreStaticIp === undefined ? {} : { ignoreStaticIp: opts.ignoreStaticIp }),
          }));
        } catch (err) {
          await this.restorer.discard(c).catch(() => undefined);
          throw err;
        }
      } else {
        if (creating) await creating.then((c) => this.restorer.discard(c)).catch(() => undefined);
        mode = 'import';
        ({ result, addressKept } = await this.importStaged(staged, opts));
      }
      const restoreMs = Date.now() - t1;
      this.log.info('restored container', {
        container: info.containerName,
        mode,
        bytes: info.archiveBytes,
        receiveMs,
        restoreMs,
      });
      return {
        id: result.id,
        name: opts.name ?? info.containerName,
        info,
        stats: result.stats,
        timings: { receiveMs, restoreMs },
        bytes: info.archiveBytes,
        mode,
        addressKept,
      };
    } catch (err) {
      if (creating) await creating.then((c) => this.restorer.discard(c)).catch(() => undefined);
      throw err;
    } finally {
      this.restorer.drop(staged);
    }
  }

  /** Podman's import of a staged archive, rewritten for this host on the way in. */
  private async importStaged(
    staged: StagedArchive,
    opts: RestoreRequest,
  ): Promise<{ result: RestoreResult; addressKept: boolean }> {
    const info = staged.info;
    const name = opts.name ?? info.containerName;
    // Established TCP connections can only come back on the container's old
    // address: keep it when this host has it free; else take a new one.
    const attempts = opts.ignoreStaticIp === undefined ? [false, true] : [opts.ignoreStaticIp];
    for (const [i, ignoreIp] of attempts.entries()) {
      const rewritten = rewriteArchive(
        packDirectory(staged.dir, readdirSync(staged.dir).sort()),
        this.hostPaths,
        {
          source: { runroot: info.runroot, graphroot: info.graphroot, cgroupParent: info.cgroupParent },
        },
      );
      const restored = this.podman.restoreImport(rewritten.output, {
        ...(opts.name ? { name: opts.name } : {}),
        cleanupName: name,
        tcpEstablished: opts.tcpEstablished ?? info.tcpEstablished,
        ignoreStaticIp: ignoreIp,
        ignoreStaticMac: opts.ignoreStaticMac ?? ignoreIp,
        printStats: true,
      });
      try {
        const [result] = await Promise.all([restored, rewritten.info]);
        return { result, addressKept: !ignoreIp };
      } catch (err) {
        rewritten.output.destroy();
        if (i === attempts.length - 1 || !IP_TAKEN.test(String(err))) throw err;
        this.log.info("the container's address is taken here: restoring with a new one", {
          container: name,
          error: String(err),
        });
      }
    }
    throw new LifeboatError('restore_failed', `restore of ${name} produced no container`);
  }

  // ---------------------------------------------------------------- agent to agent

  async grantTransfer(grant: TransferGrant): Promise<void> {
    this.grants.accept(grant);
    this.log.info('transfer granted', { kind: grant.kind, subject: grant.subject, to: grant.target });
  }

  async prepareMigration(req: PrepareMigrationRequest): Promise<PreparedMigration> {
    if (req.clusterAddress) await this.claimAddress(req.clusterAddress);
    return this.target.prepare(req);
  }

  async completeMigration(
    grant: string,
    opts: { onProgress?: (p: MigrationProgress) => void; signal?: AbortSignal } = {},
  ): Promise<MigrationOutcome> {
    const out = await this.criu(() => this.target.complete(grant, opts));
    this.metrics?.bytes.inc({ direction: 'received', kind: 'migration' }, out.wireBytes ?? 0);
    return out;
  }

  async discardMigration(grant: string): Promise<void> {
    await this.target.discard(grant);
  }

  async pullImage(req: { grant: string; source: PeerRef; image: string }): Promise<{ names: string[] }> {
    const peer = this.target.dialer(req.source);
    const names = await this.podman.loadImage(await peer.imageArchive(req.grant));
    this.log.info('image pulled from a peer', {
      image: req.image,
      from: req.source.name,
      names: names.join(','),
    });
    return { names };
  }

  /**
   * This host's source side as the agent `caller` (the name its certificate
   * carries) may use it: only under a grant a manager gave for that caller.
   */
  peer(caller: string): PeerSource {
    return {
      prepareCheckpoint: async (id) => {
        const g = this.grants.use(id, caller, 'prepare');
        // plans of moves whose grants expired unused go with them
        for (const planned of this.plans.keys()) if (!this.grants.holds(planned)) this.plans.delete(planned);
        const plan = await this.source.prepare(g.subject);
        this.plans.set(id, plan.mode);
        return { ...plan, gzipMBps: gzipMBps() };
      },
      dumpCheckpoint: async (id, o) => {
        const g = this.grants.use(id, caller, 'dump');
        const planned = this.plans.get(id);
        this.plans.delete(id);
        if (planned === undefined)
          throw new LifeboatError('not_prepared', 'dump before prepare', { status: 409 });
        if (planned === 'import' && o.mode === 'prepared')
          throw new LifeboatError('bad_mode', `${g.subject} can only move by Podman's export here`, {
            status: 409,
          });
        this.log.info('dumping for a peer', {
          container: g.subject,
          to: caller,
          mode: o.mode,
          compression: o.compression,
        });
        const { archive, dumpMs } = await this.criu(() =>
          this.source.dump(g.subject, o.mode, { tcpEstablished: true }),
        );
        if (o.compression === 'none') return { archive, dumpMs };
        const gz = createGzip({ level: 1, chunkSize: 1 << 20 });
        archive.on('error', (err) => gz.destroy(err));
        return { archive: archive.pipe(gz), dumpMs };
      },
      imageArchive: async (id) => {
        const g = this.grants.use(id, caller, 'image');
        return this.podman.saveImage(g.subject);
      },
      probe: async (id, bytes) => {
        this.grants.peek(id, caller);
        return Readable.from(randomChunks(Math.min(bytes, 64 << 20)));
      },
    };
  }

  /**
   * Stops every container with a restore policy: the managers have lost this
   * host and will restore them elsewhere. Returns the names stopped.
   */
  async fence(reason: string): Promise<string[]> {
    const stopped = await killRestorePolicyContainers(this.podman, this.log, reason);
    this.metrics?.fences.inc();
    return stopped;
  }

  /**
   * After reconnecting, removes local copies of containers the cluster now
   * runs elsewhere (`elsewhere`: names the manager places on other hosts).
   */
  async reconcile(elsewhere: ReadonlySet<string>, seen?: ReadonlyMap<string, string>): Promise<string[]> {
    const removed: string[] = [];
    for (const c of await this.podman.listContainers({ all: true })) {
      const name = c.Names[0] ?? c.Id;
      if (!elsewhere.has(name)) continue;
      const saw = seen?.get(name);
      if (saw !== undefined && !c.Id.startsWith(saw)) {
        this.log.info('reconcile: keeping a copy created here since the listing the request was based on', {
          container: name,
          id: c.Id.slice(0, 12),
          listed: saw.slice(0, 12),
        });
        continue;
      }
      this.log.warn('reconcile: removing stale copy, the container lives on another host now', {
        container: name,
      });
      // by ID: a copy of the same name created meanwhile is not this one
      await this.podman.removeContainer(c.Id, { force: true, volumes: true }).catch(() => undefined);
      removed.push(name);
    }
    return removed;
  }

  private requireStore(): CheckpointStore {
    if (!this.store) {
      throw new LifeboatError('no_checkpoint_store', `host ${this.name} has no shared checkpoint store`, {
        status: 409,
        hint: 'start the agent with --checkpoint-dir pointing at the shared storage',
      });
    }
    return this.store;
  }
}

function* randomChunks(bytes: number): Generator<Buffer> {
  for (let left = bytes; left > 0; left -= 1 << 20) yield randomBytes(Math.min(left, 1 << 20));
}

/** libpod's config.dump lists the container's named volumes; their content travels only with Podman's import. */
function hasNamedVolumes(configDump: Buffer): boolean {
  try {
    const cfg = JSON.parse(configDump.toString('utf8')) as { namedVolumes?: unknown };
    return Array.isArray(cfg.namedVolumes) && cfg.namedVolumes.length > 0;
  } catch {
    return false;
  }
}
