import { createHash } from 'node:crypto';
import { AddressPool } from '../network/address-pool.ts';
import {
  CLUSTER_BRIDGE,
  CLUSTER_NETWORK,
  clusterAddressOf,
  clusterSubnet,
  namesFor,
  routesFor,
  type ClusterNetworkPlan,
  type RoutedContainer,
} from '../network/cluster-network.ts';
import { HostRoutes } from '../network/host-routes.ts';
import type { Subnet } from '../network/subnet.ts';
import { parseSubnet } from '../network/subnet.ts';
import { errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import type { ClusterState } from './cluster-state.ts';
import type { ContainerRecord, NodeRecord } from './records.ts';

export interface ClusterNetworkOptions {
  /** The subnet the cluster network's addresses come from (kept once recorded). */
  subnet?: string;
  /**
   * Keep /32 routes to every cluster-network container in this manager's
   * own network namespace: the machine running a local cluster (or a
   * cluster's gateway) then reaches every container at its own address.
   */
  routes?: boolean;
}

/**
 * A manager's side of the cluster network (src/network): its record (so
 * `docker network ls` shows it and creates can name it), the address pool,
 * the plan every heartbeat answer carries, and optionally the routes of the
 * manager's own namespace.
 */
export class ManagerClusterNetwork {
  readonly addresses: AddressPool;
  private subnet: Subnet;
  private recorded = false;
  private routes: HostRoutes | undefined;
  private timer: NodeJS.Timeout | undefined;
  private routing: Promise<void> | undefined;
  private ensuring: Promise<void> | undefined;
  private cache:
    { at: number; value: { containers: RoutedContainer[]; hosts: Map<string, string> } } | undefined;
  /** Addresses a move routes to its target ahead of the record (from the end of the restore). */
  private readonly early = new Map<string, { to: string; until: number }>();

  constructor(
    private readonly o: {
      state: ClusterState;
      records: () => Promise<ContainerRecord[]>;
      hosts: () => Promise<NodeRecord[]>;
      log: Logger;
    } & ClusterNetworkOptions,
  ) {
    this.subnet = clusterSubnet(o.subnet);
    this.addresses = new AddressPool(o.state.store, CLUSTER_NETWORK, this.subnet);
  }

  /** Makes sure the record exists (until it does, every call tries again); starts the routes of this namespace. */
  start(): void {
    void this.ensureRecord();
    if (this.o.routes) {
      this.routes = new HostRoutes(this.o.log, undefined, undefined, () => this.subnet);
      this.timer = setInterval(() => {
        this.routing ??= this.routeHere().finally(() => (this.routing = undefined));
      }, 250);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.routing;
    await this.routes?.clear();
  }

  private ensureRecord(): Promise<void> {
    if (this.recorded) return Promise.resolve();
    this.ensuring ??= this.makeRecord()
      .catch((err: unknown) =>
        this.o.log.warn('the cluster network is not recorded yet; trying again with the next heartbeat', {
          error: errorMessage(err),
        }),
      )
      .finally(() => (this.ensuring = undefined));
    return this.ensuring;
  }

  private async makeRecord(): Promise<void> {
    const made = await this.o.state.createNetwork({
      name: CLUSTER_NETWORK,
      id: createHash('sha256').update('lifeboat cluster network').digest('hex'),
      created: new Date().toISOString(),
      internal: false,
      labels: {},
      subnets: [{ subnet: this.subnet.cidr, gateway: this.subnet.gateway }],
      options: {},
      cluster: true,
    });
    if (!made) {
      const rec = await this.o.state.network(CLUSTER_NETWORK);
      const have = rec?.subnets[0]?.subnet;
      if (!rec?.cluster || !have) {
        this.o.log.error(
          `a network named ${CLUSTER_NETWORK} exists and is not the cluster network: the cluster network is unavailable until it is removed`,
        );
        return;
      }
      if (have !== this.subnet.cidr) {
        this.o.log.warn('the cluster network keeps the subnet it was recorded with', {
          recorded: have,
          configured: this.subnet.cidr,
        });
        this.subnet = parseSubnet(have);
        this.addresses.setSubnet(this.subnet);
      }
    }
    this.recorded = true;
    this.o.log.info('cluster network', {
      network: CLUSTER_NETWORK,
      subnet: this.subnet.cidr,
      routesHere: !!this.o.routes,
    });
  }

  /** The routed containers and host addresses, read at most every 100 ms: 200 heartbeats a second share one read. */
  private async routed(): Promise<{ containers: RoutedContainer[]; hosts: Map<string, string> }> {
    const now = performance.now();
    if (this.cache && now - this.cache.at < 100) return this.cache.value;
    const value = await this.readRouted();
    this.cache = { at: now, value };
    return value;
  }

  /**
   * A move restored the container holding `address` on `to`: from now on
   * this manager routes the address there (and tells the hosts so), until
   * the record names `to` or the returned undo is called (the move failed
   * after all). A client's retransmissions reach the restored socket a
   * record update and a poll sooner.
   */
  addressMoving(address: string, to: string): () => void {
    this.early.set(address, { to, until: performance.now() + 60_000 });
    this.refresh();
    return () => {
      if (this.early.get(address)?.to === to) this.early.delete(address);
      this.refresh();
    };
  }

  private refresh(): void {
    this.cache = undefined;
    if (this.routes) this.routing ??= this.routeHere().finally(() => (this.routing = undefined));
  }

  private async readRouted(): Promise<{ containers: RoutedContainer[]; hosts: Map<string, string> }> {
    const containers: RoutedContainer[] = [];
    const now = performance.now();
    for (const r of await this.o.records()) {
      const address = clusterAddressOf(r.spec);
      if (address === undefined || r.phase === 'lost') continue;
      const early = this.early.get(address);
      const names = [r.name, ...(r.spec.networks?.[CLUSTER_NETWORK]?.aliases ?? [])];
      if (early && (early.to === r.node || early.until < now)) this.early.delete(address);
      else if (early) {
        containers.push({ node: early.to, address, names });
        continue;
      }
      // a move's target only while the move runs: a failed one leaves the record as it was, phase included
      const moving =
        r.movingTo && (r.phase === 'migrating' || r.phase === 'restoring') ? r.movingTo : undefined;
      containers.push({ node: r.node, address, names, ...(moving ? { movingTo: moving } : {}) });
    }
    const hosts = new Map((await this.o.hosts()).map((n) => [n.report.name, n.report.address]));
    return { containers, hosts };
  }

  /** What a heartbeat answer tells `host`; undefined until the network is recorded. */
  async planFor(host: string): Promise<ClusterNetworkPlan | undefined> {
    await this.ensureRecord();
    if (!this.recorded) return undefined;
    const { containers, hosts } = await this.routed();
    return {
      subnet: this.subnet.cidr,
      gateway: this.subnet.gateway,
      bridge: CLUSTER_BRIDGE,
      routes: routesFor(containers, hosts, host),
      names: namesFor(containers, host),
    };
  }

  private async routeHere(): Promise<void> {
    try {
      const { containers, hosts } = await this.routed();
      await this.routes?.reconcile(routesFor(containers, hosts, undefined));
    } catch (err) {
      this.o.log.warn('could not update the routes to the cluster network', { error: errorMessage(err) });
    }
  }
}
