import type { ContainerCreateSpec } from '../engine/types.ts';
import type { NodeReport } from '../node-api/node-client.ts';
import type { RestorePolicy, TickerConfig } from '../policy/labels.ts';

/**
 * What the cluster store holds. Keys (under the store's prefix):
 *   nodes/<name>        NodeRecord, written on every accepted heartbeat
 *   containers/<name>   ContainerRecord: where a container lives, with a generation
 *   tickers/<name>      TickerRecord: Algorithm 1's V_i / group, for a new leader
 *   availability/<name> AvailabilityRecord: a host drained by an operator (absent: active)
 */
export const NODES = 'nodes/';
export const CONTAINERS = 'containers/';
export const TICKERS = 'tickers/';
export const AVAILABILITY = 'availability/';

export interface NodeRecord {
  report: NodeReport;
  /** node API base URL, e.g. https://10.99.0.11:7443 */
  apiUrl: string;
  /** Agent process identity: changes when the host reboots. */
  bootId: string;
  /** Wall-clock time of the last heartbeat, by the manager that took it: for display only. */
  lastHeartbeat: number;
  /** New with every heartbeat: managers judge liveness by seeing it change, on their own clocks. */
  beat?: string;
  status: 'healthy' | 'failed';
  failedAt?: number;
  /**
   * Set when a new agent boot reports while the host counts as healthy (a
   * reboot or an agent restart quicker than the failure timeout); the
   * leader's failure detector handles it once and clears it. Kept in the
   * store, so a new leader still sees it.
   */
  restartedAt?: number;
  /** The agent's clock minus the accepting manager's at the last heartbeat (one-way delay included); display only. */
  clockOffsetMs?: number;
  /**
   * `drain` when an operator drained the host: it takes no new container.
   * Merged in from availability/<name> when read through the NodeRegistry;
   * never stored in the node record (heartbeats rewrite that every second).
   */
  availability?: 'drain';
}

/** A host an operator drained (`lifeboat node drain`), and how its drain went. */
export interface AvailabilityRecord {
  state: 'drain';
  since: string;
  /** Who asked: the certificate's name. */
  by?: string;
  drain: DrainProgress;
}

export interface DrainProgress {
  /** running: the leader moves its containers off; done or stopped (activated before it ended). */
  status: 'running' | 'done' | 'stopped';
  force: boolean;
  parallel: number;
  startedAt: string;
  finishedAt?: string;
  /** Moved live to another host. */
  moved: { container: string; to: string; ms: number; frozenMs?: number }[];
  /** Restarted elsewhere without their state (--force, restore-policy containers that cannot move live). */
  restarted: { container: string; to: string }[];
  /** Left on the host, with the reason. */
  left: { container: string; why: string }[];
  /** A live move that failed: the container still runs on the drained host. */
  failed: { container: string; why: string }[];
}

export type ContainerPhase = 'running' | 'stopped' | 'migrating' | 'restoring' | 'lost';

export interface ContainerRecord {
  name: string;
  /** Podman's container ID (kept across checkpoint/restore). */
  id?: string;
  /** Host the container lives on. */
  node: string;
  /**
   * Bumped on every move (migration, restore elsewhere). A host that returns
   * with an older copy yields: the record is the truth.
   */
  generation: number;
  /**
   * The create request as the engine got it: env stripped of scheduling
   * entries, which live on in the com.docker.swarm.* labels so that a
   * migration or a restore places the container by the same rules.
   */
  spec: ContainerCreateSpec;
  imageId?: string;
  restorePolicy?: RestorePolicy;
  ticker?: TickerConfig;
  phase: ContainerPhase;
  updatedAt: string;
  /** Why the last move happened, for `lifeboat ps` and events. */
  note?: string;
}

export interface TickerRecord {
  version: number;
  group: number;
  inGroup: number;
  lastCheckpointAt?: string;
  lastNode?: string;
}
