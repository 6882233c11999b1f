/** spread: the least loaded node first (lowest weight, then fewest containers): losing a node loses few containers. */
import type { Strategy } from './strategy.ts';
import { explainResources, resourceConditions, sortWeighted, weighNodes } from './weighted-node.ts';

const HEALTH_FACTOR = -10;

export const spreadStrategy: Strategy = {
  name: 'spread',
  rank: (req, nodes) => sortWeighted(weighNodes(req, nodes, HEALTH_FACTOR), 'ascending'),
  conditions: resourceConditions,
  explain: explainResources,
};
