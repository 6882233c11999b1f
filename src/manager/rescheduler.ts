import type { NodeClient, NodeReport } from '../node-api/node-client.ts';
import type { CheckpointManifest } from '../checkpoint/store/index.ts';
import { DEFAULT_VERSION_GROUP } from '../policy/labels.ts';
import type { Scheduler } from '../scheduler/index.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import { createLogger, type Logger } from '../util/log.ts';
import { StaleRecordError, type ClusterState } from './cluster-state.ts';
import type { EventLog } from './events.ts';
import { ensureImage } from './images.ts';
import type { NodeDirectory } from './node-directory.ts';
import { clusterAddressOf } from '../network/cluster-network.ts';
import type { ContainerRecord, NodeRecord } from './records.ts';
import { requestFor, toSchedNode, withoutNodePins } from './sched-view.ts';
import { hasNeeds, needsOf, type LocalResources } from './local-resources.ts';

/**
 * Restore rescheduling, thesis Algorithm 2: when a host fails, each of its
 * containers with a restore policy R_i comes back on a healthy host chosen by
 * the scheduler — from its newest checkpoint that restores, older versions
 * next, a fresh start from its create request last. The container record is
 * the truth: it is moved (compare-and-swap) only once the container runs on
 * the new host, and a restore acts only while the record still points at
 * the failed host, which makes a new leader's resume safe.
 */

export interface ReschedulerOptions {
  state: ClusterState;
  nodes: NodeDirectory;
  scheduler: Scheduler;
  events: EventLog;
  /** The checkpoint tickers; a restored container's ticker follows it to its new host. */
  tickers?: { rearm(container: string): Promise<boolean> };
  /** Per-container exclusive section shared with migrations (the manager's operation lock). */
  exclusive?: <T>(container: string, fn: () => Promise<T>) => Promise<T>;
  /** Networks and volumes: a restored container takes them from the failed host (the first of a group chooses where). */
  resources?: LocalResources;
  now?: () => number;
  logger?: Logger;
}

export interface RestoreAttempt {
  group: number;
  version: number;
  ok: boolean;
  ms: number;
  reason?: string;
}

export interface RestoreReport {
  container: string;
  from: string;
  to?: string;
  /** restored: from a checkpoint; fresh: started anew from its spec; skipped: nothing to do; failed: not running anywhere. */
  outcome: 'restored' | 'fresh' | 'skipped' | 'failed';
  /** The version restored. */
  version?: { group: number; version: number; createdAt: string };
  attempts: RestoreAttempt[];
  /** Why it was skipped, started fresh or failed. */
  why?: string;
  generation?: number;
  durationMs: number;
}

class RestoreAbort extends LifeboatError {
  constructor(
    message: string,
    readonly outcome: 'skipped' | 'failed',
  ) {
    super('restore_aborted', message, { status: 409 });
  }
}

/** A restore that failed in the target's own setup (its container network), not in the archive. */
const HOST_SETUP_FAILED = /\bcni plugin\b|netavark/i;

function nameOf(node: NodeRecord | string): string {
  return typeof node === 'string' ? node : node.report.name;
}

function describeVersion(m: CheckpointManifest): string {
  return `version ${m.version} (group ${m.group}, taken on ${m.node} at ${m.createdAt})`;
}

export class Rescheduler {
  private readonly inFlight = new Set<string>();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly o: ReschedulerOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.logger ?? createLogger('manager/rescheduler');
  }

  /** Lines 3-7: a host failed; restore every container on it that has R_i. */
  async onHostFailed(node: NodeRecord | string): Promise<RestoreReport[]> {
    const failed = nameOf(node);
    const on = (await this.o.state.containers()).filter((r) => r.node === failed);
    const protectedOnes = on.filter((r) => r.restorePolicy);
    for (const r of on.filter((x) => !x.restorePolicy)) {
      this.o.events.emit(
        'restore.none',
        `${r.name} was on failed host ${failed} and has no restore policy: left as it is`,
        {
          container: r.name,
          node: failed,
          fields: {
            hint: 'label lifeboat.reschedule=checkpoint (or reschedule:on-node-failure) to have it restored',
          },
        },
      );
    }
    return this.rescheduleAll(failed, 'failed', protectedOnes);
  }

  /** Restores `list` of `host` one after another: each placement sees the hosts as the previous restores left them. */
  private async rescheduleAll(
    host: string,
    what: 'failed' | 'restarted' | 'is back',
    list: readonly ContainerRecord[],
  ): Promise<RestoreReport[]> {
    if (list.length === 0) return [];
    this.o.events.emit(
      'reschedule.start',
      `host ${host} ${what}: rescheduling ${list.length} container(s): ${list.map((r) => `${r.name} (${r.restorePolicy})`).join(', ')}`,
      { node: host },
    );
    const out: RestoreReport[] = [];
    for (const r of list)
      out.push(await this.restoreContainer(r.name, host, { hostRebooted: what !== 'failed' }));
    return out;
  }

  /**
   * A host that restarted within the failure timeout was never declared
   * failed, but its containers died with its previous boot: each one with
   * R_i that the host does not report running is restored elsewhere, as
   * after a failure (lines 3-7). One running there (placed after the boot)
   * is left alone.
   */
  async onHostRebooted(node: NodeRecord | string): Promise<RestoreReport[]> {
    return this.restoreWhatItLost(nameOf(node), 'restarted');
  }

  /**
   * A host declared failed is back (its partition healed, or it booted
   * again). The copies of its containers restored elsewhere meanwhile go
   * (reconcileReturningHost); and each container with R_i whose record still
   * points at it, but which it does not run (its restore failed for want of a
   * target, or it died with the host), is restored now. Without this the
   * retry pass, which only looks at failed hosts, would never see it again
   * (the chaos bench found two Swarm containers running nowhere: seed 2026,
   * fault 98).
   */
  async onHostReturned(node: NodeRecord | string): Promise<RestoreReport[]> {
    const host = nameOf(node);
    await this.reconcileReturningHost(node);
    return this.restoreWhatItLost(host, 'is back');
  }

  /** Restores each container with R_i recorded on `host` that the host, asked now, does not run. */
  private async restoreWhatItLost(host: string, what: 'restarted' | 'is back'): Promise<RestoreReport[]> {
    // asked now, not taken from a heartbeat: a container must never be restored while it runs
    let report: NodeReport | undefined;
    for (let i = 0; i < 3 && !report; i++) {
      report = await this.o.nodes
        .client(host)
        .report()
        .catch(() => undefined);
      if (!report) await new Promise((r) => setTimeout(r, 1000));
    }
    if (!report) {
      this.log.warn('returning host did not report its containers: left to the failure detector', {
        node: host,
      });
      return [];
    }
    const runningThere = new Set(
      report.containers
        .filter((c) => c.State === 'running')
        .map((c) => (c.Names[0] ?? c.Id).replace(/^\//, '')),
    );
    const lost = (await this.o.state.containers()).filter(
      (r) => r.node === host && r.restorePolicy && !runningThere.has(r.name),
    );
    return this.rescheduleAll(host, what, lost);
  }

  /**
   * For a new leader (and as a retry): every container with a restore
   * policy whose record still points at a host declared failed is restored.
   * A host merely silent during the leader's grace period is not touched.
   */
  async resume(): Promise<RestoreReport[]> {
    const failed = new Set(
      (await this.o.state.nodes()).filter((n) => n.status === 'failed').map((n) => n.report.name),
    );
    const out: RestoreReport[] = [];
    for (const r of await this.o.state.containers()) {
      // a restore that failed left the record 'lost' on its host; if that host is healthy
      // again, restoreContainer asks it and acts only when it does not run the container
      if (r.restorePolicy && (failed.has(r.node) || r.phase === 'lost'))
        out.push(await this.restoreContainer(r.name, r.node));
    }
    return out;
  }

  /** Procedure RESTORE CONTAINER (lines 9-21). Never runs twice at once for one container; never throws. */
  async restoreContainer(
    name: string,
    from: string,
    opts: { hostRebooted?: boolean } = {},
  ): Promise<RestoreReport> {
    const t0 = this.now();
    if (this.inFlight.has(name)) {
      const why = 'a restore of this container is already in progress';
      this.log.info('restore not started: already in flight', { container: name, from });
      return { container: name, from, outcome: 'skipped', attempts: [], why, durationMs: 0 };
    }
    this.inFlight.add(name);
    try {
      const run = (): Promise<RestoreReport> => this.run(name, from, t0, opts.hostRebooted === true);
      return await (this.o.exclusive ? this.o.exclusive(name, run) : run());
    } finally {
      this.inFlight.delete(name);
    }
  }

  private async run(name: string, from: string, t0: number, hostRebooted: boolean): Promise<RestoreReport> {
    const { state, nodes, events } = this.o;
    const attempts: RestoreAttempt[] = [];
    let to: string | undefined;
    let target: NodeClient | undefined;
    let claimed = false;
    const report = (
      outcome: RestoreReport['outcome'],
      extra: Partial<RestoreReport> = {},
    ): RestoreReport => ({
      container: name,
      from,
      ...(to ? { to } : {}),
      outcome,
      attempts,
      durationMs: this.now() - t0,
      ...extra,
    });
    try {
      const found = await state.container(name);
      if (!found) throw new RestoreAbort('the container was removed', 'skipped');
      const rec = found.record;
      if (rec.node !== from) {
        throw new RestoreAbort(
          `its record points to ${rec.node} now (generation ${rec.generation}): nothing to do`,
          'skipped',
        );
      }
      if (!rec.restorePolicy) throw new RestoreAbort('it has no restore policy', 'skipped');
      const healthy = await nodes.healthy();
      // A host back already (a quick power cycle while earlier containers of it were
      // being restored) is healthy again, but what ran there may be gone: only a copy
      // it runs now makes the restore unneeded (the chaos bench found the rest of a
      // host's queue skipped and left dead). When it cannot tell, the copy is assumed
      // to run: never two.
      if (!hostRebooted && healthy.some((n) => n.report.name === from)) {
        const runsThere = await nodes
          .client(from)
          .report()
          .then((r) =>
            r.containers.some(
              (c) => c.State === 'running' && (c.Names[0] ?? c.Id).replace(/^\//, '') === name,
            ),
          )
          .catch(() => true);
        if (runsThere)
          throw new RestoreAbort(`host ${from} is healthy and runs it: nothing to do`, 'skipped');
      }
      // line 10: choose N_r by the container's own filters; create-time node pins and the dead host set aside
      const unpinned = withoutNodePins(rec.spec.labels ?? {});
      const needs = needsOf(rec.spec);
      const res = hasNeeds(needs) ? this.o.resources : undefined;
      let candidates = healthy.filter((n) => n.report.name !== from);
      // hosts that failed twice to set up the container's network: the version was not at fault
      const setupFailed: string[] = [];
      const place = (): ReturnType<Scheduler['schedule']> =>
        this.o.scheduler.schedule(
          requestFor({ ...rec.spec, labels: unpinned.labels }),
          // its own stale copies (on hosts that failed before) hold no port or name
          candidates
            .filter((n) => !setupFailed.includes(n.report.name))
            .map((n) => {
              const v = toSchedNode(n, true);
              return { ...v, containers: v.containers.filter((c) => c.name.replace(/^\//, '') !== name) };
            }),
          { exclude: [from, ...setupFailed] },
        );
      let placement;
      try {
        // its networks and volumes left the failed host with the first member of its group restored
        if (res) candidates = res.filter(candidates, await res.pin(needs, new Set([from])));
        placement = place();
      } catch (err) {
        // the record is left as it is: resume() tries again once a host can take it
        throw new RestoreAbort(`no healthy host can take it: ${errorMessage(err)}`, 'failed');
      }
      const generation = rec.generation;
      const precondition = (r: ContainerRecord): void => {
        if (r.node !== from || r.generation !== generation) throw new StaleRecordError(name);
      };
      let restored: CheckpointManifest | undefined;
      let why = '';
      for (;;) {
        to = placement.node.name;
        target = nodes.client(to);
        const retry = setupFailed.length ? ` (${setupFailed.join(', ')} could not set up its network)` : '';
        await state.updateContainer(name, (r) => {
          precondition(r);
          return {
            ...r,
            phase: 'restoring',
            movingTo: to!,
            note: `restoring on ${to}: host ${from} failed${retry}`,
          };
        });
        claimed = true;
        events.emit(
          'restore.start',
          `restoring ${name} (${rec.restorePolicy}) from failed host ${from} on ${to}; candidates [${placement.candidates.join(', ')}]` +
            (unpinned.dropped.length ? `; set aside create-time ${unpinned.dropped.join(', ')}` : '') +
            retry,
          { container: name, node: to, fields: { from, to, policy: rec.restorePolicy, generation } },
        );
        // N_r needs the image with the same ID: shipped from any healthy host that has it (as migration step 4)
        const sources = candidates.map((n) => nodes.client(n.report.name));
        const shipped = await ensureImage(
          nodes,
          target,
          { ref: rec.imageId ?? rec.spec.image, name: rec.spec.image },
          sources,
        );
        if (shipped.shipped)
          events.emit('restore.image', `shipped image ${rec.spec.image} to ${to} from ${shipped.from}`, {
            container: name,
            node: to,
          });
        // any copy already on N_r is stale (e.g. an interrupted earlier restore): the record says it is on `from`
        await target.remove(name, true).catch(() => undefined);
        if (res) {
          await res.claim(needs, to, { from: new Set([from, ...setupFailed]) });
          await res.ensureOn(to, needs, { volumes: false });
        }
        if (rec.restorePolicy !== 'checkpoint') {
          why = 'restore policy on-node-failure: restarted without its state (Swarm rescheduling)';
          break;
        }
        // where another host could take it, a host that cannot set up its network is left for that one
        let next: typeof placement | undefined;
        setupFailed.push(to);
        try {
          next = place();
        } catch {
          next = undefined;
        }
        setupFailed.pop();
        // each version's archive brings the volumes' data; whatever an earlier attempt left goes first
        const r = await this.fromCheckpoints(
          rec,
          target,
          to,
          attempts,
          () => (res ? res.clearStaleVolumes(to!, needs) : Promise.resolve()),
          next !== undefined,
        );
        restored = r.restored;
        why = r.why;
        if (!r.hostSetupFailed || !next) break;
        setupFailed.push(to);
        events.emit(
          'restore.host-setup-failed',
          `${to} could not set up the network of ${name} twice: restoring the same version on ${next.node.name} instead of an older one`,
          { container: name, node: to, level: 'warn', fields: { from, to, next: next.node.name } },
        );
        placement = next;
      }
      if (!restored) {
        // lines 18-19: create and start it anew from its create request
        try {
          if (res) {
            await res.clearStaleVolumes(to, needs);
            await res.ensureOn(to, needs);
            if (needs.volumes.length)
              why += `; its volumes (${needs.volumes.join(', ')}) start empty: their data stayed on ${from}`;
          }
          await target.create(rec.spec);
          await target.start(name);
        } catch (err) {
          await target.remove(name, true).catch(() => undefined);
          throw new RestoreAbort(
            `fresh start on ${to} failed: ${errorMessage(err)} (after: ${why})`,
            'failed',
          );
        }
      }
      const ins = await target.inspect(name).catch(() => undefined);
      const note = restored
        ? `restored on ${to} from ${describeVersion(restored)} after host ${from} failed`
        : `started fresh on ${to} after host ${from} failed: ${why}`;
      let moved: ContainerRecord;
      try {
        moved = await state.updateContainer(name, (r) => {
          precondition(r);
          return {
            ...r,
            node: to!,
            generation: r.generation + 1,
            phase: 'running',
            note,
            // a fresh start has a new container ID; a restore keeps it
            ...(ins ? { id: ins.Id, imageId: ins.Image } : {}),
          };
        });
      } catch (err) {
        // someone else moved it meanwhile: never two copies, ours goes
        await target.remove(name, true).catch(() => undefined);
        claimed = false;
        throw new RestoreAbort(
          `the record changed during the restore (${errorMessage(err)}); copy on ${to} removed`,
          'skipped',
        );
      }
      claimed = false;
      // the record points at N_r before the ticker follows: a tick never dumps a copy the cluster does not own
      if (rec.ticker && this.o.tickers) {
        await this.o.tickers.rearm(name).catch((err: unknown) =>
          events.emit('ticker.failed', `could not re-arm the ticker of ${name}: ${errorMessage(err)}`, {
            container: name,
            node: to,
            level: 'warn',
          }),
        );
      }
      // Line 17 deletes the images; they are kept here for forensics until the ticker's retention rotates them.
      const durationMs = this.now() - t0;
      if (restored) {
        events.emit(
          'restore.done',
          `restored ${name} on ${to} from ${describeVersion(restored)} in ${durationMs} ms (${attempts.length} attempt(s))`,
          {
            container: name,
            node: to,
            fields: {
              from,
              to,
              group: restored.group,
              version: restored.version,
              attempts: attempts.length,
              durationMs,
              generation: moved.generation,
            },
          },
        );
        return report('restored', {
          version: { group: restored.group, version: restored.version, createdAt: restored.createdAt },
          generation: moved.generation,
        });
      }
      events.emit('restore.fresh', `started ${name} fresh on ${to} (no state): ${why}`, {
        container: name,
        node: to,
        level: rec.restorePolicy === 'checkpoint' ? 'warn' : 'info',
        fields: { from, to, why, attempts: attempts.length, durationMs, generation: moved.generation },
      });
      return report('fresh', { why, generation: moved.generation });
    } catch (err) {
      const outcome = err instanceof RestoreAbort ? err.outcome : 'failed';
      const why = errorMessage(err);
      if (claimed) {
        // it runs nowhere; a later resume() (or the host's return) retries
        await state
          .updateContainer(name, (r) =>
            r.node === from ? { ...r, phase: 'lost', note: `restore failed: ${why}` } : r,
          )
          .catch(() => undefined);
      }
      if (outcome === 'skipped') {
        this.log.info('restore not needed', { container: name, from, why });
      } else {
        events.emit('restore.failed', `could not restore ${name} from failed host ${from}: ${why}`, {
          container: name,
          node: from,
          level: 'error',
          fields: { from, to, attempts: attempts.length },
        });
      }
      return report(outcome, { why });
    }
  }

  /**
   * Lines 11-16: newest version first, at most VG_i tries; a version that
   * fails is skipped for the next older. A failure of the target's own
   * network setup is tried once more; with `anotherHost`, a second one ends
   * the tries on this host (`hostSetupFailed`) instead of losing writes to an
   * older version.
   */
  private async fromCheckpoints(
    rec: ContainerRecord,
    target: NodeClient,
    to: string,
    attempts: RestoreAttempt[],
    beforeAttempt: () => Promise<void> = () => Promise.resolve(),
    anotherHost = false,
  ): Promise<{ restored?: CheckpointManifest; why: string; hostSetupFailed?: boolean }> {
    const name = rec.name;
    let versions: CheckpointManifest[];
    try {
      versions = (await target.listCheckpoints(name)).flatMap((g) => [...g.versions]);
    } catch (err) {
      return { why: `the checkpoint store could not be listed from ${to}: ${errorMessage(err)}` };
    }
    if (versions.length === 0) return { why: 'no checkpoint in the store' };
    versions.sort((a, b) => b.group - a.group || b.version - a.version);
    const tries = versions.slice(0, rec.ticker?.versionGroup ?? DEFAULT_VERSION_GROUP);
    for (const m of tries) {
      for (let round = 1; round <= 2; round++) {
        const t = this.now();
        this.o.events.emit('restore.attempt', `restoring ${name} on ${to} from ${describeVersion(m)}`, {
          container: name,
          node: to,
          fields: { group: m.group, version: m.version },
        });
        try {
          await beforeAttempt();
          const address = clusterAddressOf(rec.spec);
          await target.restoreFromStore(
            name,
            { group: m.group, version: m.version },
            { tcpEstablished: true, ...(address ? { clusterAddress: address } : {}) },
          );
          attempts.push({ group: m.group, version: m.version, ok: true, ms: this.now() - t });
          return { restored: m, why: '' };
        } catch (err) {
          const reason = errorMessage(err);
          attempts.push({ group: m.group, version: m.version, ok: false, ms: this.now() - t, reason });
          // the target's network setup failing says nothing about the version: an older one
          // would lose writes for nothing (the chaos bench saw CNI fail once on a host just booted)
          const setup = HOST_SETUP_FAILED.test(reason);
          const again = round === 1 && setup;
          // twice: the host is at fault; another one gets the same version where there is one
          const leave = !again && setup && anotherHost;
          const next = again
            ? 'the host failed, not the version: trying it once more'
            : leave
              ? 'the host failed twice: trying another host'
              : 'trying the next older one';
          this.o.events.emit(
            'restore.attempt-failed',
            `version ${m.version} of ${name} did not restore on ${to}: ${reason}; ${next}`,
            {
              container: name,
              node: to,
              level: 'warn',
              fields: { group: m.group, version: m.version, reason },
            },
          );
          // a failed restore can leave a `created` container behind
          await target.remove(name, true).catch(() => undefined);
          if (leave) return { why: `${to} could not set up its network: ${reason}`, hostSetupFailed: true };
          if (!again) break;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
    const list = attempts.map((a) => `v${a.version}: ${a.reason ?? 'failed'}`).join('; ');
    return { why: `all ${tries.length} checkpoint version(s) tried failed (${list})` };
  }

  /**
   * A host that returns may still hold copies of containers restored
   * elsewhere meanwhile: they are removed (the record is the truth). The
   * agent also learns them from heartbeat answers; this is the manager's side.
   */
  async reconcileReturningHost(node: NodeRecord | string): Promise<string[]> {
    const name = nameOf(node);
    const client = this.o.nodes.client(name);
    let containers: { Names: string[]; Id: string }[];
    try {
      containers = (await client.report()).containers;
    } catch (err) {
      if (typeof node === 'string') {
        this.log.warn('returning host did not report its containers', {
          node: name,
          error: errorMessage(err),
        });
        return [];
      }
      containers = node.report.containers;
    }
    // name to the ID listed: a copy of the same name created there since (a move back) is not stale
    const seen = new Map(containers.map((c) => [(c.Names[0] ?? c.Id).replace(/^\//, ''), c.Id]));
    const have = new Set(seen.keys());
    const elsewhere = (await this.o.state.containers())
      // a move in progress may just have put its copy here: never taken for stale
      .filter(
        (r) => have.has(r.name) && r.node !== name && r.phase !== 'migrating' && r.phase !== 'restoring',
      )
      .map((r) => r.name);
    if (elsewhere.length === 0) return [];
    const removed = await client.reconcile(new Set(elsewhere), seen);
    this.o.events.emit(
      'node.reconciled',
      `host ${name} is back: removed ${removed.length} stale cop${removed.length === 1 ? 'y' : 'ies'} of containers that live elsewhere now` +
        (removed.length ? ` (${removed.join(', ')})` : ''),
      { node: name, fields: { removed: removed.join(','), elsewhere: elsewhere.join(',') } },
    );
    return removed;
  }
}
