/**
 * ClusterStore over etcd v3 (npm `etcd3`), for several managers.
 *
 * - Every key lives under the store's prefix (default `/lifeboat/`).
 * - Unary calls carry a deadline; watch and keepalive streams never do (a
 *   deadline on a stream makes it reconnect constantly).
 * - Calls that fail transiently (a member down, an etcd leader change, a
 *   deadline) are retried with backoff on any member until the retry budget
 *   is used up. A transaction whose first attempt failed ambiguously may have
 *   been applied: on a retry its compare then fails, so CAS callers re-read
 *   on `succeeded: false` as they must anyway.
 * - A lease is reported lost once no keepalive succeeded for a full TTL
 *   (measured from when the keepalive was sent), which is no later than etcd
 *   itself can expire it. etcd3's own loss detection waits two TTLs.
 */
import {
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCInternalError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
  type ICompare,
  type IKeyValue,
  type IRequestOp,
  type IResponseOp,
  type Lease as EtcdLease,
  type Watcher,
} from 'etcd3';
import { errorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';
import * as election from './election.ts';
import { LeaseLostError, StoreClosedError, StoreCompactedError, StoreUnavailableError } from './errors.ts';
import { LossNotifier } from './loss-notifier.ts';
import { withRetry } from './retry.ts';
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
  TxnCompare,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  Watch,
  WatchEvent,
  WatchOptions,
} from './store.ts';

const log = createLogger('store/etcd');

export const DEFAULT_ETCD_PREFIX = '/lifeboat/';

export interface EtcdStoreOptions {
  /** `host:port` of each member's client URL. */
  endpoints: string[];
  /** Every key is stored under it; ends with '/'. Default `/lifeboat/`. */
  prefix?: string;
  /** Deadline of each unary call. Default 5000. */
  callTimeoutMs?: number;
  /** How long one operation keeps retrying transient failures. Default 15000. */
  retryBudgetMs?: number;
  /**
   * Mutual TLS to etcd (https endpoints): the CA etcd's certificates come
   * from, and this manager's client certificate. Without it, plain http.
   */
  tls?: EtcdTls;
}

/** PEM texts for etcd's client-cert-auth (see `lifeboat manage --etcd-pki`). */
export interface EtcdTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Failures that a retry (possibly on another member) can cure. */
export function isTransientEtcdError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCInternalError ||
    err instanceof GRPCCancelledError ||
    err instanceof GRPCResourceExhastedError
  ) {
    return true;
  }
  // cockatiel's circuit breaker (etcd3's per-member fault handling) while a member is marked down.
  if (err.name === 'BrokenCircuitError' || err.constructor.name === 'BrokenCircuitError') return true;
  return /etcdserver: (leader changed|no leader|request timed out|too many requests|server stopped|not capable)|ECONNREFUSED|ECONNRESET|No connection established/i.test(
    err.message,
  );
}

/** End of the key range holding every key that starts with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] ?? 0xff) < 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function num(s: string | number | undefined): number {
  return Number(s ?? 0);
}

class EtcdStoreLease implements Lease {
  private readonly lost = new LossNotifier();
  private done = false;
  /** Send times of keepalives not yet answered, oldest first (answers come in order). */
  private unanswered: number[] = [];
  private lastConfirmed: number;
  private readonly watchdog: NodeJS.Timeout;

  constructor(
    private readonly store: EtcdStore,
    private readonly inner: EtcdLease,
    readonly id: LeaseId,
    readonly ttlSeconds: number,
    grantSentAt: number,
  ) {
    this.lastConfirmed = grantSentAt;
    inner.on('keepaliveEstablished', () => {
      this.unanswered = [];
    });
    inner.on('keepaliveFired', () => {
      this.unanswered.push(Date.now());
    });
    inner.on('keepaliveSucceeded', () => {
      this.lastConfirmed = Math.max(this.lastConfirmed, this.unanswered.shift() ?? this.lastConfirmed);
    });
    inner.on('lost', (err) => this.fail(new LeaseLostError(`lease ${id} lost: ${err.message}`, err)));
    this.watchdog = setInterval(
      () => {
        if (Date.now() - this.lastConfirmed >= ttlSeconds * 1000) {
          this.fail(
            new LeaseLostError(`lease ${id} expired: no keepalive confirmed within its ${ttlSeconds}s TTL`),
          );
        }
      },
      Math.min(250, (ttlSeconds * 1000) / 4),
    );
    this.watchdog.unref();
  }

  get ended(): boolean {
    return this.done;
  }

  private stop(): void {
    this.done = true;
    clearInterval(this.watchdog);
    this.inner.release();
    this.store.forgetLease(this);
  }

  fail(reason: Error): void {
    if (this.done) return;
    this.stop();
    if (!(reason instanceof StoreClosedError))
      log.warn('lease lost', { lease: this.id, reason: reason.message });
    // The lease may still exist in etcd (keepalives merely late): end it so nobody waits on it.
    if (!(reason instanceof StoreClosedError)) this.store.revokeLease(this.id).catch(() => undefined);
    this.lost.fire(reason);
  }

  async revoke(): Promise<void> {
    if (!this.done) {
      this.stop();
      this.lost.clear();
    }
    await this.store.revokeLease(this.id);
  }

  onLost(cb: (reason: Error) => void): () => void {
    return this.lost.subscribe(cb);
  }
}

/** The largest answer read from etcd (a prefix read of every host record or container). */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

export class EtcdStore implements ClusterStore {
  readonly kind = 'etcd';
  readonly prefix: string;
  readonly endpoints: readonly string[];
  private readonly client: Etcd3;
  private readonly retryBudgetMs: number;
  private closed = false;
  private readonly leases = new Set<EtcdStoreLease>();
  private readonly watchers = new Set<Watcher>();

  private constructor(opts: EtcdStoreOptions) {
    this.endpoints = [...opts.endpoints];
    this.prefix = opts.prefix ?? DEFAULT_ETCD_PREFIX;
    if (!this.prefix.endsWith('/')) this.prefix += '/';
    this.retryBudgetMs = opts.retryBudgetMs ?? 15_000;
    const callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.client = new Etcd3({
      hosts: this.endpoints.map((e) => `${opts.tls ? 'https' : 'http'}://${e}`),
      ...(opts.tls
        ? {
            credentials: {
              rootCertificate: Buffer.from(opts.tls.caPem),
              certChain: Buffer.from(opts.tls.certPem),
              privateKey: Buffer.from(opts.tls.keyPem),
            },
          }
        : {}),
      dialTimeout: callTimeoutMs,
      // gRPC refuses answers over 4 MiB by default, and a prefix read of every host record passes
      // that at ~200 hosts x 50 containers (issue 22); etcd itself sends up to 2 GiB
      grpcOptions: { 'grpc.max_receive_message_length': MAX_ANSWER_BYTES },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    });
  }

  /** Connects and checks that etcd answers (within the retry budget). */
  static async open(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const store = new EtcdStore(opts);
    try {
      await store.get('.ping');
    } catch (err) {
      await store.close();
      throw new StoreUnavailableError(
        `etcd at ${store.endpoints.join(',')} does not answer: ${errorMessage(err)}`,
        {
          hint: 'Start etcd (or `lifeboat up --store etcd`), or fix the endpoints in the etcd:// URL.',
          cause: err,
        },
      );
    }
    log.debug('connected', { endpoints: store.endpoints.join(','), prefix: store.prefix });
    return store;
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreClosedError('the etcd store');
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    return withRetry(fn, {
      what: `etcd ${what}`,
      budgetMs: this.retryBudgetMs,
      isTransient: isTransientEtcdError,
      check: () => this.ensureOpen(),
      onRetry: (err, attempt, delayMs) =>
        log.debug('retrying', { what, attempt, delayMs, error: errorMessage(err) }),
    });
  }

  private full(key: string): Buffer {
    return Buffer.from(this.prefix + key);
  }

  private toEntry(kv: IKeyValue): Entry {
    const e: Entry = {
      key: kv.key.toString().slice(this.prefix.length),
      value: kv.value.toString(),
      revision: num(kv.mod_revision),
      createRevision: num(kv.create_revision),
    };
    if (kv.lease !== undefined && num(kv.lease) !== 0) e.lease = String(kv.lease);
    return e;
  }

  async get(key: string): Promise<Entry | undefined> {
    const res = await this.call('get', () => this.client.kv.range({ key: this.full(key) }));
    const kv = res.kvs[0];
    return kv === undefined ? undefined : this.toEntry(kv);
  }

  async getPrefix(prefix: string): Promise<Entry[]> {
    return (await this.snapshotPrefix(prefix)).entries;
  }

  async snapshotPrefix(prefix: string): Promise<PrefixSnapshot> {
    const key = this.full(prefix);
    const res = await this.call('range', () => this.client.kv.range({ key, range_end: prefixRangeEnd(key) }));
    return { entries: res.kvs.map((kv) => this.toEntry(kv)), revision: num(res.header.revision) };
  }

  /** The cluster's revision now (a linearizable read of one key's count). */
  private async currentRevision(key: Buffer): Promise<number> {
    const res = await this.call('range', () => this.client.kv.range({ key, count_only: true }));
    return num(res.header.revision);
  }

  async put(key: string, value: string, opts: PutOptions = {}): Promise<number> {
    const req = {
      key: this.full(key),
      value: Buffer.from(value),
      ...(opts.lease === undefined ? {} : { lease: opts.lease }),
    };
    const res = await this.call('put', () => this.client.kv.put(req)).catch((err: unknown) => {
      throw this.leaseError(err, opts.lease);
    });
    return num(res.header.revision);
  }

  async delete(key: string): Promise<number> {
    const res = await this.call('delete', () => this.client.kv.deleteRange({ key: this.full(key) }));
    return num(res.deleted);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const key = this.full(prefix);
    const res = await this.call('delete', () =>
      this.client.kv.deleteRange({ key, range_end: prefixRangeEnd(key) }),
    );
    return num(res.deleted);
  }

  private leaseError(err: unknown, lease: LeaseId | undefined): unknown {
    return err instanceof EtcdLeaseInvalidError && lease !== undefined
      ? new LeaseLostError(`lease ${lease} not found (expired or revoked)`, err)
      : err;
  }

  private compareOf(c: TxnCompare): ICompare {
    const key = this.full(c.key);
    if ('exists' in c)
      return { key, target: 'Create', result: c.exists ? 'Greater' : 'Equal', create_revision: 0 };
    if ('value' in c) return { key, target: 'Value', result: 'Equal', value: Buffer.from(c.value) };
    if ('modRevision' in c) return { key, target: 'Mod', result: 'Equal', mod_revision: c.modRevision };
    return { key, target: 'Create', result: 'Equal', create_revision: c.createRevision };
  }

  private opOf(op: TxnOp): IRequestOp {
    switch (op.op) {
      case 'put':
        return {
          request_put: {
            key: this.full(op.key),
            value: Buffer.from(op.value),
            ...(op.lease === undefined ? {} : { lease: op.lease }),
          },
        };
      case 'delete':
        return { request_delete_range: { key: this.full(op.key) } };
      case 'deletePrefix': {
        const key = this.full(op.prefix);
        return { request_delete_range: { key, range_end: prefixRangeEnd(key) } };
      }
      case 'get':
        return { request_range: { key: this.full(op.key) } };
      case 'getPrefix': {
        const key = this.full(op.prefix);
        return { request_range: { key, range_end: prefixRangeEnd(key) } };
      }
    }
  }

  private resultOf(op: TxnOp, r: IResponseOp | undefined): TxnOpResult {
    switch (op.op) {
      case 'put':
        return { op: 'put', revision: num(r?.response_put?.header.revision) };
      case 'delete':
      case 'deletePrefix':
        return { op: op.op, deleted: num(r?.response_delete_range?.deleted) };
      case 'get':
      case 'getPrefix':
        return { op: op.op, entries: (r?.response_range?.kvs ?? []).map((kv) => this.toEntry(kv)) };
    }
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    const failure = req.failure ?? [];
    const request = {
      compare: req.compare.map((c) => this.compareOf(c)),
      success: req.success.map((op) => this.opOf(op)),
      failure: failure.map((op) => this.opOf(op)),
    };
    const res = await this.call('txn', () => this.client.kv.txn(request)).catch((err: unknown) => {
      const lease = [...req.success, ...failure].find((op) => op.op === 'put' && op.lease !== undefined);
      throw this.leaseError(err, lease?.op === 'put' ? lease.lease : undefined);
    });
    const ops = res.succeeded ? req.success : failure;
    return {
      succeeded: res.succeeded,
      revision: num(res.header.revision),
      results: ops.map((op, i) => this.resultOf(op, res.responses[i])),
    };
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    checkLeaseTtl(ttlSeconds);
    return this.call('lease grant', async () => {
      const sentAt = Date.now();
      const inner = this.client.lease(ttlSeconds, { autoKeepAlive: true });
      // Without a listener etcd3 would report a failed grant as an unhandled 'lost' error.
      const onLost = (): void => undefined;
      inner.on('lost', onLost);
      let id: string;
      try {
        id = await inner.grant();
      } catch (err) {
        inner.release();
        throw err;
      }
      inner.off('lost', onLost);
      if (this.closed) {
        inner.release();
        throw new StoreClosedError('the etcd store');
      }
      const lease = new EtcdStoreLease(this, inner, id, ttlSeconds, sentAt);
      this.leases.add(lease);
      return lease;
    });
  }

  /** @internal */
  forgetLease(l: EtcdStoreLease): void {
    this.leases.delete(l);
  }

  async revokeLease(id: LeaseId): Promise<void> {
    try {
      await this.call('lease revoke', () => this.client.leaseClient.leaseRevoke({ ID: id }));
    } catch (err) {
      if (!(err instanceof EtcdLeaseInvalidError)) throw err;
    }
  }

  async watchPrefix(
    prefix: string,
    cb: (event: WatchEvent) => void,
    opts: WatchOptions = {},
  ): Promise<Watch> {
    this.ensureOpen();
    const key = this.full(prefix);
    // A watch without a start revision starts at the revision of the member
    // it reaches, and a follower may not yet have applied writes the caller
    // has seen acknowledged: it would deliver them as new. A linearizable
    // read of the current revision makes "from now" mean now on every member.
    const startRevision = opts.startRevision ?? (await this.currentRevision(key)) + 1;
    const watcher = this.client.watch().prefix(key).startRevision(String(startRevision)).watcher();
    this.watchers.add(watcher);
    // Next revision owed to the callback: drops replays after a reconnect.
    let resumeFrom = startRevision;
    let ended = false;
    const end = async (): Promise<void> => {
      if (ended) return;
      ended = true;
      this.watchers.delete(watcher);
      await cancelWatcher(watcher);
    };
    watcher.on('connected', () => {
      // etcd3 resumes after the creation header's revision, which would skip
      // history not yet delivered when the watch started in the past.
      watcher.request.start_revision = String(resumeFrom);
    });
    watcher.on('data', (res) => {
      let max = 0;
      for (const ev of res.events) {
        const revision = num(ev.kv.mod_revision);
        max = Math.max(max, revision);
        if (ended || revision < resumeFrom) continue;
        const event: WatchEvent =
          ev.type === 'Put'
            ? {
                type: 'put',
                key: ev.kv.key.toString().slice(this.prefix.length),
                value: ev.kv.value.toString(),
                revision,
                createRevision: num(ev.kv.create_revision),
              }
            : { type: 'delete', key: ev.kv.key.toString().slice(this.prefix.length), revision };
        try {
          cb(event);
        } catch (err) {
          log.error('watch callback threw', { key: event.key, error: errorMessage(err) });
        }
      }
      if (max > 0) resumeFrom = Math.max(resumeFrom, max + 1);
    });
    watcher.on('disconnected', (err) =>
      log.debug('watch disconnected; reconnecting', { prefix, error: err.message }),
    );
    // etcd cancels a watch without a reason only when its revision was compacted away.
    const failed = (err: Error): Error =>
      /compacted|Watcher canceled: ?$/.test(err.message)
        ? new StoreCompactedError(resumeFrom)
        : new StoreUnavailableError(`etcd watch on '${prefix}' ended: ${err.message}`, { cause: err });

    // One 'error' listener from the start: an EventEmitter without one would throw.
    let rejectCreate: ((err: Error) => void) | undefined;
    watcher.on('error', (err) => {
      if (ended) return;
      void end();
      const e = failed(err);
      if (rejectCreate !== undefined) rejectCreate(e);
      else if (opts.onError !== undefined) opts.onError(e);
      else log.error('watch ended', { prefix, error: e.message });
    });
    // etcd3 keeps reconnecting a watch forever; creating one must not hang forever.
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        rejectCreate = reject;
        watcher.once('connected', () => resolve());
        timer = setTimeout(
          () =>
            reject(
              new StoreUnavailableError(
                `etcd watch on '${prefix}' not established in ${this.retryBudgetMs} ms`,
              ),
            ),
          this.retryBudgetMs,
        );
      });
    } catch (err) {
      await end();
      throw err;
    } finally {
      rejectCreate = undefined;
      clearTimeout(timer);
    }
    return { close: end };
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
    for (const l of [...this.leases]) l.fail(new StoreClosedError('the etcd store'));
    await Promise.all([...this.watchers].map((w) => cancelWatcher(w)));
    this.watchers.clear();
    this.client.close();
  }
}

/** Cancelling waits for etcd to confirm; with etcd unreachable that could take forever. */
async function cancelWatcher(w: Watcher): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    w.cancel().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000);
    }),
  ]);
  clearTimeout(timer);
}
