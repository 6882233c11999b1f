/**
 * A filter keeps the nodes a container may run on (Swarm's scheduler/filter). Filters run in
 * order, each on what the previous one kept; the first to keep nothing ends scheduling, and its
 * explain() says why to the user.
 */
import { ValidationError } from '../../util/errors.ts';
import type { ParsedScheduling } from '../expression.ts';
import type { ContainerRequest, SchedNode } from '../types.ts';
import { affinityFilter } from './affinity.ts';
import { constraintFilter } from './constraint.ts';
import { dependencyFilter } from './dependency.ts';
import { healthFilter } from './health.ts';
import { portFilter } from './port.ts';
import { slotsFilter } from './slots.ts';

export interface Filter {
  readonly name: string;
  filter(req: ContainerRequest, parsed: ParsedScheduling, nodes: SchedNode[]): SchedNode[];
  /** What the request asks of this filter, for error messages (Swarm's GetFilters), e.g. 'port 80/tcp'. */
  conditions(req: ContainerRequest, parsed: ParsedScheduling): string[];
  /** Why none of `nodes` passes; only called when filter() kept none of them. */
  explain(req: ContainerRequest, parsed: ParsedScheduling, nodes: SchedNode[]): string;
  /** What the user can do when this filter leaves no node. */
  readonly hint: string;
}

/** Every filter, in the order `swarm manage` applied them by default. */
export const FILTERS: readonly Filter[] = [
  healthFilter,
  portFilter,
  slotsFilter,
  dependencyFilter,
  affinityFilter,
  constraintFilter,
];

export function filterNames(): string[] {
  return FILTERS.map((f) => f.name);
}

/** The named filters in the given order (duplicates dropped); all of them when names is undefined. */
export function getFilters(names?: readonly string[]): Filter[] {
  if (names === undefined) return [...FILTERS];
  const chosen: Filter[] = [];
  for (const name of names) {
    const filter = FILTERS.find((f) => f.name === name);
    if (filter === undefined) {
      throw new ValidationError(
        `unknown scheduler filter "${name}"; valid filters: ${filterNames().join(', ')}`,
        'Pick filters from that list, or leave them out to use all of them.',
      );
    }
    if (!chosen.includes(filter)) chosen.push(filter);
  }
  return chosen;
}
