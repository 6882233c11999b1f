/**
 * containerslots: a node labelled `containerslots=N` takes at most N running containers. A label
 * that is not an integer means no limit, as in Swarm.
 */
import { listNodes } from '../describe.ts';
import { NodeLabel, type SchedNode } from '../types.ts';
import type { Filter } from './filter.ts';

/** The node's slot limit, or undefined when it has none (no label, or not an integer). */
export function containerSlots(node: SchedNode): number | undefined {
  const raw = node.labels[NodeLabel.containerSlots];
  return raw !== undefined && /^[+-]?\d+$/.test(raw) ? Number(raw) : undefined;
}

export function runningContainers(node: SchedNode): number {
  return node.containers.filter((c) => c.running !== false).length;
}

function hasFreeSlot(node: SchedNode): boolean {
  const slots = containerSlots(node);
  return slots === undefined || runningContainers(node) < slots;
}

export const slotsFilter: Filter = {
  name: 'containerslots',
  hint: 'Stop or remove containers on those nodes, raise their containerslots label, or add nodes.',
  filter: (_req, _parsed, nodes) => nodes.filter(hasFreeSlot),
  conditions: () => [],
  explain: (_req, _parsed, nodes) =>
    `no free container slot: ${listNodes(nodes, (n) => `${runningContainers(n)} running, containerslots=${containerSlots(n)}`)}`,
};
