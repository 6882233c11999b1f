import { clusterAddressOf } from '../network/cluster-network.ts';
import { errorMessage } from '../util/errors.ts';
import type { ClusterState } from './cluster-state.ts';
import type { EventLog } from './events.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { ContainerRecord } from './records.ts';

/**
 * A live migration runs on the leading manager. When that manager dies in
 * the middle, the container's record stays in phase `migrating` and nobody
 * finishes or undoes the move (a restore stays in phase `restoring` the same
 * way: see the end of this comment). The next leader settles such a record
 * once it is older than any move still being driven could be: it asks the hosts
 * where the container runs, and the record follows the truth.
 *
 * - runs on the record's host only: the move never happened (or was rolled
 *   back); the record is `running` again, and a copy the target prepared or
 *   restored but never started goes;
 * - runs on another host only: the move completed but was not recorded; the
 *   record moves there (generation + 1) and the source's leftover goes;
 * - runs on both: the record's copy is kept, the other removed (never two);
 * - runs nowhere: a dump taken for the move is still on the source (kept for
 *   rollback): the container is restored there; otherwise the record is
 *   `lost`, which the rescheduler's retry pass restores when it has a policy.
 *
 * A `restoring` record on a healthy host was a manual restore, or the
 * rescheduler's from a host that has come back (while its host is failed,
 * the rescheduler's retry pass owns it): the same rules apply, except that
 * when it runs nowhere it is `lost` if it has a restore policy (the
 * rescheduler restores it), and otherwise `stopped` again, as before the
 * restore began, its checkpoints still there for the next `lifeboat restore`.
 */
/** How long a record may stay in phase `migrating` (or `restoring`) before it counts as left by a dead manager: longer than any move. */
export const DEFAULT_STALE_MOVE_MS = 120_000;

export interface SettleDeps {
  state: ClusterState;
  nodes: NodeDirectory;
  events: EventLog;
  /** A move this manager is driving itself holds the container's operation lock. */
  busy: (container: string) => boolean;
  /** Per-container exclusive section. */
  exclusive: <T>(container: string, fn: () => Promise<T>) => Promise<T>;
  now?: () => number;
}

export type SettleOutcome =
  'back-on-source' | 'moved' | 'kept-source' | 'restored-on-source' | 'stopped' | 'lost' | 'skipped';

/** A move, or a restore onto a healthy host's record, that has been under way longer than any could be. */
function unsettled(
  r: ContainerRecord,
  healthy: readonly string[],
  now: number,
  staleAfterMs: number,
): boolean {
  return (
    (r.phase === 'migrating' || (r.phase === 'restoring' && healthy.includes(r.node))) &&
    now - Date.parse(r.updatedAt) >= staleAfterMs
  );
}

export async function settleStaleMoves(
  d: SettleDeps,
  staleAfterMs: number,
): Promise<{ container: string; outcome: SettleOutcome; detail: string }[]> {
  const now = d.now?.() ?? Date.now();
  const moving = (await d.state.containers()).filter(
    (r) => (r.phase === 'migrating' || r.phase === 'restoring') && !d.busy(r.name),
  );
  // the hosts are asked only when something is under way (this runs every 5 s on the leader)
  const healthy = moving.length ? (await d.nodes.healthy()).map((n) => n.report.name) : [];
  const stale = moving.filter((r) => unsettled(r, healthy, now, staleAfterMs));
  const out: { container: string; outcome: SettleOutcome; detail: string }[] = [];
  for (const r of stale) {
    const settled = await d
      .exclusive(r.name, () => settleOne(d, r.name, staleAfterMs, now))
      .catch((err: unknown) => ({ outcome: 'skipped' as const, detail: errorMessage(err) }));
    out.push({ container: r.name, ...settled });
  }
  return out;
}

async function settleOne(
  d: SettleDeps,
  name: string,
  staleAfterMs: number,
  now: number,
): Promise<{ outcome: SettleOutcome; detail: string }> {
  const cur = await d.state.container(name);
  const healthy = (await d.nodes.healthy()).map((n) => n.report.name);
  if (!cur || !unsettled(cur.record, healthy, now, staleAfterMs))
    return { outcome: 'skipped', detail: 'the record changed meanwhile' };
  const rec = cur.record;
  const phase = rec.phase;
  const what = phase === 'migrating' ? 'move' : 'restore';
  const where = new Map<string, 'running' | 'stopped'>();
  for (const host of healthy) {
    const report = await d.nodes
      .client(host)
      .report()
      .catch(() => undefined);
    const c = report?.containers.find((x) => (x.Names[0] ?? '').replace(/^\//, '') === name);
    if (c) where.set(host, c.State === 'running' ? 'running' : 'stopped');
  }
  const running = [...where].filter(([, s]) => s === 'running').map(([h]) => h);
  const removeOn = async (host: string): Promise<void> => {
    await d.nodes
      .client(host)
      .remove(name, true)
      .catch(() => undefined);
  };
  const settle = async (
    outcome: SettleOutcome,
    change: (r: ContainerRecord) => ContainerRecord,
    detail: string,
  ): Promise<{ outcome: SettleOutcome; detail: string }> => {
    await d.state.updateContainer(name, (r) =>
      r.phase === phase && r.generation === rec.generation ? change(r) : r,
    );
    d.events.emit('migrate.settled', `a ${what} of ${name} left unfinished by a previous leader: ${detail}`, {
      container: name,
      node: rec.node,
      level: outcome === 'lost' ? 'error' : 'warn',
      fields: { outcome },
    });
    return { outcome, detail };
  };
  if (running.includes(rec.node)) {
    for (const [h] of where) if (h !== rec.node) await removeOn(h);
    return settle(
      running.length > 1 ? 'kept-source' : 'back-on-source',
      (r) => ({
        ...r,
        phase: 'running',
        note: `a ${what} interrupted by the leader's death: running on its host`,
      }),
      running.length > 1
        ? `it ran on ${running.join(' and ')}: kept on ${rec.node} (the record's host), removed elsewhere`
        : `running on ${rec.node}, the record's host`,
    );
  }
  if (running.length > 0) {
    // not on the record's host: the move finished (or, with two copies, the first is kept); every other copy goes
    const keep = running[0]!;
    for (const [h] of where) if (h !== keep) await removeOn(h);
    return settle(
      'moved',
      (r) => ({
        ...r,
        node: keep,
        generation: r.generation + 1,
        phase: 'running',
        note:
          running.length === 1
            ? `${phase === 'migrating' ? 'migrated' : 'restored'} from ${rec.node} (recorded by the next leader)`
            : `two copies after an interrupted ${what}: kept on ${keep}`,
      }),
      running.length === 1
        ? `it runs on ${keep}: the ${what} finished but was not recorded; the record follows it`
        : `it ran on ${running.join(' and ')}, not on ${rec.node}: kept on ${keep}`,
    );
  }
  if (phase === 'restoring') {
    for (const [h] of where) if (h !== rec.node) await removeOn(h);
    // a restore-policy container is the rescheduler's to bring back (its host may have failed and returned)
    if (rec.restorePolicy)
      return settle(
        'lost',
        (r) => ({ ...r, phase: 'lost', note: 'an interrupted restore left it running nowhere' }),
        'it runs on no healthy host; the rescheduler restores it',
      );
    // stopped before the restore began: so again, and what it was restored from is still there
    return settle(
      'stopped',
      (r) => ({
        ...r,
        phase: 'stopped',
        note: "a restore interrupted by the leader's death: it runs nowhere; run `lifeboat restore` again",
      }),
      `it runs on no host: stopped again, as before the restore`,
    );
  }
  if (where.get(rec.node) === 'stopped' && healthy.includes(rec.node)) {
    for (const [h] of where) if (h !== rec.node) await removeOn(h);
    try {
      const address = clusterAddressOf(rec.spec);
      await d.nodes
        .client(rec.node)
        .restoreInPlace(name, { tcpEstablished: true, ...(address ? { clusterAddress: address } : {}) });
      return settle(
        'restored-on-source',
        (r) => ({
          ...r,
          phase: 'running',
          note: "restored on its host from the dump of a move interrupted by the leader's death",
        }),
        `restored on ${rec.node} from the dump the move left there`,
      );
    } catch (err) {
      return settle(
        'lost',
        (r) => ({ ...r, phase: 'lost', note: `an interrupted move left it stopped: ${errorMessage(err)}` }),
        `stopped on ${rec.node} and its dump could not be restored (${errorMessage(err)})${rec.restorePolicy ? '; the rescheduler restores it' : ''}`,
      );
    }
  }
  return settle(
    'lost',
    (r) => ({ ...r, phase: 'lost', note: 'an interrupted move left it running nowhere' }),
    `it runs on no healthy host${rec.restorePolicy ? '; the rescheduler restores it' : ''}`,
  );
}
