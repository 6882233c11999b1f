import { Scheduler } from '../scheduler/index.ts';
import type { SchedContainer } from '../scheduler/types.ts';
import { errorMessage } from '../util/errors.ts';
import type { ClusterState } from './cluster-state.ts';
import { moveBlocker } from './move-blocker.ts';
import { needsOf, type LocalNeeds } from './local-resources.ts';
import type { EventLog } from './events.ts';
import type { MigrateRequest, MigrationResult } from './migrate.ts';
import type { NodeDirectory } from './node-directory.ts';
import { planPack, planSpread, type PlannedMove, type RebalancePlan } from './rebalance-plan.ts';
import { requestFor, toSchedNode, withoutNodePins } from './sched-view.ts';

function sharesResources(a: LocalNeeds, b: LocalNeeds): boolean {
  return a.networks.some((n) => b.networks.includes(n)) || a.volumes.some((v) => b.volumes.includes(v));
}

export interface RebalanceDeps {
  state: ClusterState;
  nodes: NodeDirectory;
  events: EventLog;
  /** The manager's filters (names), so plans place as placements do. */
  filters?: string[];
  /** Host paths every host shares (binds below them move). */
  sharedPaths?: string[];
  migrate: (req: MigrateRequest) => Promise<MigrationResult>;
}

export interface RebalanceOutcome {
  plan: RebalancePlan;
  done: (PlannedMove & { ms: number })[];
  failed: (PlannedMove & { why: string })[];
  /** pack: hosts that run nothing now (candidates for powering down). */
  emptied: string[];
}

/**
 * Plans (rebalance-plan.ts) over the cluster as it is now, and carries them
 * out one live migration at a time. A move that fails leaves its container
 * where it was; a host counts as emptied only when all its moves succeeded.
 */
export async function rebalance(
  d: RebalanceDeps,
  mode: 'pack' | 'spread',
  opts: { dryRun?: boolean },
  onLine: (o: unknown) => void = () => undefined,
): Promise<RebalanceOutcome> {
  const healthy = await d.nodes.healthy();
  const hosts = new Set(healthy.map((n) => n.report.name));
  const all = await d.state.containers();
  const containers = all
    .filter((r) => r.phase === 'running' && hosts.has(r.node))
    .map((r) => {
      const shares = all.filter(
        (o) => o.name !== r.name && sharesResources(needsOf(r.spec), needsOf(o.spec)),
      );
      const blocker =
        moveBlocker(r.spec, d.sharedPaths) ??
        (shares.length
          ? `it shares networks or volumes with ${shares.map((o) => o.name).join(', ')}: move the group with lifeboat migrate --with-network`
          : undefined);
      return {
        name: r.name,
        host: r.node,
        request: requestFor({ ...r.spec, labels: withoutNodePins(r.spec.labels ?? {}).labels }),
        ...(blocker ? { blocker } : {}),
      };
    });
  const scheduler = new Scheduler({
    strategy: mode === 'pack' ? 'binpack' : 'spread',
    ...(d.filters ? { filters: d.filters } : {}),
  });
  // where containers are comes from their records (the truth; a heartbeat report may be a second old),
  // what else a host runs (containers lifeboat did not create) from its report
  const records = all.filter((r) => hosts.has(r.node));
  const known = new Set(records.map((r) => r.name));
  const view = healthy.map((n) => {
    const v = toSchedNode(n, true);
    const reported = new Map(v.containers.map((c) => [c.name.replace(/^\//, ''), c]));
    const foreign = v.containers.filter((c) => !known.has(c.name.replace(/^\//, '')));
    const mine = records
      .filter((r) => r.node === n.report.name)
      .map((r): SchedContainer => ({
        ...(reported.get(r.name) ?? {
          id: r.id ?? r.name,
          name: r.name,
          image: r.spec.image,
          labels: r.spec.labels ?? {},
          ports: (r.spec.portMappings ?? []).map((p) => ({
            hostPort: p.hostPort,
            containerPort: p.containerPort,
            protocol: p.protocol === 'udp' ? 'udp' : ('tcp' as const),
            ...(p.hostIp ? { hostIp: p.hostIp } : {}),
          })),
        }),
        // whether it runs comes from the record too: a report taken between `docker run`'s
        // create and start says "not running", and the planner then ignored the container's
        // affinities and emptied a host onto it (the drain test's rebalance case, 2 runs in 6)
        running: r.phase === 'running',
      }));
    return { ...v, containers: [...foreign, ...mine] };
  });
  const plan =
    mode === 'pack' ? planPack(scheduler, view, containers) : planSpread(scheduler, view, containers);
  onLine({ plan });
  const out: RebalanceOutcome = { plan, done: [], failed: [], emptied: [] };
  if (opts.dryRun) return { ...out, emptied: plan.emptied };
  d.events.emit(
    'rebalance.start',
    `rebalance --${mode}: ${plan.moves.length} live move(s)` +
      (mode === 'pack' ? `, emptying ${plan.emptied.join(', ') || 'no host'}` : ''),
    { fields: { moves: plan.moves.length } },
  );
  for (const m of plan.moves) {
    const t0 = Date.now();
    try {
      const r = await d.migrate({ container: m.container, to: m.to });
      const done = { ...m, to: r.to, ms: Date.now() - t0 };
      out.done.push(done);
      onLine({ move: { ...done, outcome: 'moved' } });
    } catch (err) {
      const failed = { ...m, why: errorMessage(err) };
      out.failed.push(failed);
      onLine({ move: { ...failed, outcome: 'failed' } });
    }
  }
  const stillThere = new Set(out.failed.map((f) => f.from));
  out.emptied = plan.emptied.filter((h) => !stillThere.has(h));
  d.events.emit(
    'rebalance.done',
    `rebalance --${mode}: ${out.done.length} moved, ${out.failed.length} failed` +
      (mode === 'pack' ? `; empty now: ${out.emptied.join(', ') || 'none'} (could be powered down)` : ''),
    { fields: { moved: out.done.length, failed: out.failed.length } },
  );
  return out;
}
