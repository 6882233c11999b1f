/** binpack: the most loaded node that still fits first, keeping whole nodes free for big containers. */
import type { Strategy } from './strategy.ts';
import { explainResources, resourceConditions, sortWeighted, weighNodes } from './weighted-node.ts';

const HEALTH_FACTOR = 10;

export const binpackStrategy: Strategy = {
  name: 'binpack',
  rank: (req, nodes) => sortWeighted(weighNodes(req, nodes, HEALTH_FACTOR), 'descending'),
  conditions: resourceConditions,
  explain: explainResources,
};
