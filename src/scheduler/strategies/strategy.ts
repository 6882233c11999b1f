/**
 * A strategy ranks the nodes that passed the filters, best first (Swarm's scheduler/strategy).
 * It may leave out nodes the container does not fit in (spread, binpack).
 */
import { ValidationError } from '../../util/errors.ts';
import type { ContainerRequest, SchedNode } from '../types.ts';
import { binpackStrategy } from './binpack.ts';
import { createRandomStrategy } from './random.ts';
import { spreadStrategy } from './spread.ts';

export interface Strategy {
  readonly name: string;
  rank(req: ContainerRequest, nodes: SchedNode[]): SchedNode[];
  /** What the request reserves, for error messages, e.g. '2 CPUs reserved'. */
  conditions(req: ContainerRequest): string[];
  /** Why rank() kept none of `nodes`. */
  explain(req: ContainerRequest, nodes: SchedNode[]): string;
}

export const STRATEGY_NAMES = ['spread', 'binpack', 'random'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
export const DEFAULT_STRATEGY: StrategyName = 'spread';

export interface StrategyOptions {
  /** For `random`: a source of numbers in [0, 1); Math.random by default. */
  rng?: () => number;
}

export function createStrategy(name: string = DEFAULT_STRATEGY, opts: StrategyOptions = {}): Strategy {
  switch (name) {
    case 'spread':
      return spreadStrategy;
    case 'binpack':
      return binpackStrategy;
    case 'random':
      return createRandomStrategy(opts.rng);
    default:
      throw new ValidationError(
        `unknown scheduler strategy "${name}"; valid strategies: ${STRATEGY_NAMES.join(', ')}`,
        `Pick one of those, or leave it out to use ${DEFAULT_STRATEGY}.`,
      );
  }
}
