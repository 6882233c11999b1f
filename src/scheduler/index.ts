export type {
  ContainerRequest,
  PortBinding,
  PortProtocol,
  SchedContainer,
  SchedImage,
  SchedNode,
} from './types.ts';
export { NodeLabel } from './types.ts';
export {
  AFFINITIES_LABEL,
  CONSTRAINTS_LABEL,
  ExpressionError,
  RESCHEDULE_POLICIES,
  RESCHEDULE_POLICIES_LABEL,
  extractSchedulingFromRequest,
  formatExpression,
  matchExpression,
  parseExpression,
  type Expression,
  type ExpressionKind,
  type Operator,
  type ParsedScheduling,
  type ReschedulePolicy,
} from './expression.ts';
export { FILTERS, filterNames, getFilters, type Filter } from './filters/filter.ts';
export { constraintMatches } from './filters/constraint.ts';
export { affinityMatches } from './filters/affinity.ts';
export { findContainer } from './filters/dependency.ts';
export {
  DEFAULT_STRATEGY,
  STRATEGY_NAMES,
  createStrategy,
  type Strategy,
  type StrategyName,
  type StrategyOptions,
} from './strategies/strategy.ts';
export {
  NO_NODE_PHRASE,
  NoNodeFitsError,
  Scheduler,
  type Placement,
  type ScheduleOptions,
  type SchedulerOptions,
  type TraceStep,
} from './scheduler.ts';
