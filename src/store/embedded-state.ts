/**
 * The data behind an EmbeddedStore: keys with etcd-like revisions, leases with
 * expiry timers, watchers, and persistence to one JSON file. Shared by all
 * client handles of one embedded store (see EmbeddedStore.connect).
 *
 * Durability: a write resolves only after a file containing it is on disk
 * (concurrent writes share one fsync), and watchers hear of a change only
 * then, so nobody acts on a change a crash could undo. Keys attached to
 * leases are never written: after a restart they are gone, as in etcd once
 * their TTL passed. The revision counter is written with every change, so it
 * keeps increasing across restarts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ValidationError, errorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';
import { writeFileAtomic, lockFile } from './atomic-file.ts';
import {
  LeaseLostError,
  StoreClosedError,
  StoreCompactedError,
  StoreCorruptError,
  StoreUnavailableError,
} from './errors.ts';
import type {
  Entry,
  LeaseId,
  PrefixSnapshot,
  TxnCompare,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  WatchEvent,
} from './store.ts';

const log = createLogger('store/embedded');

const FILE_FORMAT = 'lifeboat-embedded-store';
const FILE_VERSION = 1;
/** Changes kept in memory for watches that start in the past. */
const HISTORY_LIMIT = 10_000;

interface KeyRecord {
  value: string;
  createRevision: number;
  modRevision: number;
  lease?: LeaseId;
}

interface LeaseRecord {
  ttlMs: number;
  deadline: number;
  keys: Set<string>;
  timer: NodeJS.Timeout;
  onEnd: Set<(reason: 'expired' | 'revoked') => void>;
}

export interface WatcherHandle {
  close(): void;
}

interface WatcherRecord {
  prefix: string;
  fromRevision: number;
  cb: (ev: WatchEvent) => void;
  queue: WatchEvent[];
  scheduled: boolean;
  closed: boolean;
}

interface StateFile {
  format: string;
  version: number;
  revision: number;
  keys: { key: string; value: string; createRevision: number; revision: number }[];
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '')
    throw new ValidationError('store keys must be non-empty strings');
}

function toEntry(key: string, r: KeyRecord): Entry {
  return r.lease === undefined
    ? { key, value: r.value, revision: r.modRevision, createRevision: r.createRevision }
    : { key, value: r.value, revision: r.modRevision, createRevision: r.createRevision, lease: r.lease };
}

function parseStateFile(path: string, text: string): StateFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new StoreCorruptError(path, `not JSON (${errorMessage(err)})`);
  }
  const d = doc as Partial<StateFile> | null;
  if (d === null || typeof d !== 'object' || d.format !== FILE_FORMAT) {
    throw new StoreCorruptError(path, `not a ${FILE_FORMAT} file`);
  }
  if (d.version !== FILE_VERSION) {
    throw new StoreCorruptError(
      path,
      `format version ${String(d.version)}, this lifeboat reads ${FILE_VERSION}`,
    );
  }
  if (!Number.isSafeInteger(d.revision) || (d.revision ?? -1) < 0 || !Array.isArray(d.keys)) {
    throw new StoreCorruptError(path, 'missing revision or keys');
  }
  for (const k of d.keys) {
    if (
      typeof k?.key !== 'string' ||
      typeof k.value !== 'string' ||
      !Number.isSafeInteger(k.createRevision) ||
      !Number.isSafeInteger(k.revision)
    ) {
      throw new StoreCorruptError(path, `bad key record ${JSON.stringify(k)}`);
    }
  }
  return d as StateFile;
}

export class EmbeddedState {
  private readonly data = new Map<string, KeyRecord>();
  private rev = 0;
  /** Watches cannot start at or before this revision: no history for it. */
  private compacted = 0;
  private readonly history: WatchEvent[] = [];
  /** Applied in memory, not yet on disk (and not yet told to watchers). */
  private pending: WatchEvent[] = [];
  private readonly leases = new Map<LeaseId, LeaseRecord>();
  private readonly watchers = new Set<WatcherRecord>();
  private writeGen = 0;
  private durableGen = 0;
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly path: string | undefined,
    private readonly unlock: () => Promise<void>,
  ) {}

  /** Without a path the state lives in memory only. */
  static async open(path?: string): Promise<EmbeddedState> {
    if (path === undefined) return new EmbeddedState(undefined, async () => undefined);
    await mkdir(dirname(path), { recursive: true });
    const unlock = await lockFile(path);
    try {
      const state = new EmbeddedState(path, unlock);
      let text: string | undefined;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (text !== undefined) {
        const file = parseStateFile(path, text);
        state.rev = file.revision;
        for (const k of file.keys) {
          state.data.set(k.key, {
            value: k.value,
            createRevision: k.createRevision,
            modRevision: k.revision,
          });
        }
      }
      state.compacted = state.rev;
      log.info('state loaded', { path, keys: state.data.size, revision: state.rev });
      return state;
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  get revision(): number {
    return this.rev;
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreClosedError('the embedded store');
  }

  get(key: string): Entry | undefined {
    this.ensureOpen();
    checkKey(key);
    const r = this.data.get(key);
    return r === undefined ? undefined : toEntry(key, r);
  }

  snapshotPrefix(prefix: string): PrefixSnapshot {
    this.ensureOpen();
    return { entries: this.rangePrefix(prefix), revision: this.rev };
  }

  private rangePrefix(prefix: string): Entry[] {
    const out: Entry[] = [];
    for (const [k, r] of this.data) if (k.startsWith(prefix)) out.push(toEntry(k, r));
    // etcd orders by key bytes; for the ASCII keys lifeboat uses that is code-unit order.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private compare(c: TxnCompare): boolean {
    checkKey(c.key);
    const r = this.data.get(c.key);
    if ('exists' in c) return (r !== undefined) === c.exists;
    if ('value' in c) return r !== undefined && r.value === c.value;
    if ('modRevision' in c) return (r?.modRevision ?? 0) === c.modRevision;
    return (r?.createRevision ?? 0) === c.createRevision;
  }

  /**
   * Applies a transaction atomically in memory. `durable` settles once it is
   * on disk; the caller must await it before reporting success.
   */
  txn(req: TxnRequest): { result: TxnResult; durable: Promise<void> } {
    this.ensureOpen();
    const succeeded = req.compare.every((c) => this.compare(c));
    const ops = succeeded ? req.success : (req.failure ?? []);
    for (const op of ops) {
      if (op.op === 'put' || op.op === 'delete' || op.op === 'get') checkKey(op.key);
      if (op.op === 'put' && op.lease !== undefined && !this.leases.has(op.lease)) {
        throw new LeaseLostError(`lease ${op.lease} not found (expired or revoked)`);
      }
    }
    const next = this.rev + 1;
    const changes: WatchEvent[] = [];
    const results = ops.map((op) => this.apply(op, next, changes));
    if (changes.length > 0) this.rev = next;
    return {
      result: { succeeded, revision: this.rev, results },
      durable: changes.length > 0 ? this.commit(changes) : Promise.resolve(),
    };
  }

  private apply(op: TxnOp, rev: number, changes: WatchEvent[]): TxnOpResult {
    switch (op.op) {
      case 'get': {
        const r = this.data.get(op.key);
        return { op: 'get', entries: r === undefined ? [] : [toEntry(op.key, r)] };
      }
      case 'getPrefix':
        return { op: 'getPrefix', entries: this.rangePrefix(op.prefix) };
      case 'put': {
        const old = this.data.get(op.key);
        this.detachLease(op.key, old);
        const rec: KeyRecord = {
          value: op.value,
          createRevision: old?.createRevision ?? rev,
          modRevision: rev,
        };
        if (op.lease !== undefined) {
          rec.lease = op.lease;
          this.leases.get(op.lease)?.keys.add(op.key);
        }
        this.data.set(op.key, rec);
        changes.push({
          type: 'put',
          key: op.key,
          value: op.value,
          revision: rev,
          createRevision: rec.createRevision,
        });
        return { op: 'put', revision: rev };
      }
      case 'delete':
        return { op: 'delete', deleted: this.remove(op.key, rev, changes) ? 1 : 0 };
      case 'deletePrefix': {
        let deleted = 0;
        for (const e of this.rangePrefix(op.prefix)) if (this.remove(e.key, rev, changes)) deleted++;
        return { op: 'deletePrefix', deleted };
      }
    }
  }

  private remove(key: string, rev: number, changes: WatchEvent[]): boolean {
    const old = this.data.get(key);
    if (old === undefined) return false;
    this.detachLease(key, old);
    this.data.delete(key);
    changes.push({ type: 'delete', key, revision: rev });
    return true;
  }

  private detachLease(key: string, rec: KeyRecord | undefined): void {
    if (rec?.lease !== undefined) this.leases.get(rec.lease)?.keys.delete(key);
  }

  // ---- leases

  grantLease(ttlSeconds: number): LeaseId {
    this.ensureOpen();
    let id: LeaseId;
    do id = (randomBytes(8).readBigUInt64BE() >> 1n).toString();
    while (id === '0' || this.leases.has(id));
    const ttlMs = ttlSeconds * 1000;
    const rec: LeaseRecord = {
      ttlMs,
      deadline: Date.now() + ttlMs,
      keys: new Set(),
      timer: setTimeout(() => this.checkExpiry(id), ttlMs),
      onEnd: new Set(),
    };
    this.leases.set(id, rec);
    return id;
  }

  /** False when the lease no longer exists. */
  keepAlive(id: LeaseId): boolean {
    const rec = this.leases.get(id);
    if (rec === undefined || this.closed) return false;
    rec.deadline = Date.now() + rec.ttlMs;
    return true;
  }

  /** `cb` hears when the lease ends (expiry or revocation by anyone). */
  onLeaseEnd(id: LeaseId, cb: (reason: 'expired' | 'revoked') => void): () => void {
    const rec = this.leases.get(id);
    if (rec === undefined) {
      queueMicrotask(() => cb('expired'));
      return () => undefined;
    }
    rec.onEnd.add(cb);
    return () => rec.onEnd.delete(cb);
  }

  private checkExpiry(id: LeaseId): void {
    const rec = this.leases.get(id);
    if (rec === undefined || this.closed) return;
    const left = rec.deadline - Date.now();
    if (left > 0) {
      rec.timer = setTimeout(() => this.checkExpiry(id), left);
      return;
    }
    log.debug('lease expired', { lease: id, keys: rec.keys.size });
    this.endLease(id, 'expired').catch((err: unknown) =>
      log.error('could not persist a lease expiry', { lease: id, error: errorMessage(err) }),
    );
  }

  revokeLease(id: LeaseId): Promise<void> {
    this.ensureOpen();
    return this.endLease(id, 'revoked');
  }

  private endLease(id: LeaseId, reason: 'expired' | 'revoked'): Promise<void> {
    const rec = this.leases.get(id);
    if (rec === undefined) return Promise.resolve();
    clearTimeout(rec.timer);
    this.leases.delete(id);
    const next = this.rev + 1;
    const changes: WatchEvent[] = [];
    for (const key of [...rec.keys].sort()) this.remove(key, next, changes);
    const listeners = [...rec.onEnd];
    queueMicrotask(() => listeners.forEach((cb) => cb(reason)));
    if (changes.length === 0) return Promise.resolve();
    this.rev = next;
    return this.commit(changes);
  }

  // ---- watches

  addWatcher(prefix: string, cb: (ev: WatchEvent) => void, startRevision?: number): WatcherHandle {
    this.ensureOpen();
    const from = startRevision ?? this.rev + 1;
    if (from <= this.compacted) throw new StoreCompactedError(from, this.compacted);
    const w: WatcherRecord = { prefix, fromRevision: from, cb, queue: [], scheduled: false, closed: false };
    this.watchers.add(w);
    if (startRevision !== undefined) this.deliver(w, this.history);
    return {
      close: () => {
        w.closed = true;
        this.watchers.delete(w);
      },
    };
  }

  private deliver(w: WatcherRecord, events: WatchEvent[]): void {
    for (const ev of events) {
      if (ev.revision >= w.fromRevision && ev.key.startsWith(w.prefix)) w.queue.push(ev);
    }
    if (w.queue.length === 0 || w.scheduled) return;
    w.scheduled = true;
    setImmediate(() => {
      w.scheduled = false;
      const batch = w.queue;
      w.queue = [];
      for (const ev of batch) {
        if (w.closed) return;
        try {
          w.cb(ev);
        } catch (err) {
          log.error('watch callback threw', { key: ev.key, error: errorMessage(err) });
        }
      }
    });
  }

  // ---- persistence

  private commit(changes: WatchEvent[]): Promise<void> {
    this.pending.push(...changes);
    this.writeGen++;
    return this.persist();
  }

  private async persist(): Promise<void> {
    const target = this.writeGen;
    while (this.durableGen < target) {
      this.flushing ??= this.flushOnce().finally(() => {
        this.flushing = undefined;
      });
      await this.flushing;
    }
  }

  private async flushOnce(): Promise<void> {
    const gen = this.writeGen;
    const count = this.pending.length;
    if (this.path !== undefined) {
      const keys: StateFile['keys'] = [];
      for (const [key, r] of this.data) {
        if (r.lease === undefined) {
          keys.push({ key, value: r.value, createRevision: r.createRevision, revision: r.modRevision });
        }
      }
      const file: StateFile = { format: FILE_FORMAT, version: FILE_VERSION, revision: this.rev, keys };
      try {
        await writeFileAtomic(this.path, JSON.stringify(file) + '\n');
      } catch (err) {
        this.scheduleRetry();
        throw new StoreUnavailableError(`could not write state file ${this.path}: ${errorMessage(err)}`, {
          hint: 'Check free space and permissions of the state file directory.',
          cause: err,
        });
      }
    } else {
      await Promise.resolve();
    }
    this.durableGen = gen;
    const batch = this.pending.splice(0, count);
    this.remember(batch);
    for (const w of this.watchers) this.deliver(w, batch);
  }

  /** A failed write is retried even if nothing else is written, so watchers are not stalled forever. */
  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.persist().catch(() => undefined);
    }, 1000);
    this.retryTimer.unref();
  }

  private remember(batch: WatchEvent[]): void {
    this.history.push(...batch);
    if (this.history.length <= HISTORY_LIMIT) return;
    const cut = this.history[this.history.length - HISTORY_LIMIT]?.revision ?? this.compacted;
    let n = 0;
    while (n < this.history.length && (this.history[n]?.revision ?? 0) <= cut) n++;
    this.history.splice(0, n);
    this.compacted = cut;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.persist();
    } finally {
      this.closed = true;
      if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
      for (const rec of this.leases.values()) clearTimeout(rec.timer);
      this.leases.clear();
      for (const w of this.watchers) w.closed = true;
      this.watchers.clear();
      await this.unlock();
    }
  }
}
