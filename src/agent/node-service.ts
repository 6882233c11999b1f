import { createReadStream } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { Readable } from 'node:stream';
import { rewriteArchive, type HostPaths } from '../checkpoint/archive/index.ts';
import type {
  CheckpointGroup,
  CheckpointStore,
  CheckpointManifest,
  CheckpointRef,
} from '../checkpoint/store/index.ts';
import type { HostCapabilities } from '../engine/capabilities.ts';
import { ImageNotFoundError, SOFT_DIRTY_MISSING } from '../engine/errors.ts';
import type { PodmanClient } from '../engine/podman-client.ts';
import type {
  CheckpointOptions,
  ContainerCreateSpec,
  ContainerInspect,
  RestoreResult,
} from '../engine/types.ts';
import { restorePolicyOf } from '../policy/labels.ts';
import { LifeboatError } from '../util/errors.ts';
import { createLogger, type Logger } from '../util/log.ts';
import type { NodeClient, NodeReport, RestoreOutcome, RestoreRequest } from '../node-api/node-client.ts';
import { spoolAndValidate } from './spool.ts';

export interface NodeServiceOptions {
  name: string;
  address: string;
  labels?: Record<string, string>;
  podman: PodmanClient;
  /** This host's Podman paths and container cgroup parent: archives are rewritten to them. */
  hostPaths: HostPaths;
  /** Shared checkpoint store (tickers, failover); absent on a host without shared storage. */
  store?: CheckpointStore;
  /** Private directory for archives in transit (0700). */
  spoolDir: string;
  capabilities: HostCapabilities;
  logger?: Logger;
}

/**
 * Everything an agent does for its host, independent of the transport: the
 * node API exposes these operations to managers.
 */
export class NodeService implements NodeClient {
  readonly name: string;
  readonly address: string;
  readonly labels: Record<string, string>;
  readonly podman: PodmanClient;
  readonly hostPaths: HostPaths;
  readonly store: CheckpointStore | undefined;
  readonly capabilities: HostCapabilities;
  private readonly spoolDir: string;
  private readonly log: Logger;

  constructor(opts: NodeServiceOptions) {
    this.name = opts.name;
    this.address = opts.address;
    this.labels = opts.labels ?? {};
    this.podman = opts.podman;
    this.hostPaths = opts.hostPaths;
    this.store = opts.store;
    this.spoolDir = opts.spoolDir;
    this.capabilities = opts.capabilities;
    this.log = opts.logger ?? createLogger(`agent/${opts.name}`);
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

  async report(): Promise<NodeReport> {
    const [containers, images] = await Promise.all([
      this.podman.listContainers({ all: true }),
      this.podman.listImages(),
    ]);
    return {
      name: this.name,
      address: this.address,
      labels: this.labels,
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
    };
  }

  /** Creates a container under this host's cgroup parent (so a power loss takes it too). */
  async create(spec: ContainerCreateSpec): Promise<string> {
    return this.podman.createContainer({ ...spec, cgroupParent: this.hostPaths.cgroupParent });
  }

  async start(name: string): Promise<void> {
    await this.podman.startContainer(name);
  }

  async stop(name: string, timeoutSeconds = 10): Promise<void> {
    await this.podman.stopContainer(name, timeoutSeconds);
  }

  async kill(name: string, signal = 'SIGKILL'): Promise<void> {
    await this.podman.killContainer(name, signal);
  }

  async remove(name: string, force = false): Promise<void> {
    await this.podman.removeContainer(name, { force, volumes: true });
  }

  async inspect(name: string): Promise<ContainerInspect> {
    return this.podman.inspectContainer(name);
  }

  async logs(
    name: string,
    opts: { follow?: boolean; tail?: number | 'all'; timestamps?: boolean },
  ): Promise<Readable> {
    return this.podman.logs(name, opts);
  }

  async wait(name: string, condition = 'stopped'): Promise<number> {
    return this.podman.wait(name, condition);
  }

  async imageExists(ref: string): Promise<boolean> {
    return this.podman.imageExists(ref);
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

  async restoreInPlace(name: string, opts: { tcpEstablished?: boolean } = {}): Promise<void> {
    await this.podman.restore(name, { ...opts, keep: false });
  }

  async preDump(name: string): Promise<void> {
    await this.podman.checkpoint(name, { preCheckpoint: true, keep: true });
  }

  /** Streams a checkpoint archive of a container (migration by stream). */
  async checkpointStream(name: string, opts: CheckpointOptions): Promise<Readable> {
    return this.podman.checkpointExport(name, opts);
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
    const t0 = Date.now();
    const spooled = await spoolAndValidate(await this.podman.checkpointExport(name, opts), this.spoolDir);
    const t1 = Date.now();
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

  /**
   * Restores a container from an archive stream: receive into a private spool
   * while validating, check the image is here with the archive's ID, rewrite
   * the host-specific paths for this host, then hand it to Podman.
   */
  async restoreFromStream(
    input: Readable | AsyncIterable<Uint8Array>,
    opts: {
      name?: string;
      tcpEstablished?: boolean;
      ignoreStaticIp?: boolean;
      ignoreStaticMac?: boolean;
    } = {},
  ): Promise<RestoreOutcome> {
    const t0 = Date.now();
    const spooled = await spoolAndValidate(input, this.spoolDir);
    const receiveMs = Date.now() - t0;
    try {
      const info = spooled.info;
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
      const name = opts.name ?? info.containerName;
      // Established TCP connections can only come back on the container's old
      // address: keep it when this host has it free; else take a new one
      // (fine without open connections; CRIU says so otherwise).
      const attempts = opts.ignoreStaticIp === undefined ? [false, true] : [opts.ignoreStaticIp];
      let result: RestoreResult | undefined;
      for (const [i, ignoreIp] of attempts.entries()) {
        const rewritten = rewriteArchive(createReadStream(spooled.path), this.hostPaths, {
          source: { runroot: info.runroot, graphroot: info.graphroot, cgroupParent: info.cgroupParent },
        });
        const restored = this.podman.restoreImport(rewritten.output, {
          ...(opts.name ? { name: opts.name } : {}),
          cleanupName: name,
          tcpEstablished: opts.tcpEstablished ?? info.tcpEstablished,
          ignoreStaticIp: ignoreIp,
          ignoreStaticMac: opts.ignoreStaticMac ?? ignoreIp,
          printStats: true,
        });
        try {
          [result] = await Promise.all([restored, rewritten.info]);
          break;
        } catch (err) {
          rewritten.output.destroy();
          const last = i === attempts.length - 1;
          if (
            last ||
            !/IP address|not available|already (in use|allocated)|address in use|IPAM|ip .*allocat/i.test(
              String(err),
            )
          )
            throw err;
          this.log.info("the container's address is taken here: restoring with a new one", {
            container: name,
            error: String(err),
          });
        }
      }
      if (!result) throw new LifeboatError('restore_failed', `restore of ${name} produced no container`);
      const restoreMs = Date.now() - t1;
      this.log.info('restored container', { container: name, bytes: spooled.bytes, receiveMs, restoreMs });
      return {
        id: result.id,
        name,
        info,
        stats: result.stats,
        timings: { receiveMs, restoreMs },
        bytes: spooled.bytes,
      };
    } finally {
      spooled.remove();
    }
  }

  /** Restores one stored version (Algorithm 2, line 12); integrity is checked before Podman sees a byte. */
  async restoreFromStore(
    key: string,
    ref: CheckpointRef,
    opts: RestoreRequest = {},
  ): Promise<RestoreOutcome> {
    const store = this.requireStore();
    const plain = await store.open(key, ref);
    return this.restoreFromStream(plain, opts);
  }

  async imageArchive(ref: string): Promise<Readable> {
    return this.podman.saveImage(ref);
  }

  async loadImage(archive: Readable): Promise<string[]> {
    return this.podman.loadImage(archive);
  }

  /**
   * Stops every container with a restore policy: the managers have lost this
   * host and will restore them elsewhere. Returns the names stopped.
   */
  async fence(reason: string): Promise<string[]> {
    const stopped: string[] = [];
    for (const c of await this.podman.listContainers({ all: false })) {
      let policy;
      try {
        policy = restorePolicyOf(c.Labels);
      } catch {
        policy = undefined;
      }
      if (!policy) continue;
      const name = c.Names[0] ?? c.Id;
      this.log.warn('fencing: stopping container that will be restored elsewhere', {
        container: name,
        policy,
        reason,
      });
      await this.podman.killContainer(name).catch(() => undefined);
      stopped.push(name);
    }
    return stopped;
  }

  /**
   * After reconnecting, removes local copies of containers the cluster now
   * runs elsewhere (`elsewhere`: names the manager places on other hosts).
   */
  async reconcile(elsewhere: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const c of await this.podman.listContainers({ all: true })) {
      const name = c.Names[0] ?? c.Id;
      if (!elsewhere.has(name)) continue;
      this.log.warn('reconcile: removing stale copy, the container lives on another host now', {
        container: name,
      });
      await this.podman.removeContainer(name, { force: true, volumes: true }).catch(() => undefined);
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
