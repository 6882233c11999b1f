/**
 * The cluster store: where managers keep cluster state (nodes, containers and
 * their placement generation, ticker state, the leader). One interface, two
 * implementations: `EmbeddedStore` (one manager, a JSON file on local disk)
 * and `EtcdStore` (several managers, etcd). The semantics follow etcd's v3 API
 * so that code written against one behaves the same against the other.
 *
 * Keys are strings with '/' separators, relative to the store's own prefix;
 * values are strings (callers JSON-encode). Revisions are cluster-wide and
 * strictly increasing: every write that changes something gets the next one.
 */

import { ValidationError } from '../util/errors.ts';

/** Opaque lease identifier (etcd's int64 lease ID as a decimal string). */
export type LeaseId = string;

export interface Entry {
  key: string;
  value: string;
  /** Revision of the last write to this key (etcd's mod_revision): the CAS token. */
  revision: number;
  /** Revision at which the key was created; unchanged by later puts. */
  createRevision: number;
  /** Lease the key is attached to; the key disappears when the lease ends. */
  lease?: LeaseId;
}

/** Entries under a prefix together with the store revision they were read at. */
export interface PrefixSnapshot {
  entries: Entry[];
  revision: number;
}

export interface PutOptions {
  lease?: LeaseId;
}

/**
 * One condition of a transaction. A key that does not exist has revision 0 and
 * createRevision 0 (as in etcd), and never equals any value.
 */
export type TxnCompare =
  | { key: string; modRevision: number }
  | { key: string; createRevision: number }
  | { key: string; value: string }
  | { key: string; exists: boolean };

export type TxnOp =
  | { op: 'put'; key: string; value: string; lease?: LeaseId }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string }
  | { op: 'get'; key: string }
  | { op: 'getPrefix'; prefix: string };

export type TxnOpResult =
  | { op: 'put'; revision: number }
  | { op: 'delete' | 'deletePrefix'; deleted: number }
  | { op: 'get' | 'getPrefix'; entries: Entry[] };

export interface TxnRequest {
  /** All must hold for `success` to run; otherwise `failure` runs. */
  compare: TxnCompare[];
  success: TxnOp[];
  failure?: TxnOp[];
}

export interface TxnResult {
  succeeded: boolean;
  /** Store revision after the transaction. */
  revision: number;
  /** One result per op of the branch that ran, in order. */
  results: TxnOpResult[];
}

export interface Lease {
  readonly id: LeaseId;
  readonly ttlSeconds: number;
  /** True once the lease ended: revoked, expired, lost, or its store closed. */
  readonly ended: boolean;
  /** Ends the lease now; keys attached to it are deleted. */
  revoke(): Promise<void>;
  /**
   * Called once when the lease is lost without this client revoking it: it
   * expired (keepalives could not reach the store in time), someone else
   * revoked it, or the store was closed. Returns an unsubscribe function.
   */
  onLost(cb: (reason: Error) => void): () => void;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** The new value (puts only). */
  value?: string;
  /** Revision of the change (for a delete: the revision that deleted it). */
  revision: number;
  /** Creation revision of the key (puts only). */
  createRevision?: number;
}

export interface WatchOptions {
  /**
   * Deliver changes from this revision on (inclusive), replaying history.
   * Use `snapshot.revision + 1` after `snapshotPrefix` for a gap-free
   * list-then-watch. Without it, the watch starts after the current revision.
   */
  startRevision?: number;
  /**
   * The watch ended for good (e.g. the start revision was compacted away).
   * Re-read and watch again. Without a handler the error is logged.
   */
  onError?: (err: Error) => void;
}

export interface Watch {
  close(): Promise<void>;
}

export interface CampaignOptions {
  /** TTL of the candidacy's lease: how long a dead leader blocks the others. Default 5. */
  ttlSeconds?: number;
  /** Abort a campaign that has not won yet; the promise then rejects. */
  signal?: AbortSignal;
}

export interface Leadership {
  readonly election: string;
  readonly candidateId: string;
  readonly value: string;
  /** The candidacy's lease: attach leader-only keys to it so they vanish with the leadership. */
  readonly leaseId: LeaseId;
  /** True from election until resign() or loss. */
  readonly isLeader: boolean;
  /** Gives leadership up; the next candidate takes over at once. */
  resign(): Promise<void>;
  /**
   * Called once when leadership ends without resign(): the candidacy's lease
   * was lost, its key was deleted, or the store was closed. Stop acting as
   * leader immediately. Returns an unsubscribe function.
   */
  onLost(cb: (reason: Error) => void): () => void;
}

export interface LeaderObserver {
  close(): Promise<void>;
}

export interface ClusterStore {
  /** 'embedded', 'memory' or 'etcd': for logs and `lifeboat status`. */
  readonly kind: string;

  get(key: string): Promise<Entry | undefined>;
  /** Entries whose keys start with `prefix`, in key order. */
  getPrefix(prefix: string): Promise<Entry[]>;
  /** Like getPrefix, with the revision the read happened at (for list-then-watch). */
  snapshotPrefix(prefix: string): Promise<PrefixSnapshot>;
  /** Returns the revision of the write. */
  put(key: string, value: string, opts?: PutOptions): Promise<number>;
  /** Returns how many keys were deleted (0 or 1). */
  delete(key: string): Promise<number>;
  deletePrefix(prefix: string): Promise<number>;
  txn(req: TxnRequest): Promise<TxnResult>;

  /** A lease kept alive in the background until revoked, lost or the store closes. */
  grantLease(ttlSeconds: number): Promise<Lease>;
  /** Revokes a lease by id, e.g. one held by a manager that is gone. */
  revokeLease(id: LeaseId): Promise<void>;

  /** Resolves once the watch is established: later changes are all delivered, in order. */
  watchPrefix(prefix: string, cb: (event: WatchEvent) => void, opts?: WatchOptions): Promise<Watch>;

  /**
   * Stands as candidate `candidateId` (unique per process, e.g. the manager
   * name) announcing `value` (e.g. its API address); resolves when elected.
   * Rejects if the candidacy's lease is lost before that, or on abort.
   */
  campaign(election: string, candidateId: string, value: string, opts?: CampaignOptions): Promise<Leadership>;
  /** The elected candidate's value, or undefined when nobody leads. */
  leader(election: string): Promise<string | undefined>;
  /** Calls `cb` with the current leader's value, then on every change. */
  observeLeader(election: string, cb: (value: string | undefined) => void): Promise<LeaderObserver>;

  /**
   * Stops keepalives, watches and connections. Leases are NOT revoked: to
   * other managers a close looks like a crash and the leases run out after
   * their TTL; resign or revoke first for a quick hand-over.
   */
  close(): Promise<void>;
}

/** Lease TTLs are whole seconds, at least 1 (etcd's unit and minimum). */
export function checkLeaseTtl(ttlSeconds: number): void {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new ValidationError(`lease TTL must be a whole number of seconds >= 1, got ${ttlSeconds}`);
  }
}
