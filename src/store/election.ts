/**
 * Leader election on top of the store's own primitives (lease, transaction,
 * list-then-watch), so both implementations elect the same way. It is etcd's
 * concurrency.Election algorithm: each candidate puts a key under the
 * election's prefix, attached to its lease; the key with the lowest create
 * revision leads; the others wait for the keys created before theirs to go.
 */
import { LifeboatError, ValidationError, errorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';
import { CampaignAbortedError, LeadershipLostError } from './errors.ts';
import { LossNotifier } from './loss-notifier.ts';
import type {
  CampaignOptions,
  ClusterStore,
  Entry,
  LeaderObserver,
  Lease,
  LeaseId,
  Leadership,
  TxnOpResult,
  Watch,
  WatchEvent,
} from './store.ts';

const log = createLogger('store/election');

/** Keys under this prefix belong to elections: `election/<name>/<candidateId>`. */
export const ELECTION_PREFIX = 'election/';
export const DEFAULT_CAMPAIGN_TTL_SECONDS = 5;

type Primitives = Pick<ClusterStore, 'grantLease' | 'txn' | 'snapshotPrefix' | 'watchPrefix'>;

function checkSegment(what: string, s: string): void {
  const control = [...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  if (s === '' || s.includes('/') || /\s/.test(s) || control) {
    throw new ValidationError(
      `invalid ${what} '${s}'`,
      `An ${what} is a non-empty string without '/', spaces or control characters.`,
    );
  }
}

export function electionPrefix(election: string): string {
  checkSegment('election name', election);
  return `${ELECTION_PREFIX}${election}/`;
}

function leaderOf(entries: Iterable<Pick<Entry, 'value' | 'createRevision'>>): string | undefined {
  let best: Pick<Entry, 'value' | 'createRevision'> | undefined;
  for (const e of entries) if (best === undefined || e.createRevision < best.createRevision) best = e;
  return best?.value;
}

function entriesOf(r: TxnOpResult | undefined): Entry[] {
  return r !== undefined && 'entries' in r ? r.entries : [];
}

export async function campaign(
  store: Primitives,
  election: string,
  candidateId: string,
  value: string,
  opts: CampaignOptions = {},
): Promise<Leadership> {
  const prefix = electionPrefix(election);
  checkSegment('candidate id', candidateId);
  const key = prefix + candidateId;
  const { signal } = opts;
  if (signal?.aborted) throw new CampaignAbortedError(election);

  const lease = await store.grantLease(opts.ttlSeconds ?? DEFAULT_CAMPAIGN_TTL_SECONDS);
  let stop: Error | undefined;
  let wake: (() => void) | undefined;
  const halt = (err: Error): void => {
    stop ??= err;
    wake?.();
  };
  const unsubscribe = lease.onLost((err) => halt(err));
  const onAbort = (): void => halt(new CampaignAbortedError(election));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const myRevision = await createCandidacy(store, election, key, value, lease);
    while (true) {
      if (stop !== undefined) throw stop;
      const snap = await store.snapshotPrefix(prefix);
      const mine = snap.entries.find((e) => e.key === key);
      if (mine === undefined || mine.createRevision !== myRevision) {
        throw new LeadershipLostError(election, 'the candidacy key was deleted before the election was won');
      }
      const ahead = new Set(snap.entries.filter((e) => e.createRevision < myRevision).map((e) => e.key));
      if (ahead.size === 0) {
        if (stop !== undefined) throw stop;
        log.info('elected', { election, candidate: candidateId });
        return await Elected.start(store, election, candidateId, value, key, lease, snap.revision + 1);
      }
      log.debug('waiting for earlier candidates', { election, candidate: candidateId, ahead: ahead.size });
      // Watching from the snapshot's revision closes the gap between reading and waiting.
      let fired = false;
      let notify = (): void => {
        fired = true;
      };
      const onEvent = (ev: WatchEvent): void => {
        if (ev.type === 'delete' && (ahead.has(ev.key) || ev.key === key)) notify();
      };
      const watch = await store.watchPrefix(prefix, onEvent, {
        startRevision: snap.revision + 1,
        onError: () => notify(),
      });
      try {
        await new Promise<void>((resolve) => {
          notify = resolve;
          wake = resolve;
          if (fired || stop !== undefined) resolve();
        });
      } finally {
        wake = undefined;
        await watch.close();
      }
    }
  } catch (err) {
    await lease.revoke().catch(() => undefined);
    throw err;
  } finally {
    unsubscribe();
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Puts the candidacy key; returns its create revision (the place in the queue). */
async function createCandidacy(
  store: Primitives,
  election: string,
  key: string,
  value: string,
  lease: Lease,
): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = await store.txn({
      compare: [{ key, exists: false }],
      success: [{ op: 'put', key, value, lease: lease.id }],
      failure: [{ op: 'get', key }],
    });
    if (r.succeeded) return r.revision;
    const existing = entriesOf(r.results[0])[0];
    if (existing === undefined) continue;
    // A retried transaction may find the key its first attempt wrote.
    if (existing.lease === lease.id) return existing.createRevision;
    // Same candidate id, other lease: an earlier incarnation of this candidate
    // whose lease has not run out yet. Replacing it beats waiting a full TTL.
    log.warn('replacing an older candidacy with the same id', { election, key, lease: existing.lease });
    await store.txn({ compare: [{ key, modRevision: existing.revision }], success: [{ op: 'delete', key }] });
  }
  throw new LifeboatError('campaign_conflict', `candidacy ${key} keeps being re-created by someone else`, {
    status: 409,
    hint: 'Two managers use the same candidate id: give each manager a unique name.',
  });
}

class Elected implements Leadership {
  private state: 'leader' | 'resigned' | 'lost' = 'leader';
  private readonly lost = new LossNotifier();
  private watch: Watch | undefined;
  private unsubscribeLease: () => void = () => undefined;

  private constructor(
    private readonly store: Primitives,
    readonly election: string,
    readonly candidateId: string,
    readonly value: string,
    private readonly key: string,
    private readonly lease: Lease,
  ) {}

  static async start(
    store: Primitives,
    election: string,
    candidateId: string,
    value: string,
    key: string,
    lease: Lease,
    fromRevision: number,
  ): Promise<Elected> {
    const l = new Elected(store, election, candidateId, value, key, lease);
    l.unsubscribeLease = lease.onLost((err) => l.lose('its lease was lost', err));
    await l.monitor(fromRevision);
    return l;
  }

  get isLeader(): boolean {
    return this.state === 'leader';
  }

  get leaseId(): LeaseId {
    return this.lease.id;
  }

  /** Someone deleting our key (an operator, a duplicate candidate) ends leadership too. */
  private async monitor(fromRevision: number): Promise<void> {
    const watch = await this.store.watchPrefix(
      this.key,
      (ev) => {
        if (ev.key === this.key && ev.type === 'delete') this.lose('its key was deleted');
      },
      { startRevision: fromRevision, onError: (err) => void this.rewatch(err) },
    );
    if (this.state !== 'leader') await watch.close();
    else this.watch = watch;
  }

  private async rewatch(err: Error): Promise<void> {
    if (this.state !== 'leader') return;
    log.warn('leadership watch failed; re-checking', { election: this.election, error: err.message });
    this.watch = undefined;
    try {
      const snap = await this.store.snapshotPrefix(this.key);
      const mine = snap.entries.find((e) => e.key === this.key);
      if (mine?.lease !== this.lease.id) this.lose('its key is gone');
      else await this.monitor(snap.revision + 1);
    } catch (e) {
      this.lose('the store could not confirm it', e);
    }
  }

  private lose(reason: string, cause?: unknown): void {
    if (this.state !== 'leader') return;
    this.state = 'lost';
    log.warn('leadership lost', { election: this.election, candidate: this.candidateId, reason });
    this.teardown();
    // The key may still exist (deleted watch, lost keepalive): make sure nobody waits on it.
    this.lease.revoke().catch(() => undefined);
    this.lost.fire(new LeadershipLostError(this.election, reason, cause));
  }

  private teardown(): void {
    this.unsubscribeLease();
    const w = this.watch;
    this.watch = undefined;
    w?.close().catch(() => undefined);
  }

  async resign(): Promise<void> {
    if (this.state !== 'leader') return;
    this.state = 'resigned';
    this.lost.clear();
    this.teardown();
    try {
      await this.lease.revoke();
      log.info('resigned', { election: this.election, candidate: this.candidateId });
    } catch (err) {
      // The lease stops being kept alive either way; it runs out after its TTL.
      log.warn('resign could not revoke the lease; it will expire', {
        election: this.election,
        error: errorMessage(err),
      });
    }
  }

  onLost(cb: (reason: Error) => void): () => void {
    if (this.state === 'resigned') return () => undefined;
    return this.lost.subscribe(cb);
  }
}

export async function leader(store: Primitives, election: string): Promise<string | undefined> {
  const snap = await store.snapshotPrefix(electionPrefix(election));
  return leaderOf(snap.entries);
}

const UNSET = Symbol('unset');

class Observer implements LeaderObserver {
  private closed = false;
  private watch: Watch | undefined;
  private current: string | undefined | typeof UNSET = UNSET;
  private candidates = new Map<string, { value: string; createRevision: number }>();
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Primitives,
    private readonly election: string,
    private readonly prefix: string,
    private readonly cb: (value: string | undefined) => void,
  ) {}

  async sync(): Promise<void> {
    const snap = await this.store.snapshotPrefix(this.prefix);
    if (this.closed) return;
    this.candidates = new Map(
      snap.entries.map((e) => [e.key, { value: e.value, createRevision: e.createRevision }]),
    );
    this.emit();
    const watch = await this.store.watchPrefix(this.prefix, (ev) => this.onEvent(ev), {
      startRevision: snap.revision + 1,
      onError: (err) => this.resync(err),
    });
    if (this.closed) await watch.close();
    else this.watch = watch;
  }

  private onEvent(ev: WatchEvent): void {
    if (ev.type === 'delete') {
      this.candidates.delete(ev.key);
    } else {
      const known = this.candidates.get(ev.key);
      this.candidates.set(ev.key, {
        value: ev.value ?? '',
        createRevision: ev.createRevision ?? known?.createRevision ?? ev.revision,
      });
    }
    this.emit();
  }

  private resync(err: unknown): void {
    if (this.closed) return;
    log.warn('leader observer lost its watch; re-reading', {
      election: this.election,
      error: errorMessage(err),
    });
    this.watch = undefined;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.closed) this.sync().catch((e: unknown) => this.resync(e));
    }, 500);
  }

  private emit(): void {
    const now = leaderOf(this.candidates.values());
    if (now === this.current) return;
    this.current = now;
    try {
      this.cb(now);
    } catch (err) {
      log.error('leader observer callback threw', { election: this.election, error: errorMessage(err) });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    const w = this.watch;
    this.watch = undefined;
    await w?.close();
  }
}

export async function observeLeader(
  store: Primitives,
  election: string,
  cb: (value: string | undefined) => void,
): Promise<LeaderObserver> {
  const o = new Observer(store, election, electionPrefix(election), cb);
  await o.sync();
  return o;
}
