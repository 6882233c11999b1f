/**
 * Swarm classic's scheduler: candidates -> filters -> strategy. Soft expressions are tried first;
 * when no node fits with them, scheduling is retried without them (docker/swarm scheduler.go).
 */
import { LifeboatError } from '../util/errors.ts';
import { listNodes } from './describe.ts';
import { extractSchedulingFromRequest, type Expression, type ParsedScheduling } from './expression.ts';
import { getFilters, type Filter } from './filters/filter.ts';
import { createStrategy, type Strategy } from './strategies/strategy.ts';
import type { ContainerRequest, SchedNode } from './types.ts';

export const NO_NODE_PHRASE = 'Unable to find a node that satisfies the following conditions';

export interface SchedulerOptions {
  /** Filter names in the order to apply them; all filters by default. */
  filters?: string[];
  /** 'spread' (default), 'binpack' or 'random'. */
  strategy?: string;
  /** Random source for the random strategy. */
  rng?: () => number;
}

export interface ScheduleOptions {
  /** Node names (or IDs) never to choose, e.g. the source of a migration. */
  exclude?: string[];
}

export interface TraceStep {
  /** A filter name, 'exclude', or 'strategy:<name>'. */
  filter: string;
  /** Node names left after this step (ranked, for the strategy step). */
  remaining: string[];
}

export interface Placement {
  node: SchedNode;
  /** Every node the container fits on, best first. */
  candidates: string[];
  trace: TraceStep[];
  /** The request's scheduling parts: create the container with scheduling.env and scheduling.labels. */
  scheduling: ParsedScheduling;
  /** Soft expressions the chosen node does not satisfy, e.g. 'affinity:image==~redis'. */
  unmetSoft: string[];
}

/** No node can take the container: says which step eliminated the last candidates, and why. */
export class NoNodeFitsError extends LifeboatError {
  /** The step that left nothing: a filter name, 'exclude', 'strategy:<name>' or 'none' (no nodes). */
  readonly filter: string;
  readonly conditions: string[];
  readonly trace: TraceStep[];

  constructor(filter: string, conditions: string[], explanation: string, hint: string, trace: TraceStep[]) {
    super('no_node_fits', `${NO_NODE_PHRASE}${conditions.map((c) => ` [${c}]`).join('')}: ${explanation}`, {
      status: 409,
      hint,
    });
    this.filter = filter;
    this.conditions = conditions;
    this.trace = trace;
  }
}

export class Scheduler {
  readonly filters: readonly Filter[];
  readonly strategy: Strategy;

  constructor(opts: SchedulerOptions = {}) {
    this.filters = getFilters(opts.filters);
    this.strategy = createStrategy(opts.strategy, opts.rng === undefined ? {} : { rng: opts.rng });
  }

  schedule(req: ContainerRequest, nodes: readonly SchedNode[], opts: ScheduleOptions = {}): Placement {
    const parsed = extractSchedulingFromRequest(req);
    const exclude = opts.exclude ?? [];
    let placed: Pick<Placement, 'node' | 'candidates' | 'trace'>;
    try {
      placed = this.place(req, parsed, nodes, exclude);
    } catch (err) {
      const hard = withoutSoft(parsed);
      if (!(err instanceof NoNodeFitsError) || hard === parsed) throw err;
      placed = this.place(req, hard, nodes, exclude);
    }
    return { ...placed, scheduling: parsed, unmetSoft: this.unmetSoft(req, parsed, placed.node) };
  }

  private place(
    req: ContainerRequest,
    parsed: ParsedScheduling,
    nodes: readonly SchedNode[],
    exclude: readonly string[],
  ): Pick<Placement, 'node' | 'candidates' | 'trace'> {
    const trace: TraceStep[] = [];
    const conditions: string[] = [];
    const fail = (step: string, explanation: string, hint: string): NoNodeFitsError =>
      new NoNodeFitsError(step, [...conditions], explanation, hint, trace);
    const record = (step: string, remaining: SchedNode[]): void => {
      trace.push({ filter: step, remaining: remaining.map((n) => n.name) });
    };

    let candidates = [...nodes];
    if (candidates.length === 0) {
      throw fail('none', 'no nodes available in the cluster', 'Start `lifeboat agent` on at least one host.');
    }
    if (exclude.length > 0) {
      conditions.push(...exclude.map((name) => `node!=${name} (excluded)`));
      const before = candidates;
      candidates = candidates.filter((n) => !exclude.includes(n.name) && !exclude.includes(n.id));
      record('exclude', candidates);
      if (candidates.length === 0) {
        throw fail('exclude', `every node is excluded: ${listNodes(before)}`, 'Add a node to the cluster.');
      }
    }
    for (const filter of this.filters) {
      conditions.push(...filter.conditions(req, parsed));
      const next = filter.filter(req, parsed, candidates);
      record(filter.name, next);
      if (next.length === 0) {
        // hosts an operator drained were set aside first: say so, they may be the ones asked for
        const drained = nodes.filter((n) => n.healthy && n.availability === 'drain');
        const aside =
          filter.name !== 'health' && drained.length
            ? ` (drained, so not considered: ${listNodes(drained)}; \`lifeboat node activate\` takes a host back)`
            : '';
        throw fail(filter.name, filter.explain(req, parsed, candidates) + aside, filter.hint);
      }
      candidates = next;
    }
    const step = `strategy:${this.strategy.name}`;
    conditions.push(...this.strategy.conditions(req));
    const ranked = this.strategy.rank(req, candidates);
    record(step, ranked);
    const best = ranked[0];
    if (best === undefined) {
      throw fail(
        step,
        this.strategy.explain(req, candidates),
        'Reserve less (-m, -c), remove stopped containers that hold reservations, or add nodes.',
      );
    }
    return { node: best, candidates: ranked.map((n) => n.name), trace };
  }

  // Each soft expression, made hard and alone, is run through the filters on the chosen node.
  private unmetSoft(req: ContainerRequest, parsed: ParsedScheduling, node: SchedNode): string[] {
    const soft = [...parsed.constraints, ...parsed.affinities].filter((e) => e.soft);
    return soft
      .filter((e) => {
        const hard: Expression = { ...e, soft: false };
        const single: ParsedScheduling = {
          ...parsed,
          constraints: e.kind === 'constraint' ? [hard] : [],
          affinities: e.kind === 'affinity' ? [hard] : [],
        };
        return this.filters.some((f) => f.filter(req, single, [node]).length === 0);
      })
      .map((e) => `${e.kind}:${e.text}`);
  }
}

function withoutSoft(parsed: ParsedScheduling): ParsedScheduling {
  const hasSoft = [...parsed.constraints, ...parsed.affinities].some((e) => e.soft);
  if (!hasSoft) return parsed;
  return {
    ...parsed,
    constraints: parsed.constraints.filter((e) => !e.soft),
    affinities: parsed.affinities.filter((e) => !e.soft),
  };
}
