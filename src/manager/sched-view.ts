import type { ContainerCreateSpec } from '../engine/types.ts';
import { CONSTRAINTS_LABEL, type ContainerRequest, type SchedNode } from '../scheduler/index.ts';
import type { NodeRecord } from './records.ts';

/**
 * Views already made, per record object: a record from the host-record mirror
 * is the same object until the host's next heartbeat, and converting 200
 * hosts x 50 containers for every placement was a good part of its time.
 * Callers treat views as read-only (the rebalance planner clones them).
 */
const views = new WeakMap<NodeRecord, SchedNode>();

/** The scheduler's view of a host, from its last heartbeat. */
export function toSchedNode(rec: NodeRecord, healthy: boolean): SchedNode {
  const have = views.get(rec);
  if (have && have.healthy === healthy) return have;
  const view = schedNode(rec, healthy);
  views.set(rec, view);
  return view;
}

function schedNode(rec: NodeRecord, healthy: boolean): SchedNode {
  const r = rec.report;
  return {
    id: r.name,
    name: r.name,
    address: r.address,
    labels: { ...r.labels, node: r.name },
    cpus: r.cpus,
    memoryBytes: r.memoryBytes,
    healthy,
    ...(rec.availability ? { availability: rec.availability } : {}),
    containers: r.containers.map((c) => ({
      id: c.Id,
      name: c.Names[0] ?? c.Id,
      image: c.Image,
      imageId: c.ImageID,
      labels: c.Labels ?? {},
      ports: (c.Ports ?? []).map((p) => ({
        hostPort: p.host_port,
        containerPort: p.container_port,
        protocol: p.protocol === 'udp' ? 'udp' : 'tcp',
        hostIp: p.host_ip,
      })),
      running: c.State === 'running',
    })),
    images: r.images.map((i) => ({ id: i.id, names: i.names })),
  };
}

/**
 * A scheduling request for a container: its create-time expressions (kept in
 * its com.docker.swarm.* labels) plus extra ones for this placement.
 */
export function requestFor(
  spec: ContainerCreateSpec,
  extra: { env?: string[]; labels?: Record<string, string> } = {},
): ContainerRequest {
  const env = [...Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`), ...(extra.env ?? [])];
  return {
    name: spec.name,
    image: spec.image,
    env,
    labels: { ...(spec.labels ?? {}), ...(extra.labels ?? {}) },
    portBindings: (spec.portMappings ?? []).map((p) => ({
      hostPort: p.hostPort,
      containerPort: p.containerPort,
      protocol: p.protocol ?? 'tcp',
      ...(p.hostIp ? { hostIp: p.hostIp } : {}),
    })),
    links: [],
    volumesFrom: [],
    ...(spec.memoryLimitBytes ? { memoryBytes: spec.memoryLimitBytes } : {}),
  };
}

/**
 * Create-time `node==X` constraints pin a container to the host it was first
 * placed on; a migration or a restore elsewhere must move it off that host,
 * so they are set aside (other constraints, labels and affinities still apply).
 */
export function withoutNodePins(labels: Record<string, string>): {
  labels: Record<string, string>;
  dropped: string[];
} {
  const raw = labels[CONSTRAINTS_LABEL];
  if (!raw) return { labels, dropped: [] };
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    return { labels, dropped: [] };
  }
  if (!Array.isArray(list)) return { labels, dropped: [] };
  const kept = list.filter((c): c is string => typeof c === 'string' && !/^node==/i.test(c.trim()));
  const dropped = list.filter((c): c is string => typeof c === 'string' && /^node==/i.test(c.trim()));
  return { labels: { ...labels, [CONSTRAINTS_LABEL]: JSON.stringify(kept) }, dropped };
}
