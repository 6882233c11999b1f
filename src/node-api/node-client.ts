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
}

export interface RestoreOutcome {
  id: string;
  name: string;
  info: ArchiveInfo;
  stats: CriuRestoreStats;
  /** Milliseconds per phase: receive (spool+validate), restore (rewrite+podman). */
  timings: { receiveMs: number; restoreMs: number };
  bytes: number;
}

export interface RestoreRequest {
  name?: string;
  tcpEstablished?: boolean;
  ignoreStaticIp?: boolean;
  ignoreStaticMac?: boolean;
}

/**
 * What a manager asks of one host. NodeService implements it in-process;
 * HttpNodeClient implements it over the node API (mutual TLS). Manager logic
 * is written against this interface only.
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
  checkpointStream(name: string, opts: CheckpointOptions): Promise<Readable>;
  restoreFromStream(input: Readable, opts?: RestoreRequest): Promise<RestoreOutcome>;
  /** Restores a container from the checkpoint it kept here (rollback of a failed migration). */
  restoreInPlace(name: string, opts?: { tcpEstablished?: boolean }): Promise<void>;
  /** Pre-dump (memory only, container keeps running); needs soft-dirty tracking. */
  preDump(name: string): Promise<void>;
  checkpointToStore(
    name: string,
    key: string,
    ref: CheckpointRef,
    opts: CheckpointOptions,
  ): Promise<{ manifest: CheckpointManifest; timings: { dumpMs: number; storeMs: number } }>;
  restoreFromStore(key: string, ref: CheckpointRef, opts?: RestoreRequest): Promise<RestoreOutcome>;
  listCheckpoints(key: string): Promise<CheckpointGroup[]>;
  deleteCheckpointGroup(key: string, group: number): Promise<void>;
  deleteCheckpoints(key: string): Promise<void>;
  imageExists(ref: string): Promise<boolean>;
  imageArchive(ref: string): Promise<Readable>;
  loadImage(archive: Readable): Promise<string[]>;
  fence(reason: string): Promise<string[]>;
  reconcile(elsewhere: ReadonlySet<string>): Promise<string[]>;
}
