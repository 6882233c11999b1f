import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import {
  CLUSTER_BRIDGE,
  HOLD_PROTO,
  holdGateway,
  ROUTE_PROTO,
  type ClusterNetworkPlan,
} from './cluster-network.ts';
import { contains, parseSubnet, type Subnet } from './subnet.ts';

const exec = promisify(execFile);

export type Run = (cmd: string, args: string[]) => Promise<string>;

const defaultRun: Run = async (cmd, args) => (await exec(cmd, args, { timeout: 10_000 })).stdout;

/**
 * How long a claimed address stays out of the routes at most: until then, a
 * plan that still routes it elsewhere is taken to lag behind the move.
 */
const CLAIM_MS = 10_000;

/**
 * How long a hold stays at most: a move whose manager died leaves its hold
 * behind (the target's own clean-up of an abandoned move comes minutes
 * later), and it must not keep this host's containers from the address.
 */
const HOLD_MS = 60_000;

/**
 * The cluster network's plumbing in this network namespace, with `ip` and
 * `iptables` so an operator can see and undo every piece:
 * - the bridge (on a host; Podman's bridge plugin makes it, with the gateway
 *   address on the whole subnet): proxy ARP (a container asking for an
 *   address that lives elsewhere gets this host's MAC and its packet is
 *   routed), forwarding, loose reverse-path filtering, and one NAT
 *   exception: TCP segments other than SYNs leaving
 *   the subnet are never masqueraded, so a connection restored here after a
 *   move keeps the container's own address even when its first packet here
 *   comes from the container;
 * - /32 routes `proto 177` to the containers on other hosts, reconciled with
 *   the managers' plan. Addresses a restore or a create is taking here are
 *   kept out of them.
 */
export class HostRoutes {
  private readonly claimed = new Map<string, number>();
  private readonly held = new Map<string, number>();
  private hostReady: string | undefined;
  /** The last plan applied with the bridge (its subnet and gateway): what a bridge made ahead needs. */
  private bridgePlan: ClusterNetworkPlan | undefined;
  private watchBridge: NodeJS.Timeout | undefined;
  private applying: Promise<void> | undefined;

  /**
   * Told the addresses whose route was just added or changed: containers of
   * this host may still hold a neighbour entry for one (the container was
   * here a moment ago, with the same MAC it keeps on its new host).
   */
  routed: ((ips: string[]) => Promise<void>) | undefined;

  constructor(
    private readonly log: Logger,
    private readonly run: Run = defaultRun,
    private readonly now: () => number = () => performance.now(),
    /** Only routes into this subnet are this instance's (a manager's namespace may hold other clusters'). */
    private readonly scope?: () => Subnet | undefined,
  ) {}

  /** This host takes `ip` (a restore, a create): no route may send it elsewhere from now on. */
  async claim(ip: string): Promise<void> {
    this.claimed.set(ip, this.now() + CLAIM_MS);
    await this.run('ip', ['route', 'del', `${ip}/32`, 'proto', String(ROUTE_PROTO)]).catch(() => undefined);
  }

  /**
   * A move's target holds `ip`'s packets until the container is restored:
   * `ip route ... via <holdGateway(ip)> dev lbc0 onlink proto 178`. Nobody
   * answers for that next hop, so the kernel keeps the packets in its
   * neighbour queue while it asks (3 probes, 1 s apart), instead of the
   * source's frozen copy dropping them. A host on which no container of the
   * network has run yet has no bridge: it is made here first, as Podman's
   * bridge plugin would (the plugin takes a bridge that exists with its
   * gateway address). False when that cannot be done: nothing is held.
   */
  async hold(ip: string): Promise<boolean> {
    const bridge = CLUSTER_BRIDGE;
    try {
      await this.bridgeAhead();
      await this.run('ip', ['neigh', 'del', holdGateway(ip), 'dev', bridge]).catch(() => undefined);
      await this.run('ip', [
        'route',
        'replace',
        `${ip}/32`,
        'via',
        holdGateway(ip),
        'dev',
        bridge,
        'onlink',
        'proto',
        String(HOLD_PROTO),
      ]);
      this.held.set(ip, this.now() + HOLD_MS);
      return true;
    } catch (err) {
      this.log.info('not holding packets for the address: it is routed here once restored', {
        ip,
        error: errorMessage(err),
      });
      return false;
    }
  }

  /**
   * The cluster network's bridge before its first container here: Podman's
   * network exists (a move prepares it on the target first), and its bridge
   * plugin uses a bridge that is there if it carries the gateway address.
   * Its MAC is pinned, as the plugin does, so that it does not change as
   * containers come and go.
   */
  private async bridgeAhead(): Promise<void> {
    const bridge = CLUSTER_BRIDGE;
    const exists = await this.run('ip', ['link', 'show', bridge]).then(
      () => true,
      () => false,
    );
    const plan = this.bridgePlan;
    if (exists || !plan) return;
    const s = parseSubnet(plan.subnet);
    await this.run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    const mac = (
      JSON.parse((await this.run('ip', ['-j', 'link', 'show', bridge])) || '[]') as { address?: string }[]
    )[0]?.address;
    if (mac) await this.run('ip', ['link', 'set', bridge, 'address', mac]);
    await this.run('ip', ['addr', 'add', `${plan.gateway}/${s.prefix}`, 'dev', bridge]);
    await this.run('ip', ['link', 'set', bridge, 'up']);
    this.log.info('made the cluster network bridge ahead of its first container here, to hold a move', {
      bridge,
      gateway: `${plan.gateway}/${s.prefix}`,
    });
    await this.proxyArp(bridge);
  }

  /**
   * The container holding `ip` runs here now, with `mac`: naming that MAC
   * for the hold's next hop sends the queued packets to it at once, in
   * order; then the hold goes and the address is reached as any other here.
   */
  async release(ip: string, mac: string): Promise<void> {
    await this.run('ip', [
      'neigh',
      'replace',
      holdGateway(ip),
      'lladdr',
      mac,
      'dev',
      CLUSTER_BRIDGE,
      'nud',
      'reachable',
    ]);
    await this.unhold(ip);
  }

  /** The hold goes (the move failed or was called off): what it queued is dropped, and TCP sends it again. */
  async unhold(ip: string): Promise<void> {
    this.held.delete(ip);
    await this.run('ip', ['route', 'del', `${ip}/32`, 'proto', String(HOLD_PROTO)]).catch(() => undefined);
    await this.run('ip', ['neigh', 'del', holdGateway(ip), 'dev', CLUSTER_BRIDGE]).catch(() => undefined);
  }

  /** Applies a plan; a plan arriving while one is applied waits for the next beat. */
  apply(plan: ClusterNetworkPlan, opts: { bridge: boolean }): Promise<void> {
    if (this.applying) return this.applying;
    this.applying = this.applyNow(plan, opts)
      .catch((err: unknown) =>
        this.log.warn('could not apply the cluster network plan', { error: errorMessage(err) }),
      )
      .finally(() => (this.applying = undefined));
    return this.applying;
  }

  private async applyNow(plan: ClusterNetworkPlan, opts: { bridge: boolean }): Promise<void> {
    if (opts.bridge) {
      this.bridgePlan = plan;
      await this.ensureBridge(plan);
    }
    await this.reconcile(plan.routes);
  }

  /**
   * Forwarding and the NAT exception at once; proxy ARP once Podman's bridge
   * plugin has made the bridge (at the first container on the network: a
   * bridge made before would make Podman refuse the subnet as taken).
   */
  private async ensureBridge(plan: ClusterNetworkPlan): Promise<void> {
    const s = parseSubnet(plan.subnet);
    const bridge = plan.bridge || CLUSTER_BRIDGE;
    if (this.hostReady !== plan.subnet) {
      await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
      await writeFile('/proc/sys/net/ipv4/conf/all/rp_filter', '2');
      const match = ['-s', s.cidr, '-p', 'tcp', '!', '--syn', '-j', 'RETURN'];
      const present = await this.run('iptables', ['-t', 'nat', '-C', 'POSTROUTING', ...match]).then(
        () => true,
        () => false,
      );
      if (!present) await this.run('iptables', ['-t', 'nat', '-I', 'POSTROUTING', '1', ...match]);
      this.hostReady = plan.subnet;
    }
    // checked every time: the bridge comes and goes with Podman's network (a host rebooted, a network re-made)
    if (await this.proxyArp(bridge)) return;
    // not there yet: it appears with the first container on the network, which must reach the others at once
    this.watchBridge ??= setInterval(() => {
      void this.proxyArp(bridge).then((done) => {
        if (!done || !this.watchBridge) return;
        clearInterval(this.watchBridge);
        this.watchBridge = undefined;
      });
    }, 100);
    this.watchBridge.unref();
  }

  /** Proxy ARP and loose reverse-path filtering on the bridge; false while it does not exist. */
  private async proxyArp(bridge: string): Promise<boolean> {
    const conf = `/proc/sys/net/ipv4/conf/${bridge}`;
    try {
      if ((await readFile(`${conf}/proxy_arp`, 'utf8')).trim() === '1') return true;
      await writeFile(`${conf}/proxy_arp`, '1');
      await writeFile(`${conf}/rp_filter`, '2');
      // no real host on the bridge answers for another host's container: reply at once, not up to 0.8 s later
      await writeFile(`/proc/sys/net/ipv4/neigh/${bridge}/proxy_delay`, '0');
    } catch {
      return false;
    }
    this.log.info('cluster network bridge ready', { bridge });
    return true;
  }

  /** Makes this namespace's `proto 177` routes exactly `routes`, claimed addresses left out. */
  async reconcile(routes: readonly [string, string][]): Promise<{ added: number; removed: number }> {
    const now = this.now();
    const planned = new Set(routes.map(([ip]) => ip));
    // a claim ends when the plan agrees the address is here (it routes it nowhere), or after CLAIM_MS
    for (const [ip, until] of this.claimed) if (until <= now || !planned.has(ip)) this.claimed.delete(ip);
    for (const [ip, until] of this.held)
      if (until <= now) {
        this.log.warn('a move left its hold of an address behind: removed it', { ip });
        await this.unhold(ip);
      }
    const want = new Map(routes.filter(([ip]) => !this.claimed.has(ip)));
    const have = new Map<string, string>();
    const listed = JSON.parse(
      (await this.run('ip', ['-j', '-4', 'route', 'show', 'proto', String(ROUTE_PROTO)])) || '[]',
    ) as { dst: string; gateway?: string }[];
    const scope = this.scope?.();
    for (const r of listed) {
      const ip = r.dst.replace(/\/32$/, '');
      // another cluster's routes in the same namespace (two local clusters on one machine) are not ours
      if (scope && !contains(scope, ip)) continue;
      have.set(ip, r.gateway ?? '');
    }
    let added = 0;
    let removed = 0;
    const changed: string[] = [];
    for (const ip of have.keys())
      if (!want.has(ip)) {
        await this.run('ip', ['route', 'del', `${ip}/32`, 'proto', String(ROUTE_PROTO)]).catch(
          () => undefined,
        );
        removed++;
      }
    for (const [ip, via] of want)
      if (have.get(ip) !== via) {
        await this.run('ip', ['route', 'replace', `${ip}/32`, 'via', via, 'proto', String(ROUTE_PROTO)]);
        added++;
        changed.push(ip);
      }
    if (added + removed > 0)
      this.log.info('cluster network routes updated', { added, removed, routes: want.size });
    if (changed.length > 0) await this.routed?.(changed).catch(() => undefined);
    return { added, removed };
  }

  /** Removes every route this namespace holds for the cluster network (a manager stopping). */
  async clear(): Promise<void> {
    await this.reconcile([]).catch(() => undefined);
  }
}
