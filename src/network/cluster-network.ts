import type { ContainerCreateSpec } from '../engine/types.ts';
import { parseSubnet, type Subnet } from './subnet.ts';

/**
 * The cluster network: one subnet across every host, addresses allocated by
 * the managers and kept with the container's record, so a container keeps
 * its address wherever it is moved or restored. Each host's Podman has a
 * bridge network of that name on the whole subnet, with the same gateway
 * address on every host; a host reaches a container elsewhere through a /32
 * route to that host, which the agents keep in step with the records (and
 * answer for it on their bridge by proxy ARP). docs/cluster-network.md.
 */
export const CLUSTER_NETWORK = 'lifeboat';
/** The Linux bridge of the cluster network on every host (also names it in `ip route`). */
export const CLUSTER_BRIDGE = 'lbc0';
export const DEFAULT_CLUSTER_SUBNET = '10.210.0.0/16';
/** `ip route ... proto 177`: the routes the agents (and a manager with --cluster-routes) own. */
export const ROUTE_PROTO = 177;
/** `ip route ... proto 178`: a move's target holding the packets of an address it is taking (host-routes.ts). */
export const HOLD_PROTO = 178;

/**
 * The link-local next hop that holds `ip`'s packets on a move's target: an
 * address nobody answers for, so the kernel queues the packets while it
 * asks, until the agent names the restored container's MAC for it. Unique
 * per address within a /16 (the last two octets).
 */
export function holdGateway(ip: string): string {
  const [, , c = 0, d = 0] = ip.split('.').map(Number);
  return `169.254.${(c % 254) + 1}.${d}`;
}

/** What the managers tell each agent with every heartbeat answer. */
export interface ClusterNetworkPlan {
  subnet: string;
  gateway: string;
  bridge: string;
  /** [address, host address to route it via]: the cluster network's containers on other hosts. */
  routes: [string, string][];
  /** [address, name, aliases...]: the same containers' names, for the host's DNS on the network. */
  names?: string[][];
}

export function clusterSubnet(cidr = DEFAULT_CLUSTER_SUBNET): Subnet {
  return parseSubnet(cidr, 'cluster subnet');
}

/** The container's address on the cluster network, from its create spec. */
export function clusterAddressOf(spec: Pick<ContainerCreateSpec, 'networks'>): string | undefined {
  return spec.networks?.[CLUSTER_NETWORK]?.staticIps?.find((ip) => ip.includes('.'));
}

export interface RoutedContainer {
  node: string;
  address: string;
  /** Its name and network aliases (compose service names). */
  names?: string[];
  /** A move or a restore on its way to this host: it holds the address there already. */
  movingTo?: string;
}

/**
 * The /32 routes one host needs (or, with `self` undefined, a machine
 * outside every host, e.g. the one running a local cluster): every
 * cluster-network container that is not on `self`, via its host's address.
 */
export function routesFor(
  containers: readonly RoutedContainer[],
  hostAddress: ReadonlyMap<string, string>,
  self: string | undefined,
): [string, string][] {
  const out: [string, string][] = [];
  for (const c of containers) {
    if (self !== undefined && (c.node === self || c.movingTo === self)) continue;
    const via = hostAddress.get(c.node);
    if (via === undefined) continue;
    out.push([c.address, via]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The names `self`'s DNS must answer for the other hosts' containers (its own are Podman's). */
export function namesFor(containers: readonly RoutedContainer[], self: string): string[][] {
  return containers
    .filter((c) => c.node !== self && c.movingTo !== self && (c.names?.length ?? 0) > 0)
    .map((c) => [c.address, ...c.names!])
    .sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
}
