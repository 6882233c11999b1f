import { createHash } from 'node:crypto';
import type { CheckpointGroup, CheckpointManifest, CheckpointRef } from '../../checkpoint/store/index.ts';
import type { NodeReport, RestoreOutcome, RestoreRequest } from '../../node-api/node-client.ts';
import { LifeboatError } from '../../util/errors.ts';
import { HOLLOW_IMAGE, hollowContainer, listEntry, type HollowPodman } from './hollow-podman.ts';

/**
 * How long simulated CRIU work takes, from the thesis' measurements on real
 * hosts (Figure 4.1: a dump runs at a few hundred MB/s after ~100 ms of
 * fixed cost; a restore somewhat faster): a fixed part plus size / rate.
 */
export interface HollowTimings {
  /** Memory of each simulated container, MB (what its checkpoint weighs). */
  containerMb: number;
  dumpFixedMs: number;
  dumpMBps: number;
  restoreFixedMs: number;
  restoreMBps: number;
}

export const DEFAULT_HOLLOW_TIMINGS: HollowTimings = {
  containerMb: 64,
  dumpFixedMs: 100,
  dumpMBps: 400,
  restoreFixedMs: 150,
  restoreMBps: 600,
};

export class HollowUnsupportedError extends LifeboatError {
  constructor(what: string) {
    super('hollow_unsupported', `the hollow host (a simulator) does not simulate ${what}`, {
      status: 501,
      hint: 'hollow hosts simulate heartbeats, list/inspect/create/start/remove, checkpoints to the store and restores from it; run this on a real host',
    });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What the node API's routes (src/node-api/server.ts) call on a host,
 * simulated: the report of its containers, fencing, reconciling, and
 * checkpoints and restores that take as long as real ones of the same size
 * and leave manifests of that size, but move no bytes.
 */
export class HollowService {
  readonly metrics = undefined;
  /** Simulated checkpoints and restores done, for the bench. */
  readonly counts = { checkpoints: 0, restores: 0 };

  constructor(
    readonly name: string,
    readonly address: string,
    readonly podman: HollowPodman,
    private readonly timings: HollowTimings = DEFAULT_HOLLOW_TIMINGS,
    /** The checkpoint store's manifests by key, shared by every hollow host (as the real store is). */
    private readonly checkpoints = new Map<string, CheckpointManifest[]>(),
  ) {}

  report(): Promise<NodeReport> {
    return Promise.resolve({
      name: this.name,
      address: this.address,
      labels: { simulator: 'hollow' },
      cpus: 16,
      memoryBytes: 64 * 1024 ** 3,
      containers: [...this.podman.containers.values()].map(listEntry),
      capabilities: { canCheckpoint: true, canPreDump: true, softDirty: 'ok', criu: '3.17.1 (simulated)' },
      images: [{ id: HOLLOW_IMAGE.id, names: [HOLLOW_IMAGE.name] }],
    });
  }

  readiness(): Promise<{ ready: boolean; node: string; podman: string; criu: string; reasons: string[] }> {
    return Promise.resolve({ ready: true, node: this.name, podman: 'hollow', criu: 'hollow', reasons: [] });
  }

  /** As NodeService.fence: restore-policy containers stop. */
  fence(): Promise<string[]> {
    const stopped: string[] = [];
    for (const c of this.podman.containers.values())
      if (c.state === 'running' && (c.labels['lifeboat.reschedule'] ?? c.labels['lifeboat.restore'])) {
        c.state = 'exited';
        stopped.push(c.name);
      }
    return Promise.resolve(stopped);
  }

  reconcile(elsewhere: ReadonlySet<string>): Promise<string[]> {
    const removed = [...this.podman.containers.keys()].filter((n) => elsewhere.has(n));
    for (const n of removed) this.podman.containers.delete(n);
    return Promise.resolve(removed);
  }

  async checkpointToStore(
    name: string,
    key: string,
    ref: CheckpointRef,
  ): Promise<{ manifest: CheckpointManifest; timings: { dumpMs: number; storeMs: number } }> {
    if (!this.podman.containers.has(name))
      throw new LifeboatError('no_such_container', `no container ${name} on ${this.name}`, { status: 404 });
    const t = this.timings;
    const dumpMs = t.dumpFixedMs + (t.containerMb / t.dumpMBps) * 1000;
    const storeMs = (t.containerMb / (t.dumpMBps * 2)) * 1000;
    await sleep(dumpMs + storeMs);
    const bytes = Math.round(t.containerMb * 1024 * 1024);
    const manifest: CheckpointManifest = {
      format: 1,
      container: key,
      group: ref.group,
      version: ref.version,
      kind: 'full',
      file: `${ref.version}.tar`,
      size: bytes,
      plainSize: bytes,
      sha256: createHash('sha256').update(`${key}/${ref.group}/${ref.version}`).digest('hex'),
      encrypted: false,
      node: this.name,
      createdAt: new Date().toISOString(),
      criu: { frozen_time: Math.round(dumpMs * 1000), pages_written: Math.round(bytes / 4096) },
    };
    const list = (this.checkpoints.get(key) ?? []).filter((m) => m.group === ref.group);
    this.checkpoints.set(key, [...list, manifest].slice(-4));
    this.counts.checkpoints++;
    return { manifest, timings: { dumpMs: Math.round(dumpMs), storeMs: Math.round(storeMs) } };
  }

  async restoreFromStore(
    key: string,
    ref: CheckpointRef,
    opts: RestoreRequest = {},
  ): Promise<RestoreOutcome> {
    const t = this.timings;
    const receiveMs = (t.containerMb / (t.restoreMBps * 2)) * 1000;
    const restoreMs = t.restoreFixedMs + (t.containerMb / t.restoreMBps) * 1000;
    await sleep(receiveMs + restoreMs);
    const name = opts.name ?? key;
    const c = hollowContainer(name, { 'lifeboat.reschedule': 'checkpoint' });
    this.podman.containers.set(name, c);
    this.counts.restores++;
    const bytes = Math.round(t.containerMb * 1024 * 1024);
    return {
      id: c.id,
      name,
      info: {
        containerName: name,
        containerId: c.id,
        imageId: HOLLOW_IMAGE.id,
        imageName: HOLLOW_IMAGE.name,
        cgroupParent: undefined,
        runroot: undefined,
        graphroot: undefined,
        tcpEstablished: false,
        kind: 'checkpoint',
        withPrevious: false,
        memberCount: 12,
        totalBytes: bytes,
        archiveBytes: bytes,
        hasRootfsDiff: false,
        rootfsDiff: undefined,
        deletedFiles: 0,
        volumes: [],
        dumpStats: undefined,
        warnings: [`simulated restore of version ${ref.group}.${ref.version}`],
      },
      stats: { restoreTimeUs: Math.round(restoreMs * 1000) },
      timings: { receiveMs: Math.round(receiveMs), restoreMs: Math.round(restoreMs) },
      bytes,
      mode: 'prepared',
      addressKept: true,
    };
  }

  listCheckpoints(key: string): Promise<CheckpointGroup[]> {
    const list = this.checkpoints.get(key) ?? [];
    const groups = new Map<number, CheckpointManifest[]>();
    for (const m of list) groups.set(m.group, [...(groups.get(m.group) ?? []), m]);
    return Promise.resolve([...groups].map(([group, versions]) => ({ group, versions })));
  }

  deleteCheckpoints(key: string): Promise<void> {
    this.checkpoints.delete(key);
    return Promise.resolve();
  }

  deleteCheckpointGroup(key: string, group: number): Promise<void> {
    this.checkpoints.set(
      key,
      (this.checkpoints.get(key) ?? []).filter((m) => m.group !== group),
    );
    return Promise.resolve();
  }

  restoreInPlace(name: string): Promise<void> {
    const c = this.podman.containers.get(name);
    if (c) c.state = 'running';
    return Promise.resolve();
  }

  // Streams between hosts (migrations, image transfers, docker checkpoint archives) are not simulated.
  checkpointStream(): Promise<never> {
    return Promise.reject(new HollowUnsupportedError('checkpoint archive streams'));
  }
  restoreFromStream(): Promise<never> {
    return Promise.reject(new HollowUnsupportedError('restores from an uploaded archive'));
  }
  preDump(): Promise<void> {
    return sleep(this.timings.dumpFixedMs);
  }
  pullImage(): Promise<never> {
    return Promise.reject(new HollowUnsupportedError('image transfers'));
  }
  grantTransfer(): Promise<void> {
    return Promise.resolve();
  }
  prepareMigration(): Promise<never> {
    return Promise.reject(new HollowUnsupportedError('live migrations between hosts'));
  }
  completeMigration(): Promise<never> {
    return Promise.reject(new HollowUnsupportedError('live migrations between hosts'));
  }
  discardMigration(): Promise<void> {
    return Promise.resolve();
  }
  peer(): never {
    throw new HollowUnsupportedError('agent-to-agent transfers');
  }
}
