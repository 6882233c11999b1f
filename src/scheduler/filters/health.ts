/**
 * Only healthy, active nodes: a node the manager lost contact with, or that
 * fenced itself, gets nothing; nor does one an operator drained.
 */
import { listNodes } from '../describe.ts';
import type { Filter } from './filter.ts';

export const healthFilter: Filter = {
  name: 'health',
  hint: 'Check `lifeboat node ls`: start the agents of the unhealthy nodes or wait until they report again; `lifeboat node activate NODE` takes a drained node back.',
  filter: (_req, _parsed, nodes) => nodes.filter((n) => n.healthy && n.availability !== 'drain'),
  conditions: () => [],
  explain: (_req, _parsed, nodes) => {
    if (nodes.length === 0) return 'no nodes available in the cluster';
    const drained = nodes.filter((n) => n.healthy && n.availability === 'drain');
    const unhealthy = nodes.filter((n) => !n.healthy);
    if (drained.length === 0) return `no healthy node: ${listNodes(unhealthy)} unhealthy`;
    return (
      `no active node: ${listNodes(drained)} drained` +
      (unhealthy.length ? `; ${listNodes(unhealthy)} unhealthy` : '')
    );
  },
};
