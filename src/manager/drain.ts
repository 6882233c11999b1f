import { errorMessage, LifeboatError } from '../util/errors.ts';
import { createLogger, type Logger } from '../util/log.ts';
import type { ClusterState } from './cluster-state.ts';
import type { EventLog } from './events.ts';
import { ensureImage } from './images.ts';
import type { MigrateRequest, MigrationResult, MigrationStep } from './migrate.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { AvailabilityRecord, ContainerRecord, DrainProgress } from './records.ts';
import type { Scheduler } from '../scheduler/index.ts';
import { requestFor, toSchedNode, withoutNodePins } from './sched-view.ts';
import { moveBlocker } from './move-blocker.ts';
import { DEFAULT_STALE_MOVE_MS } from './settle-moves.ts';
import { hasNeeds, needsOf, type LocalResources } from './local-resources.ts';

/** Parallel moves when not asked: enough to overlap one move's dump with another's transfer, bounded by the source's CPUs and the targets. */
export function autoParallel(sourceCpus: number, targets: number): number {
  return Math.max(1, Math.min(4, targets * 2, Math.max(1, Math.floor(sourceCpus))));
}

export interface DrainDeps {
  state: ClusterState;
  nodes: NodeDirectory;
  scheduler: Scheduler;
  events: EventLog;
  migrate: (req: MigrateRequest, onStep?: (s: MigrationStep) => void) => Promise<MigrationResult>;
  /** Per-container exclusive section shared with migrations and restores. */
  exclusive: <T>(container: string, fn: () => Promise<T>) => Promise<T>;
  /** The container's ticker follows it (as after a migration). */
  rearmTicker?: (container: string) => Promise<unknown>;
  /** Host paths every host shares: binds below them do not keep a container from moving. */
  sharedPaths?: string[];
  /** Networks and volumes: containers sharing them move together (migrate --with-network). */
  resources?: LocalResources;
  logger?: Logger;
}

export interface DrainEvent {
  container: string;
  outcome: 'moved' | 'restarted' | 'left' | 'failed' | 'moving';
  to?: string;
  ms?: number;
  frozenMs?: number;
  why?: string;
}

/**
 * `lifeboat node drain`: the host is marked drained (it takes no new
 * container: the scheduler's health filter skips it), then every container
 * on it goes elsewhere by its own placement rules. Running ones that can
 * move live are migrated, `parallel` at a time; with `force`, restore-policy
 * containers that cannot move live are stopped and started elsewhere
 * without their state; everything else stays and is listed with the reason.
 * The progress lives in the store (availability/<host>): a new leader
 * resumes a drain its predecessor left running.
 */
export class DrainService {
  private readonly log: Logger;
  private readonly running = new Map<string, Promise<DrainProgress>>();

  constructor(private readonly d: DrainDeps) {
    this.log = d.logger ?? createLogger('manager/drain');
  }

  async drain(
    node: string,
    opts: { force?: boolean; parallel?: number; by?: string } = {},
    onEvent: (e: DrainEvent) => void = () => undefined,
  ): Promise<DrainProgress> {
    const all = await this.d.nodes.all();
    const host = all.find((n) => n.report.name === node);
    if (!host)
      throw new LifeboatError('no_such_node', `no host named ${node}`, {
        status: 404,
        hint: `hosts: ${all.map((n) => n.report.name).join(', ') || 'none'}`,
      });
    const already = this.running.get(node);
    if (already) return already;
    const healthy = await this.d.nodes.healthy();
    const targets = healthy.filter((n) => n.report.name !== node && n.availability !== 'drain');
    const parallel = opts.parallel ?? autoParallel(host.report.cpus, targets.length);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 16)
      throw new LifeboatError('invalid_parallel', `parallel must be 1 to 16, got ${parallel}`, {
        status: 400,
      });
    const rec: AvailabilityRecord = {
      state: 'drain',
      since: new Date().toISOString(),
      ...(opts.by ? { by: opts.by } : {}),
      drain: {
        status: 'running',
        force: opts.force === true,
        parallel,
        startedAt: new Date().toISOString(),
        moved: [],
        restarted: [],
        left: [],
        failed: [],
      },
    };
    await this.d.state.putAvailability(node, rec);
    this.d.events.emit(
      'drain.start',
      `draining ${node}: it takes no new container; moving its containers off, ${parallel} at a time${opts.force ? ' (--force: restore-policy containers that cannot move live restart elsewhere)' : ''}`,
      { node, fields: { parallel, force: opts.force === true } },
    );
    return this.run(node, rec, onEvent);
  }

  /** Ends a drain: the host takes containers again. A drain still running stops after the moves under way. */
  async activate(node: string): Promise<{ wasDrained: boolean; progress?: DrainProgress }> {
    const rec = await this.d.state.availability(node);
    if (!rec) return { wasDrained: false };
    await this.d.state.deleteAvailability(node);
    this.d.events.emit('drain.activate', `${node} is active again: it takes new containers`, { node });
    return { wasDrained: true, progress: rec.drain };
  }

  /** For a new leader: drains left running by its predecessor go on. */
  async resume(): Promise<void> {
    for (const [node, rec] of await this.d.state.availabilities()) {
      if (rec.drain.status !== 'running' || this.running.has(node)) continue;
      this.log.info('resuming a drain the previous leader left running', { node });
      this.d.events.emit('drain.resume', `resuming the drain of ${node}`, { node });
      void this.run(node, rec, () => undefined).catch((err: unknown) =>
        this.log.warn('resumed drain failed', { node, error: errorMessage(err) }),
      );
    }
  }

  private run(
    node: string,
    rec: AvailabilityRecord,
    onEvent: (e: DrainEvent) => void,
  ): Promise<DrainProgress> {
    const p = this.loop(node, rec, onEvent).finally(() => this.running.delete(node));
    this.running.set(node, p);
    return p;
  }

  private async loop(
    node: string,
    rec: AvailabilityRecord,
    onEvent: (e: DrainEvent) => void,
  ): Promise<DrainProgress> {
    const progress = rec.drain;
    const save = async (): Promise<boolean> => {
      // an activate meanwhile ends the drain: its record is gone
      const cur = await this.d.state.availability(node);
      if (!cur) return false;
      await this.d.state.putAvailability(node, { ...cur, drain: progress });
      return true;
    };
    const report = async (e: DrainEvent): Promise<void> => {
      onEvent(e);
      if (e.outcome === 'moving') return;
      if (e.outcome === 'moved')
        progress.moved.push({
          container: e.container,
          to: e.to!,
          ms: e.ms ?? 0,
          ...(e.frozenMs !== undefined ? { frozenMs: e.frozenMs } : {}),
        });
      if (e.outcome === 'restarted') progress.restarted.push({ container: e.container, to: e.to! });
      if (e.outcome === 'left') progress.left.push({ container: e.container, why: e.why ?? '' });
      if (e.outcome === 'failed') progress.failed.push({ container: e.container, why: e.why ?? '' });
      this.d.events.emit(
        `drain.${e.outcome}`,
        e.outcome === 'moved'
          ? `drain of ${node}: moved ${e.container} live to ${e.to} in ${e.ms} ms`
          : e.outcome === 'restarted'
            ? `drain of ${node}: restarted ${e.container} on ${e.to} without its state (--force)`
            : `drain of ${node}: ${e.outcome === 'left' ? 'left' : 'could not move'} ${e.container}: ${e.why}`,
        { container: e.container, node, ...(e.outcome === 'failed' ? { level: 'warn' as const } : {}) },
      );
      await save();
    };
    const handled = new Set([
      ...progress.moved.map((m) => m.container),
      ...progress.restarted.map((m) => m.container),
      ...progress.left.map((m) => m.container),
      ...progress.failed.map((m) => m.container),
    ]);
    const listed = (await this.d.state.containers()).filter((r) => r.node === node && !handled.has(r.name));
    const live: ContainerRecord[] = [];
    for (const first of listed) {
      // a move under way (one a dead leader left, when a new leader resumes) settles first
      const r = await this.settled(first);
      if (!r || r.node !== node) continue;
      if (r.phase !== 'running') {
        await report({
          container: r.name,
          outcome: 'left',
          why: `${r.phase}: only running containers move (start it elsewhere, or remove it)`,
        });
        continue;
      }
      const blocker = moveBlocker(r.spec, this.d.sharedPaths);
      if (!blocker) {
        live.push(r);
        continue;
      }
      if (!progress.force || !r.restorePolicy) {
        await report({
          container: r.name,
          outcome: 'left',
          why:
            `${blocker}, so it cannot move live` +
            (r.restorePolicy
              ? '; drain with --force to restart it elsewhere without its state'
              : '; it has no restore policy, so it stays'),
        });
        continue;
      }
      try {
        const to = await this.d.exclusive(r.name, () => this.restartElsewhere(r.name, node));
        await report({ container: r.name, outcome: 'restarted', to });
      } catch (err) {
        await report({ container: r.name, outcome: 'failed', why: errorMessage(err) });
      }
    }
    // units of work: a container alone, or the containers sharing networks or volumes, moved as a group
    const units: ContainerRecord[][] = [];
    const grouped = new Set<string>();
    for (const r of live) {
      if (grouped.has(r.name)) continue;
      const group = this.d.resources && hasNeeds(needsOf(r.spec)) ? await this.d.resources.group(r) : [r];
      for (const g of group) grouped.add(g.name);
      const stuck = group.filter((g) => !live.some((l) => l.name === g.name));
      if (stuck.length) {
        for (const g of group.filter((x) => live.some((l) => l.name === x.name)))
          await report({
            container: g.name,
            outcome: 'left',
            why: `it shares a network or volume with ${stuck.map((s) => s.name).join(', ')}, which cannot move live (see its own entry), and a network or volume lives on one host`,
          });
        continue;
      }
      units.push(group);
    }
    // live moves, `parallel` at a time; each worker stops when the drain was ended meanwhile
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < units.length) {
        if (!(await this.d.state.availability(node))) return;
        // another worker may have taken the last one while this one asked the store
        const unit = units[next++];
        if (!unit) return;
        for (const r of unit) onEvent({ container: r.name, outcome: 'moving' });
        try {
          const res = await this.d.migrate({
            container: unit[0]!.name,
            ...(unit.length > 1 ? { withNetwork: true } : {}),
          });
          const p = res.phases;
          if (res.group)
            for (const g of res.group)
              await report({ container: g.container, outcome: 'moved', to: g.to, ms: g.totalMs });
          else
            await report({
              container: unit[0]!.name,
              outcome: 'moved',
              to: res.to,
              ms: res.totalMs,
              frozenMs: p.checkpointMs + p.transferMs + p.restoreMs,
            });
        } catch (err) {
          for (const r of unit)
            await report({
              container: r.name,
              outcome: 'failed',
              why: `${errorMessage(err)} (it still runs on ${node})`,
            });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, progress.parallel) }, () => worker()));
    const still = await this.d.state.availability(node);
    progress.status = still ? 'done' : 'stopped';
    progress.finishedAt = new Date().toISOString();
    if (still) await save();
    this.d.events.emit(
      'drain.done',
      `drain of ${node} ${progress.status}: ${progress.moved.length} moved live, ${progress.restarted.length} restarted, ${progress.left.length} left, ${progress.failed.length} failed`,
      {
        node,
        fields: {
          moved: progress.moved.length,
          restarted: progress.restarted.length,
          left: progress.left.length,
          failed: progress.failed.length,
        },
      },
    );
    return progress;
  }

  /**
   * The record once no migration or restore is under way, or undefined when
   * it is gone. A move a dead leader left is settled by the new leader once
   * it is DEFAULT_STALE_MOVE_MS old, so that long and a little more: a
   * resumed drain then moves the container rather than leaving it behind.
   */
  private async settled(rec: ContainerRecord): Promise<ContainerRecord | undefined> {
    let r: ContainerRecord | undefined = rec;
    const deadline = Date.now() + DEFAULT_STALE_MOVE_MS + 30_000;
    while (r && (r.phase === 'migrating' || r.phase === 'restoring') && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 500));
      r = (await this.d.state.container(rec.name))?.record;
    }
    return r;
  }

  /** --force: stopped on the drained host, started anew elsewhere (Swarm's reschedule without state). */
  private async restartElsewhere(name: string, from: string): Promise<string> {
    const found = await this.d.state.container(name);
    if (!found || found.record.node !== from)
      throw new LifeboatError('moved', `${name} is no longer on ${from}`);
    const rec = found.record;
    const unpinned = withoutNodePins(rec.spec.labels ?? {});
    const healthy = await this.d.nodes.healthy();
    const placement = this.d.scheduler.schedule(
      requestFor({ ...rec.spec, labels: unpinned.labels }),
      healthy.filter((n) => n.report.name !== from).map((n) => toSchedNode(n, true)),
      { exclude: [from] },
    );
    const to = placement.node.name;
    const target = this.d.nodes.client(to);
    const source = this.d.nodes.client(from);
    await ensureImage(this.d.nodes, target, { ref: rec.imageId ?? rec.spec.image, name: rec.spec.image }, [
      source,
    ]);
    // while it changes host, a heartbeat of the target must not take the new copy for a stale one
    // (the record still names the source until the end): the record says a restore is under way
    await this.d.state.updateContainer(name, (r) => ({
      ...r,
      phase: 'restoring',
      movingTo: to,
      note: `restarting on ${to}: drain of ${from} with --force`,
    }));
    // stopped before the new copy starts: never two
    await source.stop(name, 10);
    try {
      await target.remove(name, true).catch(() => undefined);
      await target.create(rec.spec);
      await target.start(name);
    } catch (err) {
      await target.remove(name, true).catch(() => undefined);
      await source.start(name).catch(() => undefined);
      await this.d.state.updateContainer(name, (r) => ({ ...r, phase: 'running' })).catch(() => undefined);
      throw new LifeboatError(
        'restart_failed',
        `could not start ${name} on ${to}: ${errorMessage(err)}; started again on ${from}`,
      );
    }
    const ins = await target.inspect(name).catch(() => undefined);
    await this.d.state.updateContainer(name, (r) => ({
      ...r,
      node: to,
      generation: r.generation + 1,
      phase: 'running',
      note: `restarted on ${to} without its state: drain of ${from} with --force`,
      ...(ins ? { id: ins.Id, imageId: ins.Image } : {}),
    }));
    await source.remove(name, true).catch(() => undefined);
    if (rec.ticker) await this.d.rearmTicker?.(name);
    return to;
  }
}
