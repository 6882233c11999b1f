import type { Scheduler } from '../scheduler/index.ts';
import type { ContainerRequest, SchedContainer, SchedNode } from '../scheduler/types.ts';
import { errorMessage } from '../util/errors.ts';

/**
 * `lifeboat rebalance`: plans of live moves, pure functions over the
 * scheduler's view so that every move respects the container's own filters
 * (constraints, affinities, ports, container slots, drained hosts) exactly
 * as a migration would.
 *
 * pack (the thesis' power-aware future work): empty the least-loaded hosts
 * into the others, one host at a time and only whole, so that the emptied
 * ones can be powered down; spread: the opposite after hosts return, moving
 * from the fullest host to the emptiest while that narrows the gap.
 */
export interface PlanContainer {
  name: string;
  host: string;
  /** What the scheduler places (create-time node pins already set aside). */
  request: ContainerRequest;
  /** Why it cannot move live (drain.ts moveBlocker), or undefined. */
  blocker?: string;
}

export interface PlannedMove {
  container: string;
  from: string;
  to: string;
}

export interface RebalancePlan {
  mode: 'pack' | 'spread';
  moves: PlannedMove[];
  /** pack: hosts the plan leaves without running containers (they could be powered down). */
  emptied: string[];
  /** Hosts the plan could not empty, and why. */
  kept: { host: string; why: string }[];
}

function clone(nodes: readonly SchedNode[]): SchedNode[] {
  return nodes.map((n) => ({ ...n, containers: n.containers.map((c) => ({ ...c })) }));
}

function running(n: SchedNode): SchedContainer[] {
  return n.containers.filter((c) => c.running !== false);
}

const bare = (name: string): string => name.replace(/^\//, '');

/** Moves `name` from `from` to `to` in the working view. */
function apply(view: SchedNode[], name: string, from: string, to: string): void {
  const src = view.find((n) => n.name === from)!;
  const dst = view.find((n) => n.name === to)!;
  const i = src.containers.findIndex((c) => bare(c.name) === name);
  if (i < 0) return;
  const [c] = src.containers.splice(i, 1);
  dst.containers.push(c!);
}

/**
 * Where the scheduler would put `c` among `among` (its own copy set aside),
 * or why nowhere. A host where `c` would break what a container already there
 * asked for (Swarm checks affinities only for the container being placed, so
 * `affinity:container!=c` on a neighbour would not stop it) is skipped.
 */
function place(
  scheduler: Scheduler,
  view: SchedNode[],
  c: PlanContainer,
  among: (n: SchedNode) => boolean,
  byName: ReadonlyMap<string, PlanContainer>,
): { to: string } | { why: string } {
  const refused: string[] = [];
  for (;;) {
    const nodes = view
      .filter((n) => among(n) && !refused.includes(n.name))
      .map((n) => ({ ...n, containers: n.containers.filter((x) => bare(x.name) !== c.name) }));
    if (nodes.length === 0)
      return {
        why: refused.length
          ? `it would break what containers on ${refused.join(', ')} ask for`
          : 'no other host to take it',
      };
    let to: string;
    try {
      to = scheduler.schedule(c.request, nodes).node.name;
    } catch (err) {
      return {
        why:
          errorMessage(err) +
          (refused.length ? ` (and it would break what containers on ${refused.join(', ')} ask for)` : ''),
      };
    }
    const target = nodes.find((n) => n.name === to)!;
    const mine = view.flatMap((n) => n.containers).find((x) => bare(x.name) === c.name);
    const after: SchedNode = {
      ...target,
      containers: [
        ...target.containers,
        mine ?? { id: c.name, name: c.name, image: c.request.image, labels: c.request.labels, ports: [] },
      ],
    };
    const broken = target.containers.some((x) => {
      const nb = byName.get(bare(x.name));
      if (!nb || x.running === false) return false;
      try {
        scheduler.schedule(nb.request, [
          { ...after, containers: after.containers.filter((y) => bare(y.name) !== nb.name) },
        ]);
        return false;
      } catch {
        return true;
      }
    });
    if (!broken) return { to };
    refused.push(to);
  }
}

const usable = (n: SchedNode): boolean => n.healthy && n.availability !== 'drain';

/**
 * Empties the least-loaded hosts into the others while each can be emptied
 * whole. `scheduler` should rank by binpack, so the moves fill the fullest
 * hosts that fit. At least one host always stays.
 */
export function planPack(
  scheduler: Scheduler,
  nodes: readonly SchedNode[],
  containers: readonly PlanContainer[],
): RebalancePlan {
  const view = clone(nodes);
  const byName = new Map(containers.map((c) => [c.name, c]));
  const moves: PlannedMove[] = [];
  const emptied: string[] = [];
  const kept: { host: string; why: string }[] = [];
  const order = view
    .filter(usable)
    .sort((a, b) => running(a).length - running(b).length || a.name.localeCompare(b.name));
  for (const host of order) {
    const left = view.filter((n) => usable(n) && n.name !== host.name && !emptied.includes(n.name));
    if (left.length === 0) break;
    const mine = running(host).map((c) => bare(c.name));
    if (mine.length === 0) continue;
    // containers that ask for others' company go last, after those they follow
    const list = mine
      .map((n) => byName.get(n))
      .sort((a, b) => Number(hasAffinity(a)) - Number(hasAffinity(b)));
    const unknown = mine.filter((n) => !byName.has(n));
    if (unknown.length) {
      kept.push({
        host: host.name,
        why: `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a cluster container (not created through lifeboat)`,
      });
      continue;
    }
    const blocked = list.find((c) => c!.blocker);
    if (blocked) {
      kept.push({ host: host.name, why: `${blocked.name} cannot move live: ${blocked.blocker}` });
      continue;
    }
    const trial = clone(view);
    const planned: PlannedMove[] = [];
    let why: string | undefined;
    for (const c of list as PlanContainer[]) {
      const r = place(
        scheduler,
        trial,
        c,
        (n) => usable(n) && n.name !== host.name && !emptied.includes(n.name),
        byName,
      );
      if ('why' in r) {
        why = `${c.name} fits nowhere else: ${r.why}`;
        break;
      }
      apply(trial, c.name, host.name, r.to);
      planned.push({ container: c.name, from: host.name, to: r.to });
    }
    if (why) {
      kept.push({ host: host.name, why });
      continue;
    }
    view.splice(0, view.length, ...trial);
    moves.push(...planned);
    emptied.push(host.name);
  }
  return { mode: 'pack', moves: merged(moves), emptied, kept };
}

/** A container planned to move twice (onto a host emptied later) moves once, to where it ends. */
function merged(moves: readonly PlannedMove[]): PlannedMove[] {
  const out = new Map<string, PlannedMove>();
  for (const m of moves) {
    const had = out.get(m.container);
    out.set(m.container, had ? { ...had, to: m.to } : m);
  }
  return [...out.values()].filter((m) => m.from !== m.to);
}

function hasAffinity(c: PlanContainer | undefined): boolean {
  if (!c) return false;
  return (
    c.request.env.some((e) => /^affinity:/.test(e)) ||
    Object.keys(c.request.labels).some((k) => k === 'com.docker.swarm.affinities')
  );
}

/**
 * Spreads containers out again: from the host running the most to the one
 * running the fewest, while the difference is more than one and some
 * container of the fuller host may run on the emptier one.
 */
export function planSpread(
  scheduler: Scheduler,
  nodes: readonly SchedNode[],
  containers: readonly PlanContainer[],
  maxMoves = 100,
): RebalancePlan {
  const view = clone(nodes);
  const byName = new Map(containers.map((c) => [c.name, c]));
  const moves: PlannedMove[] = [];
  const stuck = new Set<string>();
  while (moves.length < maxMoves) {
    const hosts = view
      .filter(usable)
      .sort((a, b) => running(b).length - running(a).length || a.name.localeCompare(b.name));
    const full = hosts[0];
    const empty = hosts.at(-1);
    if (!full || !empty || full === empty || running(full).length - running(empty).length <= 1) break;
    const candidates = running(full)
      .map((c) => byName.get(bare(c.name)))
      .filter((c): c is PlanContainer => c !== undefined && !c.blocker && !stuck.has(c.name));
    let moved = false;
    for (const c of candidates) {
      const r = place(scheduler, view, c, (n) => n.name === empty.name, byName);
      if ('why' in r) {
        stuck.add(c.name);
        continue;
      }
      apply(view, c.name, full.name, r.to);
      moves.push({ container: c.name, from: full.name, to: r.to });
      moved = true;
      break;
    }
    if (!moved) break;
  }
  return { mode: 'spread', moves, emptied: [], kept: [] };
}
