import type { CheckpointGroup } from '../checkpoint/store/index.ts';
import {
  defaultMaxGroups,
  planTick,
  resumeTickerState,
  type RetentionConfig,
  type TickerState,
} from '../checkpoint/retention.ts';
import { SOFT_DIRTY_MISSING } from '../engine/errors.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import { createLogger, type Logger } from '../util/log.ts';
import type { ClusterState } from './cluster-state.ts';
import type { EventLog } from './events.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { ContainerRecord, TickerRecord } from './records.ts';
import { storeSharing } from './store-sharing.ts';

/**
 * Checkpoint tickers, thesis Algorithm 1: every container labelled with
 * `lifeboat.checkpoint.interval` gets its own repeating timer T_i; each pound
 * dumps one version V_i into the shared checkpoint store, starting a new
 * version group (with a pre-dump where the kernel allows) every VG_i
 * versions and keeping at most three groups. Numbering and retention are
 * the pure state machine in ../checkpoint/retention.ts; this file drives it.
 */

/** A repeating timer; returns its cancel function. */
export type SetTimer = (fn: () => void, intervalMs: number) => () => void;

export interface TickerServiceOptions {
  state: ClusterState;
  nodes: NodeDirectory;
  events: EventLog;
  now?: () => number;
  setTimer?: SetTimer;
  /** Version groups kept per container (Algorithm 1, line 10: 3). */
  maxGroups?: number;
  logger?: Logger;
}

export type TickOutcome =
  | { kind: 'done'; group: number; version: number; bytes: number; ms: number }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string };

export interface TickerStatus {
  container: string;
  node: string;
  intervalMs: number;
  versionGroup: number;
  /** The slot the next dump goes to; absent until numbering was resumed from the store. */
  next?: TickerState;
  inFlightMs?: number;
  lastCheckpointAt?: string;
  skippedSlow: number;
}

interface Entry {
  name: string;
  node: string;
  intervalMs: number;
  versionGroup: number;
  cancel: () => void;
  /** Bumped when the container changes host: a tick still running for the old host no longer counts. */
  epoch: number;
  state: TickerState | undefined;
  inFlight: { since: number; done: Promise<TickOutcome> } | undefined;
  lastSkip: string | undefined;
  lastCheckpointAt: string | undefined;
  skippedSlow: number;
}

const defaultSetTimer: SetTimer = (fn, ms) => {
  const h = setInterval(fn, ms);
  h.unref();
  return () => clearInterval(h);
};

export class TickerService {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly setTimer: SetTimer;
  private readonly maxGroups: number;
  private readonly log: Logger;

  constructor(private readonly o: TickerServiceOptions) {
    this.now = o.now ?? Date.now;
    this.setTimer = o.setTimer ?? defaultSetTimer;
    this.maxGroups = o.maxGroups ?? defaultMaxGroups;
    this.log = o.logger ?? createLogger('manager/tickers');
  }

  /** Starts the container's ticker (line 1: T_i and VG_i come from its labels). False: it has none. */
  async arm(container: string | ContainerRecord): Promise<boolean> {
    const rec = typeof container === 'string' ? (await this.o.state.container(container))?.record : container;
    if (!rec?.ticker) return false;
    const have = this.entries.get(rec.name);
    if (have) {
      if (have.node !== rec.node || have.intervalMs !== rec.ticker.intervalMs) await this.rearm(rec.name);
      return true;
    }
    const e: Entry = {
      name: rec.name,
      node: rec.node,
      intervalMs: rec.ticker.intervalMs,
      versionGroup: rec.ticker.versionGroup,
      cancel: () => undefined,
      epoch: 0,
      state: undefined,
      inFlight: undefined,
      lastSkip: undefined,
      lastCheckpointAt: undefined,
      skippedSlow: 0,
    };
    e.cancel = this.setTimer(() => void this.tick(rec.name), e.intervalMs);
    this.entries.set(rec.name, e);
    this.o.events.emit(
      'ticker.armed',
      `checkpoint ticker for ${rec.name} on ${rec.node}: every ${e.intervalMs} ms, ${e.versionGroup} versions per group`,
      {
        container: rec.name,
        node: rec.node,
        fields: { intervalMs: e.intervalMs, versionGroup: e.versionGroup },
      },
    );
    return true;
  }

  /**
   * After a move (migration, restore elsewhere): same cadence, the record's
   * new host. A tick still running for the old host is left to finish on its
   * own; numbering resumes from the store on the next tick.
   */
  async rearm(container: string): Promise<boolean> {
    const rec = (await this.o.state.container(container))?.record;
    if (!rec?.ticker) {
      await this.disarm(container);
      return false;
    }
    const e = this.entries.get(container);
    if (!e) return this.arm(rec);
    e.cancel();
    if (e.node !== rec.node) {
      e.epoch++;
      e.inFlight = undefined;
      e.state = undefined;
    }
    const from = e.node;
    e.node = rec.node;
    e.intervalMs = rec.ticker.intervalMs;
    e.versionGroup = rec.ticker.versionGroup;
    e.lastSkip = undefined;
    e.cancel = this.setTimer(() => void this.tick(container), e.intervalMs);
    this.o.events.emit(
      'ticker.rearmed',
      `checkpoint ticker for ${container} follows it ${from === rec.node ? 'on' : `from ${from} to`} ${rec.node}: every ${e.intervalMs} ms`,
      { container, node: rec.node },
    );
    return true;
  }

  /**
   * Stops the container's ticker and waits for a tick in flight to settle.
   * Not to be awaited from inside an operation the tick itself waits for.
   */
  async disarm(container: string): Promise<void> {
    const e = this.entries.get(container);
    if (!e) return;
    e.cancel();
    e.epoch++;
    this.entries.delete(container);
    this.o.events.emit('ticker.disarmed', `checkpoint ticker for ${container} stopped`, {
      container,
      node: e.node,
    });
    await e.inFlight?.done.catch(() => undefined);
  }

  /**
   * A new leader restarts every ticker (thesis 3.4.3): each container record
   * with a ticker config is armed; its numbering resumes on its first tick
   * from what the store holds and the `tickers/<name>` record.
   */
  async rebuild(): Promise<string[]> {
    const armed: string[] = [];
    for (const rec of await this.o.state.containers()) {
      if (rec.ticker && (await this.arm(rec))) armed.push(rec.name);
    }
    this.o.events.emit('ticker.rebuild', `restarted ${armed.length} checkpoint ticker(s) as the new leader`, {
      fields: { containers: armed.join(',') },
    });
    return armed;
  }

  /** Cancels every timer and waits for ticks in flight (leadership lost, shutdown). */
  async stopAll(): Promise<void> {
    const pending: Promise<unknown>[] = [];
    for (const e of this.entries.values()) {
      e.cancel();
      e.epoch++;
      if (e.inFlight) pending.push(e.inFlight.done.catch(() => undefined));
    }
    this.entries.clear();
    await Promise.all(pending);
  }

  armed(container: string): boolean {
    return this.entries.has(container);
  }

  status(): TickerStatus[] {
    return [...this.entries.values()].map((e) => ({
      container: e.name,
      node: e.node,
      intervalMs: e.intervalMs,
      versionGroup: e.versionGroup,
      ...(e.state ? { next: e.state } : {}),
      ...(e.inFlight ? { inFlightMs: this.now() - e.inFlight.since } : {}),
      ...(e.lastCheckpointAt ? { lastCheckpointAt: e.lastCheckpointAt } : {}),
      skippedSlow: e.skippedSlow,
    }));
  }

  /** One pound of T_i (lines 5-16). The timer calls it; tests may too. Never throws. */
  async tick(container: string): Promise<TickOutcome> {
    const e = this.entries.get(container);
    if (!e) return { kind: 'skipped', reason: 'no ticker armed' };
    if (e.inFlight) {
      // Never two dumps of one container at once: the slot is simply missed, as Go's time.Ticker drops ticks.
      e.skippedSlow++;
      const reason = `slow checkpoint: tick skipped, the checkpoint started ${this.now() - e.inFlight.since} ms ago is still running (interval ${e.intervalMs} ms)`;
      this.o.events.emit('checkpoint.skipped', `${container}: ${reason}`, {
        container,
        node: e.node,
        level: 'warn',
        fields: { reason: 'slow', skipped: e.skippedSlow },
      });
      return { kind: 'skipped', reason };
    }
    const since = this.now();
    const done = this.pound(e, e.epoch);
    e.inFlight = { since, done };
    try {
      return await done;
    } finally {
      if (e.inFlight?.done === done) e.inFlight = undefined;
    }
  }

  private skip(e: Entry, reason: string, level?: 'warn'): TickOutcome {
    if (e.lastSkip !== reason) {
      // once per change of reason: a stopped container must not flood the event log every T_i
      this.o.events.emit('checkpoint.skipped', `${e.name}: checkpoint skipped, ${reason}`, {
        container: e.name,
        node: e.node,
        ...(level ? { level } : {}),
        fields: { reason },
      });
      e.lastSkip = reason;
    } else {
      this.log.debug('checkpoint skipped', { container: e.name, reason });
    }
    return { kind: 'skipped', reason };
  }

  private async pound(e: Entry, epoch: number): Promise<TickOutcome> {
    const name = e.name;
    const t0 = this.now();
    let node = e.node;
    try {
      const rec = (await this.o.state.container(name))?.record;
      const ticker = rec?.ticker;
      if (!rec || !ticker) {
        void this.disarm(name);
        return {
          kind: 'skipped',
          reason: rec ? 'the container has no ticker any more' : 'container removed',
        };
      }
      // line 5: only while C_i runs, on a host that is up
      if (rec.phase !== 'running') return this.skip(e, `container is ${rec.phase}`);
      const host = (await this.o.nodes.healthy()).find((n) => n.report.name === rec.node);
      if (!host) return this.skip(e, `host ${rec.node} is not healthy`);
      // a private checkpoint directory would lose every version with its host: refused, loudly
      const healthy = await this.o.nodes.healthy();
      const store = storeSharing(
        rec.node,
        healthy.map((n) => ({
          name: n.report.name,
          ...(n.report.store ? { sees: n.report.store.sees } : {}),
        })),
      );
      if (store.sharing === 'private')
        return this.skip(
          e,
          `the checkpoint store of ${rec.node} is not the one ${store.apart.join(', ')} see${store.apart.length === 1 ? 's' : ''}` +
            `${host.report.store?.error ? ` (${host.report.store.error})` : ''}: its checkpoints would die with it; ` +
            'mount the same shared store at the same path on every host (docs/install.md)',
          'warn',
        );
      if (rec.node !== e.node) {
        // moved without a rearm (e.g. by another manager): follow the record
        e.node = rec.node;
        e.state = undefined;
      }
      node = rec.node;
      const cfg: RetentionConfig = { versionGroup: ticker.versionGroup, maxGroups: this.maxGroups };
      const client = this.o.nodes.client(node);
      const groups = await client.listCheckpoints(name);
      const state = e.state ?? (await this.resume(name, node, groups, cfg));
      if (e.epoch === epoch) e.state = state;
      const plan = planTick(
        state,
        cfg,
        groups.map((g) => g.group),
      );
      const { group, version } = plan.slot;
      let note: string | undefined;
      let preDumpMs: number | undefined;
      // lines 6-8: a new group starts with a pre-dump, where the kernel tracks dirty memory
      if (plan.slot.startsGroup) {
        if (host.report.capabilities.canPreDump) {
          const t = this.now();
          try {
            await client.preDump(name);
            preDumpMs = this.now() - t;
          } catch (err) {
            note = `pre-dump failed, full dump: ${errorMessage(err)}`;
          }
        } else {
          note = `pre-dump skipped: ${SOFT_DIRTY_MISSING}`;
        }
      }
      // line 9: dump V_i; the container keeps running
      const startedAt = new Date(this.now()).toISOString();
      const r = await client.checkpointToStore(
        name,
        name,
        { group, version },
        { leaveRunning: true, tcpEstablished: true },
      );
      // lines 10-12: more than three groups: delete the oldest
      const deleted: number[] = [];
      for (const g of plan.deleteAfterDump) {
        try {
          await client.deleteCheckpointGroup(name, g);
          deleted.push(g);
        } catch (err) {
          // still listed next tick, so retried then
          this.log.warn('could not delete an old checkpoint group', {
            container: name,
            group: g,
            error: errorMessage(err),
          });
        }
      }
      const ms = this.now() - t0;
      const at = new Date(this.now()).toISOString();
      // lines 13-16: V_i + 1, and a full group closes — in memory only if the container did not move meanwhile
      if (e.epoch === epoch) {
        e.state = plan.next;
        e.lastSkip = undefined;
        e.lastCheckpointAt = at;
      }
      await this.persist(name, { ...plan.next, lastCheckpointAt: at, lastNode: node });
      const frozenUs = r.manifest.criu?.['frozen_time_us'];
      this.o.events.emit(
        'checkpoint.done',
        `checkpoint of ${name} on ${node}: version ${version} in group ${group}, ${(r.manifest.size / 1e6).toFixed(1)} MB in ${ms} ms` +
          (frozenUs !== undefined ? `, frozen ${(frozenUs / 1000).toFixed(0)} ms` : '') +
          (deleted.length ? `; deleted group(s) ${deleted.join(', ')}` : '') +
          (note ? `; ${note}` : ''),
        {
          container: name,
          node,
          fields: {
            version,
            group,
            bytes: r.manifest.size,
            frozenTimeUs: frozenUs,
            durationMs: ms,
            dumpMs: r.timings.dumpMs,
            storeMs: r.timings.storeMs,
            preDumpMs,
            startedAt,
            deletedGroups: deleted.length ? deleted.join(',') : undefined,
            note: note ?? r.manifest.note,
          },
        },
      );
      return { kind: 'done', group, version, bytes: r.manifest.size, ms };
    } catch (err) {
      const reason = errorMessage(err);
      if (err instanceof LifeboatError && err.code === 'checkpoint_exists' && e.epoch === epoch) {
        // another writer took this slot (a tick of the old host finishing late): renumber from the store
        e.state = undefined;
      }
      // the state is not advanced: the same slot is tried on the next tick
      this.o.events.emit('checkpoint.failed', `checkpoint of ${name} on ${node} failed: ${reason}`, {
        container: name,
        node,
        level: 'warn',
        fields: { reason, durationMs: this.now() - t0 },
      });
      return { kind: 'failed', reason };
    }
  }

  /** The store now holds this version: record it for a new leader, never moving the numbering back. */
  private async persist(name: string, rec: TickerRecord): Promise<void> {
    try {
      const saved = await this.o.state.ticker(name);
      if (!saved || saved.version < rec.version) await this.o.state.putTicker(name, rec);
    } catch (err) {
      this.log.warn('could not persist ticker state', { container: name, error: errorMessage(err) });
    }
  }

  /**
   * Numbering to continue from (line 2 for a new container): what the store
   * lists, or the persisted ticker record when it is further along, so that
   * versions keep growing and restore candidates stay ordered.
   */
  private async resume(
    name: string,
    node: string,
    groups: readonly CheckpointGroup[],
    cfg: RetentionConfig,
  ): Promise<TickerState> {
    const fromStore = resumeTickerState(groups, cfg);
    const saved = await this.o.state.ticker(name).catch(() => undefined);
    let s = fromStore;
    let source = 'store';
    if (saved && saved.version > fromStore.version) {
      s =
        saved.group >= fromStore.group
          ? { version: saved.version, group: saved.group, inGroup: saved.inGroup }
          : { ...fromStore, version: saved.version };
      source = 'ticker record';
    }
    if (s.version > 0) {
      const versions = groups.reduce((n, g) => n + g.versions.length, 0);
      this.o.events.emit(
        'ticker.resumed',
        `checkpoint ticker for ${name} resumes at version ${s.version} in group ${s.group} (from the ${source}; the store holds ${versions} version(s) in ${groups.length} group(s))`,
        { container: name, node, fields: { version: s.version, group: s.group, inGroup: s.inGroup, source } },
      );
    }
    return s;
  }
}
