import { createLogger } from '../util/log.ts';
import { errorMessage } from '../util/errors.ts';
import type { ClusterStore, PrefixSnapshot, Watch, WatchEvent } from './store.ts';

const log = createLogger('store/mirror');

/**
 * Every key under a prefix, kept in memory by one list-then-watch: reads cost
 * no store round trip. A manager of 200 hosts read every host record (each
 * with its host's full report, ~10 MB together) from etcd for every `docker
 * ps`, every placement (twice) and every `lifeboat node ls`; the scale bench
 * measured placement p99 at 913 ms for it (issue 22).
 *
 * The mirror is as fresh as the watch (etcd delivers within milliseconds):
 * a reader may miss a write made a moment ago by another replica. Decisions
 * that must see the latest write (the failure detector's verdicts) read the
 * store. Each key keeps the revision it was last written at, so an event
 * delivered late never replaces a newer value. Values are parsed when read,
 * and only those that changed since the last read.
 *
 * When the watch ends (its start revision compacted away, the store closed)
 * the next read lists the prefix again and watches anew; a read while the
 * store is unreachable fails as a store read would. A watch can also stall
 * without ending: a read a minute after the last list lists again in the
 * background, and logs what the watch had missed.
 */
export class PrefixMirror<T> {
  private readonly raw = new Map<string, { value: string; revision: number }>();
  private readonly parsed = new Map<string, { revision: number; value: T }>();
  /** What entries() answered, until the next change (heartbeats read the same records 200 times a second). */
  private listed: { key: string; value: T; revision: number }[] | undefined;
  private syncing: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private syncedAt = 0;
  private watch: Watch | undefined;
  private closed = false;
  private readonly resyncEveryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: Pick<ClusterStore, 'snapshotPrefix' | 'watchPrefix'>,
    private readonly prefix: string,
    private readonly parse: (key: string, value: string) => T,
    private readonly onClose?: () => void,
    opts: {
      /** A read this long after the last list lists again in the background (default 60 s). */
      resyncEveryMs?: number;
      now?: () => number;
    } = {},
  ) {
    this.resyncEveryMs = opts.resyncEveryMs ?? 60_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Every value under the prefix, in key order. */
  async get(): Promise<T[]> {
    return (await this.entries()).map((e) => e.value);
  }

  /** Every key (without the prefix) with its value and the revision it was written at, in key order. */
  async entries(): Promise<{ key: string; value: T; revision: number }[]> {
    if (this.closed) throw new Error(`the mirror of ${this.prefix} is closed`);
    await (this.syncing ??= this.sync());
    if (!this.refreshing && this.now() - this.syncedAt >= this.resyncEveryMs)
      this.refreshing = this.refresh()
        .catch((err: unknown) =>
          log.warn('listing the prefix again failed; the next read tries again', {
            prefix: this.prefix,
            error: errorMessage(err),
          }),
        )
        .finally(() => (this.refreshing = undefined));
    if (this.listed) return this.listed.slice();
    const out: { key: string; value: T; revision: number }[] = [];
    for (const [key, e] of [...this.raw].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const have = this.parsed.get(key);
      if (have && have.revision === e.revision) {
        out.push({ key, value: have.value, revision: e.revision });
        continue;
      }
      const value = this.parse(key, e.value);
      this.parsed.set(key, { revision: e.revision, value });
      out.push({ key, value, revision: e.revision });
    }
    for (const key of this.parsed.keys()) if (!this.raw.has(key)) this.parsed.delete(key);
    this.listed = out;
    return out.slice();
  }

  /**
   * A write this process made (`key` without the prefix, at `revision`): seen
   * by its next read, before the watch delivers it.
   */
  wrote(key: string, value: T, revision: number): void {
    const have = this.raw.get(key);
    if (have && have.revision >= revision) return;
    // the text is never parsed: the value is held at the same revision
    this.setRaw(key, '', revision);
    this.parsed.set(key, { revision, value });
  }

  async close(): Promise<void> {
    if (!this.closed) this.onClose?.();
    this.closed = true;
    const w = this.watch;
    this.watch = undefined;
    await w?.close().catch(() => undefined);
  }

  private async sync(): Promise<void> {
    try {
      const snap = await this.store.snapshotPrefix(this.prefix);
      this.merge(snap);
      await this.watchFrom(snap.revision + 1);
    } catch (err) {
      // the next read tries again
      this.syncing = undefined;
      throw err;
    }
  }

  /**
   * Lists the prefix again and watches anew, without holding up readers: a
   * watch can stall without ending (a half-open stream), and nothing else
   * would tell. What the list shows that the watch missed is logged.
   */
  private async refresh(): Promise<void> {
    const snap = await this.store.snapshotPrefix(this.prefix);
    const missed = this.merge(snap);
    if (missed > 0)
      log.warn('the watch had missed changes; listed again and watching anew', {
        prefix: this.prefix,
        missed,
      });
    const old = this.watch;
    await this.watchFrom(snap.revision + 1);
    // events both watches deliver are applied once (revisions)
    if (old && old !== this.watch) await old.close().catch(() => undefined);
  }

  /**
   * Takes what a list shows: newer values, and the removal of keys it lacks
   * that were written no later than it was read. Returns how many keys it changed.
   */
  private merge(snap: PrefixSnapshot): number {
    let changed = 0;
    const listed = new Set<string>();
    for (const e of snap.entries) {
      const key = e.key.slice(this.prefix.length);
      listed.add(key);
      const have = this.raw.get(key);
      if (have && have.revision >= e.revision) continue;
      this.setRaw(key, e.value, e.revision);
      changed++;
    }
    for (const [key, have] of this.raw)
      if (!listed.has(key) && have.revision <= snap.revision) {
        this.deleteRaw(key);
        changed++;
      }
    this.syncedAt = this.now();
    return changed;
  }

  private async watchFrom(startRevision: number): Promise<void> {
    // the watch may end before watchPrefix has returned it
    const w: { watch?: Watch; failed?: Error } = {};
    const watch = await this.store.watchPrefix(this.prefix, (ev) => this.apply(ev), {
      startRevision,
      onError: (err) => {
        if (w.watch) this.lost(w.watch, err);
        else w.failed = err;
      },
    });
    w.watch = watch;
    if (this.closed) await watch.close();
    else if (w.failed) this.lost(watch, w.failed);
    else this.watch = watch;
  }

  private setRaw(key: string, value: string, revision: number): void {
    this.raw.set(key, { value, revision });
    this.listed = undefined;
  }

  private deleteRaw(key: string): void {
    if (this.raw.delete(key)) this.listed = undefined;
  }

  private apply(ev: WatchEvent): void {
    const key = ev.key.slice(this.prefix.length);
    const have = this.raw.get(key);
    if (have && have.revision >= ev.revision) return;
    if (ev.type === 'put') this.setRaw(key, ev.value ?? '', ev.revision);
    else this.deleteRaw(key);
  }

  private lost(watch: Watch, err: Error): void {
    void watch.close().catch(() => undefined);
    // a watch a refresh replaced may end as it is closed: nothing is lost with it
    if (this.closed || (this.watch !== undefined && this.watch !== watch)) return;
    log.warn('the watch ended; the next read lists the prefix again', {
      prefix: this.prefix,
      error: errorMessage(err),
    });
    this.watch = undefined;
    this.syncing = undefined;
  }
}
