/** Only healthy nodes: a node the manager lost contact with, or that fenced itself, gets nothing. */
import { listNodes } from '../describe.ts';
import type { Filter } from './filter.ts';

export const healthFilter: Filter = {
  name: 'health',
  hint: 'Check `lifeboat node ls`: start the agents of the unhealthy nodes or wait until they report again.',
  filter: (_req, _parsed, nodes) => nodes.filter((n) => n.healthy),
  conditions: () => [],
  explain: (_req, _parsed, nodes) =>
    nodes.length === 0
      ? 'no nodes available in the cluster'
      : `no healthy node: ${listNodes(nodes)} unhealthy`,
};
