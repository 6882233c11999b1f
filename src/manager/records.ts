import type { ContainerCreateSpec } from '../engine/types.ts';
import type { NodeReport } from '../node-api/node-client.ts';
import type { RestorePolicy, TickerConfig } from '../policy/labels.ts';

/**
 * What the cluster store holds. Keys (under the store's prefix):
 *   nodes/<name>        NodeRecord, written on every accepted heartbeat
 *   containers/<name>   ContainerRecord: where a container lives, with a generation
 *   tickers/<name>      TickerRecord: Algorithm 1's V_i / group, for a new leader
 *   availability/<name> AvailabilityRecord: a host drained by an operator (absent: active)
 *   networks/<name>     NetworkRecord: a user-defined network and the host it lives on
 *   volumes/<name>      VolumeRecord: a named volume and the host it lives on
 */
export const NODES = 'nodes/';
export const CONTAINERS = 'containers/';
export const TICKERS = 'tickers/';
export const AVAILABILITY = 'availability/';
export const NETWORKS = 'networks/';
export const VOLUMES = 'volumes/';

/**
 * A user-defined bridge network. It lives on one host, as classic Swarm's
 * node-local networks did: created there when its first member is placed,
 * and its members are placed beside it. A move of every member takes it along.
 */
export interface NetworkRecord {
  name: string;
  /** Docker's network ID (64 hex), the cluster's own: the same on whichever host holds it. */
  id: string;
  created: string;
  internal: boolean;
  labels: Record<string, string>;
  /** Asked for at create (IPAM.Config), or taken from the host when Podman chose it: kept across hosts. */
  subnets: { subnet: string; gateway?: string }[];
  /** Bridge driver options passed to Podman (`mtu`). */
  options: Record<string, string>;
  /** The host that has it; absent until the first member is placed. Never set for the cluster network. */
  node?: string;
  /** The cluster network (src/network): on every host, its addresses follow their containers. */
  cluster?: boolean;
}

/** A named volume (driver local). Its data lives on one host and travels in a move's or a checkpoint's archive. */
export interface VolumeRecord {
  name: string;
  created: string;
  labels: Record<string, string>;
  /** The host that has it; absent until the first container that mounts it is placed. */
  node?: string;
  /** Made implicitly by `-v name:/path` rather than `docker volume create`. */
  implicit?: boolean;
}

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
  /** The host a move or restore in progress is taking it to: that host holds its cluster address already. */
  movingTo?: string;
}

export interface TickerRecord {
  version: number;
  group: number;
  inGroup: number;
  lastCheckpointAt?: string;
  lastNode?: string;
}
