/**
 * Node constraints: `constraint:<key><op><value>` against a node's id and name (key `node`) or
 * its labels (every other key; a missing label reads as '').
 */
import { listNodes } from '../describe.ts';
import {
  formatExpression,
  lookupLabel,
  matchExpression,
  narrowByExpressions,
  type Expression,
} from '../expression.ts';
import type { SchedNode } from '../types.ts';
import type { Filter } from './filter.ts';

export function constraintMatches(expr: Expression, node: SchedNode): boolean {
  if (expr.key.toLowerCase() === 'node') return matchExpression(expr, [node.id, node.name]);
  return matchExpression(expr, [lookupLabel(node.labels, expr.key) ?? '']);
}

export const constraintFilter: Filter = {
  name: 'constraint',
  hint: 'Compare the constraints with the node labels shown by `lifeboat node ls`; make a constraint soft with ==~ or !=~ to prefer rather than require it.',
  filter: (_req, parsed, nodes) =>
    narrowByExpressions(parsed.constraints, nodes, constraintMatches).remaining,
  conditions: (_req, parsed) => parsed.constraints.map(formatExpression),
  explain: (_req, parsed, nodes) => {
    const { failed, before } = narrowByExpressions(parsed.constraints, nodes, constraintMatches);
    if (failed === undefined) return 'no node satisfies the constraints';
    const detail = (n: SchedNode): string | undefined => {
      if (failed.key.toLowerCase() === 'node') return undefined;
      const value = lookupLabel(n.labels, failed.key);
      return value === undefined ? `no ${failed.key} label` : `${failed.key}=${value}`;
    };
    return `no candidate node satisfies ${formatExpression(failed)}: ${listNodes(before, detail)}`;
  },
};
