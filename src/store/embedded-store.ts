/**
 * ClusterStore for a single manager: state in memory, persisted to one JSON
 * file (see embedded-state.ts), leases expiring by timer, watches and
 * elections in-process.
 *
 * Each EmbeddedStore is a client handle. `connect()` gives another handle on
 * the same data with its own leases and watches, which is what a second
 * manager process is to etcd: closing a handle stops its keepalives and its
 * leases then run out, exactly as when an etcd client goes away.
 */
import * as election from './election.ts';
import { EmbeddedState, type WatcherHandle } from './embedded-state.ts';
import { LeaseLostError, StoreClosedError } from './errors.ts';
import { LossNotifier } from './loss-notifier.ts';
import { checkLeaseTtl } from './store.ts';
import type {
  CampaignOptions,
  ClusterStore,
  Entry,
  LeaderObserver,
  Lease,
  LeaseId,
  Leadership,
  PrefixSnapshot,
  PutOptions,
  TxnRequest,
  TxnResult,
  Watch,
  WatchEvent,
  WatchOptions,
} from './store.ts';

export interface EmbeddedStoreOptions {
  /** State file; without it the store lives in memory only (tests, `memory:`). */
  path?: string;
}

class EmbeddedLease implements Lease {
  private readonly lost = new LossNotifier();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private done = false;

  constructor(
    private readonly state: EmbeddedState,
    readonly id: LeaseId,
    readonly ttlSeconds: number,
    private readonly forget: (l: EmbeddedLease) => void,
    private readonly isOpen: () => boolean,
  ) {
    // Same cadence as etcd's clients: a third of the TTL.
    this.timer = setInterval(
      () => {
        if (!this.state.keepAlive(this.id)) this.end(new LeaseLostError(`lease ${this.id} expired`));
      },
      (ttlSeconds * 1000) / 3,
    );
    this.unsubscribe = state.onLeaseEnd(id, (reason) =>
      this.end(new LeaseLostError(`lease ${this.id} ${reason === 'revoked' ? 'was revoked' : 'expired'}`)),
    );
  }

  get ended(): boolean {
    return this.done;
  }

  /** Stops keepalives; with a reason, subscribers are told the lease is lost. */
  end(reason?: Error): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.timer);
    this.unsubscribe();
    this.forget(this);
    if (reason === undefined) this.lost.clear();
    else this.lost.fire(reason);
  }

  async revoke(): Promise<void> {
    // A closed client cannot reach the store any more, as with etcd: the lease runs out instead.
    if (!this.isOpen()) throw new StoreClosedError('the embedded store');
    this.end();
    await this.state.revokeLease(this.id);
  }

  onLost(cb: (reason: Error) => void): () => void {
    return this.lost.subscribe(cb);
  }
}

export class EmbeddedStore implements ClusterStore {
  readonly kind: 'embedded' | 'memory';
  private closed = false;
  private readonly leases = new Set<EmbeddedLease>();
  private readonly watches = new Set<WatcherHandle>();
  private readonly handles = new Set<EmbeddedStore>();

  private constructor(
    private readonly state: EmbeddedState,
    private readonly owner: EmbeddedStore | undefined,
  ) {
    this.kind = state.path === undefined ? 'memory' : 'embedded';
  }

  static async open(opts: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    return new EmbeddedStore(await EmbeddedState.open(opts.path), undefined);
  }

  /** Another client on the same data. Closing the store that opened it closes this one too. */
  connect(): EmbeddedStore {
    this.ensureOpen();
    const root = this.owner ?? this;
    const h = new EmbeddedStore(this.state, root);
    root.handles.add(h);
    return h;
  }

  get path(): string | undefined {
    return this.state.path;
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreClosedError('the embedded store');
  }

  async get(key: string): Promise<Entry | undefined> {
    this.ensureOpen();
    return this.state.get(key);
  }

  async getPrefix(prefix: string): Promise<Entry[]> {
    return (await this.snapshotPrefix(prefix)).entries;
  }

  async snapshotPrefix(prefix: string): Promise<PrefixSnapshot> {
    this.ensureOpen();
    return this.state.snapshotPrefix(prefix);
  }

  async put(key: string, value: string, opts: PutOptions = {}): Promise<number> {
    const op =
      opts.lease === undefined
        ? { op: 'put' as const, key, value }
        : { op: 'put' as const, key, value, lease: opts.lease };
    return (await this.txn({ compare: [], success: [op] })).revision;
  }

  async delete(key: string): Promise<number> {
    const r = (await this.txn({ compare: [], success: [{ op: 'delete', key }] })).results[0];
    return r !== undefined && 'deleted' in r ? r.deleted : 0;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const r = (await this.txn({ compare: [], success: [{ op: 'deletePrefix', prefix }] })).results[0];
    return r !== undefined && 'deleted' in r ? r.deleted : 0;
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    this.ensureOpen();
    const { result, durable } = this.state.txn(req);
    await durable;
    return result;
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    this.ensureOpen();
    checkLeaseTtl(ttlSeconds);
    const lease = new EmbeddedLease(
      this.state,
      this.state.grantLease(ttlSeconds),
      ttlSeconds,
      (l) => this.leases.delete(l),
      () => !this.closed,
    );
    this.leases.add(lease);
    return lease;
  }

  async revokeLease(id: LeaseId): Promise<void> {
    this.ensureOpen();
    await this.state.revokeLease(id);
  }

  async watchPrefix(
    prefix: string,
    cb: (event: WatchEvent) => void,
    opts: WatchOptions = {},
  ): Promise<Watch> {
    this.ensureOpen();
    const h = this.state.addWatcher(prefix, cb, opts.startRevision);
    this.watches.add(h);
    return {
      close: async () => {
        h.close();
        this.watches.delete(h);
      },
    };
  }

  campaign(name: string, candidateId: string, value: string, opts?: CampaignOptions): Promise<Leadership> {
    return election.campaign(this, name, candidateId, value, opts);
  }

  leader(name: string): Promise<string | undefined> {
    return election.leader(this, name);
  }

  observeLeader(name: string, cb: (value: string | undefined) => void): Promise<LeaderObserver> {
    return election.observeLeader(this, name, cb);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of [...this.leases]) l.end(new StoreClosedError('the embedded store'));
    for (const w of this.watches) w.close();
    this.watches.clear();
    if (this.owner === undefined) {
      await Promise.all([...this.handles].map((h) => h.close()));
      await this.state.close();
    } else {
      this.owner.handles.delete(this);
    }
  }
}
