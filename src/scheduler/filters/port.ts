/**
 * Host ports: a node where another container (running or stopped) already holds a requested host
 * port, for the same protocol on the same or an overlapping address, is not a candidate.
 */
import { listNodes } from '../describe.ts';
import type { ContainerRequest, PortBinding, SchedContainer, SchedNode } from '../types.ts';
import type { Filter } from './filter.ts';

const WILDCARDS = new Set(['', '0.0.0.0', '::']);

function bindsAll(b: PortBinding): boolean {
  return WILDCARDS.has(b.hostIp ?? '');
}

export function portConflict(requested: PortBinding, held: PortBinding): boolean {
  if (requested.hostPort <= 0 || held.hostPort !== requested.hostPort) return false;
  if ((held.protocol ?? 'tcp') !== (requested.protocol ?? 'tcp')) return false;
  return bindsAll(requested) || bindsAll(held) || requested.hostIp === held.hostIp;
}

/** The container on the node holding a port that `requested` needs, if any. */
export function portHolder(node: SchedNode, requested: PortBinding): SchedContainer | undefined {
  return node.containers.find((c) => c.ports.some((held) => portConflict(requested, held)));
}

export function formatPort(b: PortBinding): string {
  const ip = bindsAll(b) ? '' : `${b.hostIp}:`;
  return `${ip}${b.hostPort}/${b.protocol ?? 'tcp'}`;
}

function requested(req: ContainerRequest): PortBinding[] {
  return req.portBindings.filter((b) => b.hostPort > 0);
}

export const portFilter: Filter = {
  name: 'port',
  hint: 'Choose another host port, leave the host port out (-p 80) to get a free one, or remove the container holding it (`docker ps -a`).',
  filter: (req, _parsed, nodes) => {
    let candidates = nodes;
    for (const b of requested(req)) candidates = candidates.filter((n) => portHolder(n, b) === undefined);
    return candidates;
  },
  conditions: (req) => {
    const mode = req.networkMode === 'host' ? ' (host network)' : '';
    return requested(req).map((b) => `port ${formatPort(b)}${mode}`);
  },
  explain: (req, _parsed, nodes) => {
    let candidates = nodes;
    for (const b of requested(req)) {
      const next = candidates.filter((n) => portHolder(n, b) === undefined);
      if (next.length === 0) {
        const holder = (n: SchedNode): string | undefined => {
          const c = portHolder(n, b);
          return c === undefined ? undefined : `held by ${c.name.replace(/^\//, '')}`;
        };
        return `port ${formatPort(b)} is taken on every candidate node: ${listNodes(candidates, holder)}`;
      }
      candidates = next;
    }
    return 'the requested ports are taken';
  },
};
