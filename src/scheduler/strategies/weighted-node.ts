/**
 * Swarm's weighing (scheduler/strategy/weighted_node.go): a node's weight is the share of its CPUs
 * plus the share of its memory that would be reserved once the container is placed (each 0-100,
 * integer percent; 100 when the request reserves none), plus a health term. Nodes the request
 * does not fit in are left out. Every container counts, stopped ones too, as in Swarm.
 */
import { formatBytes, formatCpus, listNodes } from '../describe.ts';
import type { ContainerRequest, SchedNode } from '../types.ts';

export interface WeightedNode {
  node: SchedNode;
  weight: number;
}

export function reserved(node: SchedNode): { cpus: number; memoryBytes: number } {
  let cpus = 0;
  let memoryBytes = 0;
  for (const c of node.containers) {
    cpus += c.cpuShares ?? 0;
    memoryBytes += c.memoryBytes ?? 0;
  }
  return { cpus, memoryBytes };
}

/**
 * healthFactor: Swarm multiplies it by the node's health (100 healthy, 0 not); spread uses -10,
 * binpack +10, so a healthy node always ranks first when the health filter is off.
 */
export function weighNodes(
  req: ContainerRequest,
  nodes: readonly SchedNode[],
  healthFactor: number,
): WeightedNode[] {
  const cpus = req.cpuShares ?? 0;
  const memory = req.memoryBytes ?? 0;
  const weighted: WeightedNode[] = [];
  for (const node of nodes) {
    if (node.memoryBytes < memory || node.cpus < cpus) continue;
    const used = reserved(node);
    const cpuScore = cpus > 0 ? Math.floor(((used.cpus + cpus) * 100) / node.cpus) : 100;
    const memoryScore = memory > 0 ? Math.floor(((used.memoryBytes + memory) * 100) / node.memoryBytes) : 100;
    if (cpuScore <= 100 && memoryScore <= 100) {
      weighted.push({ node, weight: cpuScore + memoryScore + healthFactor * (node.healthy ? 100 : 0) });
    }
  }
  return weighted;
}

/** Orders by weight (ascending or descending), then container count the same way, then node name. */
export function sortWeighted(weighted: WeightedNode[], direction: 'ascending' | 'descending'): SchedNode[] {
  const sign = direction === 'ascending' ? 1 : -1;
  return [...weighted]
    .sort(
      (a, b) =>
        sign * (a.weight - b.weight) ||
        sign * (a.node.containers.length - b.node.containers.length) ||
        (a.node.name < b.node.name ? -1 : a.node.name > b.node.name ? 1 : 0),
    )
    .map((w) => w.node);
}

export function resourceConditions(req: ContainerRequest): string[] {
  const out: string[] = [];
  if ((req.cpuShares ?? 0) > 0) out.push(`${formatCpus(req.cpuShares ?? 0)} reserved`);
  if ((req.memoryBytes ?? 0) > 0) out.push(`${formatBytes(req.memoryBytes ?? 0)} memory reserved`);
  return out;
}

export function explainResources(req: ContainerRequest, nodes: readonly SchedNode[]): string {
  const free = (n: SchedNode): string => {
    const used = reserved(n);
    const parts: string[] = [];
    if ((req.cpuShares ?? 0) > 0)
      parts.push(`${formatCpus(Math.max(0, n.cpus - used.cpus))} of ${n.cpus} free`);
    if ((req.memoryBytes ?? 0) > 0) {
      parts.push(
        `${formatBytes(Math.max(0, n.memoryBytes - used.memoryBytes))} of ${formatBytes(n.memoryBytes)} free`,
      );
    }
    return parts.join(', ');
  };
  return `no resources available to schedule container: ${resourceConditions(req).join(' and ')} fit on no candidate node: ${listNodes(nodes, free)}`;
}
