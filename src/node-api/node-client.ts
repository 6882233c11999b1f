import type { Readable } from 'node:stream';
import type { PodmanClient } from '../engine/podman-client.ts';
import type { CheckpointGroup, CheckpointManifest, CheckpointRef } from '../checkpoint/store/index.ts';
import type { ArchiveInfo } from '../checkpoint/archive/index.ts';
import type {
  CheckpointOptions,
  ContainerCreateSpec,
  ContainerInspect,
  ContainerListEntry,
  CriuRestoreStats,
} from '../engine/types.ts';

/** What an agent reports about its host in every heartbeat. */
export interface NodeReport {
  name: string;
  address: string;
  labels: Record<string, string>;
  cpus: number;
  memoryBytes: number;
  containers: ContainerListEntry[];
  capabilities: { canCheckpoint: boolean; canPreDump: boolean; softDirty: string; criu: string | null };
  images: { id: string; names: string[] }[];
  /**
   * The checkpoint store as this host sees it: the hosts whose markers are
   * in it (shared storage shows them all), or why it could not be read.
   * Absent when the host has no checkpoint store.
   */
  store?: { sees: string[]; error?: string };
}

export interface RestoreOutcome {
  id: string;
  name: string;
  info: ArchiveInfo;
  stats: CriuRestoreStats;
  /**
   * Milliseconds per phase: receive (archive unpacked and checked), restore
   * (container created if it was not yet, Podman restore).
   */
  timings: { receiveMs: number; restoreMs: number };
  /** Archive bytes (uncompressed). */
  bytes: number;
  /** `prepared`: restored into a container created from the checkpoint's configuration; `import`: Podman's import. */
  mode: TransferMode;
  /** The container kept its address (established connections need it). */
  addressKept: boolean;
}

/**
 * How a container's checkpoint travels. `prepared`: the target creates the
 * container from the checkpoint's configuration (before the freeze, for a
 * migration) and restores from the CRIU images in place; `import`: Podman's
 * own export and import, for what the prepared path cannot carry (named
 * volumes, a storage driver other than overlay).
 */
export type TransferMode = 'prepared' | 'import';
export type Compression = 'none' | 'gzip';

/**
 * What a manager lets one agent fetch from another (given to the source):
 * single use, short-lived, for one subject and one peer. The peer proves
 * who it is with its agent certificate; the id is the capability.
 */
export interface TransferGrant {
  /** 256 random bits, base64url. */
  id: string;
  kind: 'migration' | 'image';
  /** Container name (migration) or image reference. */
  subject: string;
  /** Node name the peer's certificate must carry. */
  target: string;
  /** Lifetime, counted by the source from when it accepts the grant (no clocks compared). */
  ttlMs: number;
}

/** Where an agent reaches another: its node name (certificate CN) and node API URL. */
export interface PeerRef {
  name: string;
  url: string;
}

/** Asks a target to get ready for a container before its source freezes it. */
export interface PrepareMigrationRequest {
  grant: string;
  source: PeerRef;
  container: string;
  /** `auto`: gzip when the link measured between the two is slower than the source can compress. */
  compression: Compression | 'auto';
  /** The container's cluster-network address: the target takes it now (no route sends it elsewhere). */
  clusterAddress?: string;
}

export interface PreparedMigration {
  mode: TransferMode;
  /** Why `import` was chosen. */
  reason?: string;
  containerId: string;
  compression: Compression;
  /** Link throughput measured for `auto`, MB/s. */
  linkMBps?: number;
  prepareMs: number;
  /**
   * The target holds the packets of the container's cluster address from now
   * until the restore (host-routes.ts `hold`): the address may be routed to
   * it before the freeze, and no packet is lost to the frozen source.
   */
  addressHeld?: boolean;
}

/** Progress of a migration's frozen phase, as the target sees it. */
export type MigrationProgress =
  { phase: 'dumped'; dumpMs: number } | { phase: 'received'; bytes: number; wireBytes: number; ms: number };

export interface MigrationOutcome extends RestoreOutcome {
  /** The source's dump (freeze to first byte), ms. */
  dumpMs: number;
  /** Bytes on the wire (after compression). */
  wireBytes: number;
  compression: Compression;
}

/** A move's rollback on its source: the checkpoint just taken, restored where it was. */
export interface RestoreInPlaceOptions {
  tcpEstablished?: boolean;
  /** Its cluster-network address: taken back here first (no route may still send it to the failed target). */
  clusterAddress?: string;
}

export interface RestoreRequest {
  name?: string;
  tcpEstablished?: boolean;
  ignoreStaticIp?: boolean;
  ignoreStaticMac?: boolean;
  /** The container's cluster-network address: taken here first, and never given up for a new one. */
  clusterAddress?: string;
}

/**
 * What a manager asks of one host. NodeService implements it in-process;
 * HttpNodeClient implements it over the node API (mutual TLS). Manager logic
 * is written against this interface only. Managers coordinate, agents move
 * bytes: for a migration or an image the manager hands out a grant and the
 * target fetches from the source itself (`PeerSource`).
 */
export interface NodeClient {
  readonly name: string;
  /** The host's Podman (in-process socket, or the node API's allow-listed proxy). */
  readonly podman: PodmanClient;
  report(): Promise<NodeReport>;
  create(spec: ContainerCreateSpec): Promise<string>;
  start(name: string): Promise<void>;
  stop(name: string, timeoutSeconds?: number): Promise<void>;
  kill(name: string, signal?: string): Promise<void>;
  remove(name: string, force?: boolean): Promise<void>;
  inspect(name: string): Promise<ContainerInspect>;
  logs(
    name: string,
    opts: { follow?: boolean; tail?: number | 'all'; timestamps?: boolean },
  ): Promise<Readable>;
  wait(name: string, condition?: string): Promise<number>;
  imageExists(ref: string): Promise<boolean>;
  /** A checkpoint archive for the manager to keep (`docker checkpoint create`). */
  checkpointStream(name: string, opts: CheckpointOptions): Promise<Readable>;
  /** Restores an archive the manager kept (`docker start --checkpoint`). */
  restoreFromStream(input: Readable, opts?: RestoreRequest): Promise<RestoreOutcome>;
  /** Restores a container from the checkpoint it kept here (rollback of a failed migration). */
  restoreInPlace(name: string, opts?: RestoreInPlaceOptions): Promise<void>;
  /** Pre-dump (memory only, container keeps running); needs soft-dirty tracking. */
  preDump(name: string): Promise<void>;
  checkpointToStore(
    name: string,
    key: string,
    ref: CheckpointRef,
    opts: CheckpointOptions,
  ): Promise<{ manifest: CheckpointManifest; timings: { dumpMs: number; storeMs: number } }>;
  /** Restores one stored version; the host reads the shared store itself. */
  restoreFromStore(key: string, ref: CheckpointRef, opts?: RestoreRequest): Promise<RestoreOutcome>;
  listCheckpoints(key: string): Promise<CheckpointGroup[]>;
  deleteCheckpointGroup(key: string, group: number): Promise<void>;
  deleteCheckpoints(key: string): Promise<void>;
  /** On a source: let `grant.target` fetch `grant.subject` from here. */
  grantTransfer(grant: TransferGrant): Promise<void>;
  /** On a target, before the freeze: the container created here, waiting for its images. */
  prepareMigration(req: PrepareMigrationRequest): Promise<PreparedMigration>;
  /** On a target: the source dumps, the archive streams here and is restored. */
  completeMigration(
    grant: string,
    opts?: { onProgress?: (p: MigrationProgress) => void; signal?: AbortSignal },
  ): Promise<MigrationOutcome>;
  /** On a target: forget a migration; a container it created that does not run is removed. */
  discardMigration(grant: string): Promise<void>;
  /** On a target: fetch an image from a peer (same image ID), granted by `grant`. */
  pullImage(req: { grant: string; source: PeerRef; image: string }): Promise<{ names: string[] }>;
  fence(reason: string): Promise<string[]>;
  /**
   * Removes this host's copies of containers that live elsewhere now. With
   * `seen` (name to the ID the caller saw here), a copy of that name with
   * another ID is kept: it was created here since (a move or restore back).
   */
  reconcile(elsewhere: ReadonlySet<string>, seen?: ReadonlyMap<string, string>): Promise<string[]>;
}

/** Reaches another agent's source side, checking its certificate names `ref.name`. */
export type PeerDialer = (ref: PeerRef) => PeerSource;

/** What a source agent answers its peer, the target, under a grant. */
export interface PeerSource {
  prepareCheckpoint(grant: string): Promise<SourcePreparation>;
  /** Freezes and dumps, then streams the archive (compressed as asked). */
  dumpCheckpoint(
    grant: string,
    opts: { mode: TransferMode; compression: Compression },
  ): Promise<{ archive: Readable; dumpMs: number }>;
  imageArchive(grant: string): Promise<Readable>;
  /** Incompressible bytes to measure the link with, before the freeze. */
  probe(grant: string, bytes: number): Promise<Readable>;
}

export interface SourcePreparation {
  containerId: string;
  mode: TransferMode;
  reason?: string;
  /** libpod's config.dump and spec.dump, for `prepared`. */
  configDump?: Buffer;
  specDump?: Buffer;
  /** What the source's gzip level 1 does per second on checkpoint-like data, MB/s. */
  gzipMBps: number;
}
