import { createLogger } from '../util/log.ts';
import { errorMessage } from '../util/errors.ts';
import type { ClusterStore, Watch, WatchEvent } from './store.ts';

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
 * store is unreachable fails as a store read would.
 */
export class PrefixMirror<T> {
  private readonly raw = new Map<string, { value: string; revision: number }>();
  private readonly parsed = new Map<string, { revision: number; value: T }>();
  private syncing: Promise<void> | undefined;
  private watch: Watch | undefined;
  private closed = false;

  constructor(
    private readonly store: Pick<ClusterStore, 'snapshotPrefix' | 'watchPrefix'>,
    private readonly prefix: string,
    private readonly parse: (key: string, value: string) => T,
    private readonly onClose?: () => void,
  ) {}

  /** Every value under the prefix, in key order. */
  async get(): Promise<T[]> {
    return (await this.entries()).map((e) => e.value);
  }

  /** Every key (without the prefix) with its value and the revision it was written at, in key order. */
  async entries(): Promise<{ key: string; value: T; revision: number }[]> {
    if (this.closed) throw new Error(`the mirror of ${this.prefix} is closed`);
    await (this.syncing ??= this.sync());
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
    return out;
  }

  /**
   * A write this process made (`key` without the prefix, at `revision`): seen
   * by its next read, before the watch delivers it.
   */
  wrote(key: string, value: T, revision: number): void {
    const have = this.raw.get(key);
    if (have && have.revision >= revision) return;
    // the text is never parsed: the value is held at the same revision
    this.raw.set(key, { value: '', revision });
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
      this.raw.clear();
      for (const e of snap.entries)
        this.raw.set(e.key.slice(this.prefix.length), { value: e.value, revision: e.revision });
      // the watch may end before watchPrefix has returned it
      const w: { watch?: Watch; failed?: Error } = {};
      const watch = await this.store.watchPrefix(this.prefix, (ev) => this.apply(ev), {
        startRevision: snap.revision + 1,
        onError: (err) => {
          if (w.watch) this.lost(w.watch, err);
          else w.failed = err;
        },
      });
      w.watch = watch;
      if (this.closed) await watch.close();
      else if (w.failed) this.lost(watch, w.failed);
      else this.watch = watch;
    } catch (err) {
      // the next read tries again
      this.syncing = undefined;
      throw err;
    }
  }

  private apply(ev: WatchEvent): void {
    const key = ev.key.slice(this.prefix.length);
    const have = this.raw.get(key);
    if (have && have.revision >= ev.revision) return;
    if (ev.type === 'put') this.raw.set(key, { value: ev.value ?? '', revision: ev.revision });
    else this.raw.delete(key);
  }

  private lost(watch: Watch, err: Error): void {
    if (this.closed) return;
    log.warn('the watch ended; the next read lists the prefix again', {
      prefix: this.prefix,
      error: errorMessage(err),
    });
    if (this.watch === watch) this.watch = undefined;
    void watch.close().catch(() => undefined);
    this.syncing = undefined;
  }
}
