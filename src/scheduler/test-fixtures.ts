/** Builders for the scheduler's unit tests: small nodes, containers and requests with defaults. */
import type { ContainerRequest, SchedContainer, SchedImage, SchedNode } from './types.ts';

export function makeNode(name: string, over: Partial<SchedNode> = {}): SchedNode {
  return {
    id: `${name}-id`,
    name,
    address: `${name}:7946`,
    labels: {},
    cpus: 4,
    memoryBytes: 8 * 1024 ** 3,
    healthy: true,
    containers: [],
    images: [],
    ...over,
  };
}

export function makeContainer(name: string, over: Partial<SchedContainer> = {}): SchedContainer {
  return { id: `${name}-id`, name, image: 'busybox', labels: {}, ports: [], ...over };
}

export function makeImage(id: string, ...names: string[]): SchedImage {
  return { id, names };
}

export function makeRequest(over: Partial<ContainerRequest> = {}): ContainerRequest {
  return { image: 'busybox', env: [], labels: {}, portBindings: [], links: [], volumesFrom: [], ...over };
}

export function names(nodes: readonly SchedNode[]): string[] {
  return nodes.map((n) => n.name);
}
