import { randomBytes } from 'node:crypto';
import type { ContainerCreateSpec } from '../engine/types.ts';
import { CLUSTER_BRIDGE, CLUSTER_NETWORK } from '../network/cluster-network.ts';
import { NoSuchNetworkError, NoSuchVolumeError } from '../api/docker/errors.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import type { ClusterState } from './cluster-state.ts';
import type { EventLog } from './events.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { ContainerRecord, NetworkRecord, NodeRecord, VolumeRecord } from './records.ts';

/**
 * User-defined networks and named volumes, with classic Swarm's node-local
 * semantics made explicit: each lives on one host, the containers that use
 * it are placed on that host, and it is created there when its first user
 * is placed. The records (networks/, volumes/) say where each one is; a
 * move or a restore that takes every user along takes the resource along.
 */

/**
 * What a container needs on the host it runs on. The cluster network is not
 * local: it spans every host, so it pins nothing and groups nothing; it only
 * has to exist on the host (`cluster`).
 */
export interface LocalNeeds {
  networks: string[];
  volumes: string[];
  cluster?: boolean;
}

export function needsOf(spec: Pick<ContainerCreateSpec, 'networks' | 'volumes'>): LocalNeeds {
  const nets = Object.keys(spec.networks ?? {});
  return {
    networks: nets.filter((n) => n !== CLUSTER_NETWORK),
    volumes: [...new Set((spec.volumes ?? []).map((v) => v.name))],
    ...(nets.includes(CLUSTER_NETWORK) ? { cluster: true } : {}),
  };
}

export function hasNeeds(n: LocalNeeds): boolean {
  return n.networks.length > 0 || n.volumes.length > 0 || n.cluster === true;
}

/** Where a container with these needs must go, and why (for the scheduler's explanation). */
export interface Pin {
  node?: string;
  why: string[];
}

export interface LocalResourcesDeps {
  state: ClusterState;
  nodes: NodeDirectory;
  events: EventLog;
}

export class LocalResources {
  constructor(private readonly d: LocalResourcesDeps) {}

  /**
   * The host these needs pin a container to (undefined: any). A network must
   * exist; a volume that does not is made at the claim. Resources on
   * `movable` hosts (a failed host, a move's source) do not pin: whoever
   * places first takes them along.
   */
  async pin(needs: LocalNeeds, movable: ReadonlySet<string> = new Set()): Promise<Pin> {
    const at = new Map<string, string[]>();
    const note = (node: string, what: string): void => {
      at.set(node, [...(at.get(node) ?? []), what]);
    };
    for (const name of needs.networks) {
      const rec = await this.d.state.network(name);
      // 400, not 404: the docker CLI takes a 404 from a create for a missing image and pulls
      if (!rec)
        throw new LifeboatError('no_such_network', `network ${name} not found`, {
          status: 400,
          hint: `create it first: docker network create ${name}`,
        });
      // a network nobody uses holds nothing: it goes wherever its next member does
      if (rec.node && !movable.has(rec.node) && (await this.members(name)).length > 0)
        note(rec.node, `network ${name}`);
    }
    for (const name of needs.volumes) {
      const rec = await this.d.state.volume(name);
      if (rec?.node && !movable.has(rec.node)) note(rec.node, `volume ${name}`);
    }
    if (at.size > 1)
      throw new LifeboatError(
        'resources_apart',
        `the container needs resources that live on different hosts: ${[...at].map(([n, w]) => `${w.join(', ')} on ${n}`).join('; ')}`,
        {
          status: 409,
          hint: 'networks and volumes are local to a host (as in classic Swarm); use ones that live together, or move their containers to one host first',
        },
      );
    const [entry] = [...at];
    return entry ? { node: entry[0], why: entry[1] } : { why: [] };
  }

  /** The candidate hosts a pin leaves, with an error that says why none is left. */
  filter(candidates: NodeRecord[], pin: Pin): NodeRecord[] {
    if (!pin.node) return candidates;
    const left = candidates.filter((n) => n.report.name === pin.node);
    if (left.length === 0)
      throw new LifeboatError(
        'pinned_host_unavailable',
        `${pin.why.join(' and ')} live${pin.why.length === 1 ? 's' : ''} on ${pin.node}, which cannot take the container now (not healthy, drained or excluded)`,
        {
          status: 409,
          hint: `a container that uses a host's network or volume runs on that host; bring ${pin.node} back (lifeboat node ls) or move the network's containers together (lifeboat migrate --with-network)`,
        },
      );
    return left;
  }

  /**
   * Records that the resources live on `node` (compare-and-swap): unplaced
   * ones and those on a `from` host move there; a volume used for the first
   * time gets its record. Fails when another placement took one elsewhere.
   */
  async claim(
    needs: LocalNeeds,
    node: string,
    opts: { from?: ReadonlySet<string>; volumeLabels?: Record<string, Record<string, string>> } = {},
  ): Promise<void> {
    const take =
      <T extends { node?: string }>(kind: string, name: string) =>
      (r: T): T | undefined => {
        if (r.node === node) return undefined;
        if (r.node && !opts.from?.has(r.node))
          throw new LifeboatError('resources_apart', `${kind} ${name} was placed on ${r.node} meanwhile`, {
            status: 409,
            hint: 'try again: the container goes where its network and volumes are',
          });
        return { ...r, node };
      };
    for (const name of needs.networks) {
      // an empty network moves with its next member (its old host's copy is left, empty and harmless)
      const empty = (await this.members(name)).every((c) => c.node === node);
      const r = await this.d.state.updateNetwork(name, (rec) =>
        empty && rec.node !== node ? { ...rec, node } : take<NetworkRecord>('network', name)(rec),
      );
      if (!r) throw new NoSuchNetworkError(name);
    }
    for (const name of needs.volumes) {
      const made = await this.d.state.createVolume({
        name,
        created: new Date().toISOString(),
        labels: opts.volumeLabels?.[name] ?? {},
        node,
        implicit: true,
      });
      if (!made) await this.d.state.updateVolume(name, take<VolumeRecord>('volume', name));
    }
  }

  /**
   * Makes the networks exist on the host (with the subnet the record keeps,
   * so a moved container keeps its address) and, unless a move's archive
   * brings them (`volumes: false`), the volumes.
   */
  async ensureOn(node: string, needs: LocalNeeds, opts: { volumes?: boolean } = {}): Promise<void> {
    const podman = this.d.nodes.client(node).podman;
    if (needs.cluster && !(await podman.inspectNetwork(CLUSTER_NETWORK))) {
      const rec = await this.d.state.network(CLUSTER_NETWORK);
      if (!rec?.cluster) throw new NoSuchNetworkError(CLUSTER_NETWORK);
      // the same subnet and gateway on every host, on the bridge the agent keeps (proxy ARP, routes)
      await podman.createNetwork({
        name: CLUSTER_NETWORK,
        interfaceName: CLUSTER_BRIDGE,
        labels: { 'io.lifeboat.network': 'cluster' },
        subnets: rec.subnets,
      });
      this.d.events.emit('network.create', `created the cluster network on ${node}`, {
        node,
        fields: { network: CLUSTER_NETWORK },
      });
    }
    for (const name of needs.networks) {
      const rec = await this.d.state.network(name);
      if (!rec) throw new NoSuchNetworkError(name);
      if (await podman.inspectNetwork(name)) continue;
      const made = await podman.createNetwork({
        name,
        internal: rec.internal,
        labels: rec.labels,
        options: rec.options,
        ...(rec.subnets.length ? { subnets: rec.subnets } : {}),
      });
      if (rec.subnets.length === 0 && made.subnets?.length)
        await this.d.state.updateNetwork(name, (r) => ({
          ...r,
          subnets: (made.subnets ?? []).map((s) => ({
            subnet: s.subnet,
            ...(s.gateway ? { gateway: s.gateway } : {}),
          })),
        }));
      this.d.events.emit('network.create', `created network ${name} on ${node}`, {
        node,
        fields: { network: name },
      });
    }
    if (opts.volumes === false) return;
    for (const name of needs.volumes) {
      if (await podman.inspectVolume(name)) continue;
      const rec = await this.d.state.volume(name);
      await podman.createVolume(name, rec?.labels ?? {});
    }
  }

  /**
   * Before a move's import on `to`: a volume the archive carries must not
   * exist there (Podman's import refuses to overwrite one); a copy left from
   * an earlier stay is stale, since the record says the volume lives on the source.
   */
  async clearStaleVolumes(to: string, needs: LocalNeeds): Promise<void> {
    const podman = this.d.nodes.client(to).podman;
    for (const name of needs.volumes) {
      if (!(await podman.inspectVolume(name))) continue;
      await podman.removeVolume(name, false).catch((err: unknown) => {
        throw new LifeboatError(
          'volume_in_the_way',
          `host ${to} has its own volume ${name}, which cannot be removed to make room for the moving one: ${errorMessage(err)}`,
          { status: 409, hint: `remove it on ${to} (it is not the cluster's copy) or move to another host` },
        );
      });
    }
  }

  /**
   * The other containers (not in `moving`) that use these resources: a move
   * that leaves them behind would cut them off (networks) or split the data
   * (volumes).
   */
  async sharers(
    needs: LocalNeeds,
    moving: ReadonlySet<string>,
  ): Promise<{ resource: string; containers: string[] }[]> {
    const out: { resource: string; containers: string[] }[] = [];
    const all = await this.d.state.containers();
    for (const name of needs.networks) {
      const others = all.filter((c) => !moving.has(c.name) && needsOf(c.spec).networks.includes(name));
      if (others.length) out.push({ resource: `network ${name}`, containers: others.map((c) => c.name) });
    }
    for (const name of needs.volumes) {
      const others = all.filter((c) => !moving.has(c.name) && needsOf(c.spec).volumes.includes(name));
      if (others.length) out.push({ resource: `volume ${name}`, containers: others.map((c) => c.name) });
    }
    return out;
  }

  /**
   * After a container moved from `from` to `to`: each of its networks and
   * volumes whose users all live on `to` now follows in the records, and the
   * source's copy goes (a volume's data travelled in the archive; the network
   * has no member left there). Those still used on `from` (a group move in
   * progress) wait for their last user.
   */
  async followed(needs: LocalNeeds, from: string, to: string): Promise<void> {
    const all = await this.d.state.containers();
    const allOn = (pick: (c: ContainerRecord) => boolean): boolean =>
      all.filter(pick).every((c) => c.node === to);
    const ready: LocalNeeds = {
      networks: needs.networks.filter((n) => allOn((c) => needsOf(c.spec).networks.includes(n))),
      volumes: needs.volumes.filter((v) => allOn((c) => needsOf(c.spec).volumes.includes(v))),
    };
    if (!hasNeeds(ready)) return;
    await this.claim(ready, to, { from: new Set([from]) });
    const podman = this.d.nodes.client(from).podman;
    for (const name of ready.volumes)
      await podman.removeVolume(name, true).catch((err: unknown) =>
        this.d.events.emit(
          'volume.left',
          `could not remove the old copy of volume ${name} on ${from}: ${errorMessage(err)}`,
          {
            node: from,
            level: 'warn',
          },
        ),
      );
    for (const name of ready.networks) await podman.removeNetwork(name, false).catch(() => undefined);
  }

  /** The containers that share a network or a volume with `rec`, transitively, `rec` included. */
  async group(rec: ContainerRecord): Promise<ContainerRecord[]> {
    const all = await this.d.state.containers();
    const inGroup = new Map<string, ContainerRecord>([[rec.name, rec]]);
    const nets = new Set<string>();
    const vols = new Set<string>();
    for (let grew = true; grew;) {
      grew = false;
      for (const c of inGroup.values()) {
        const n = needsOf(c.spec);
        n.networks.forEach((x) => nets.add(x));
        n.volumes.forEach((x) => vols.add(x));
      }
      for (const c of all) {
        if (inGroup.has(c.name)) continue;
        const n = needsOf(c.spec);
        if (n.networks.some((x) => nets.has(x)) || n.volumes.some((x) => vols.has(x))) {
          inGroup.set(c.name, c);
          grew = true;
        }
      }
    }
    return [...inGroup.values()];
  }

  /** Volumes that two or more of these containers mount. */
  async volumesSharedWithin(members: ContainerRecord[]): Promise<string[]> {
    const count = new Map<string, number>();
    for (const m of members) for (const v of needsOf(m.spec).volumes) count.set(v, (count.get(v) ?? 0) + 1);
    return [...count].filter(([, n]) => n > 1).map(([v]) => v);
  }

  /** Every container record that uses the network (a group move takes them all). */
  async members(network: string): Promise<ContainerRecord[]> {
    return (await this.d.state.containers()).filter((c) => needsOf(c.spec).networks.includes(network));
  }

  // ------------------------------------------------------------ Docker API

  async createNetwork(input: Omit<NetworkRecord, 'id' | 'created' | 'node'>): Promise<NetworkRecord> {
    if (input.name === 'bridge' || input.name === 'host' || input.name === 'none' || input.name === 'podman')
      throw new LifeboatError(
        'network_exists',
        `${input.name} is a pre-defined network and cannot be created`,
        {
          status: 403,
        },
      );
    const rec: NetworkRecord = {
      ...input,
      id: randomBytes(32).toString('hex'),
      created: new Date().toISOString(),
    };
    if (!(await this.d.state.createNetwork(rec)))
      throw new LifeboatError('network_exists', `network with name ${input.name} already exists`, {
        status: 409,
      });
    this.d.events.emit(
      'network.create',
      `network ${rec.name} declared; it is made on the host of its first member`,
      {
        fields: { network: rec.name },
      },
    );
    return rec;
  }

  async findNetwork(ref: string): Promise<NetworkRecord | undefined> {
    const all = await this.d.state.networks();
    return (
      all.find((n) => n.name === ref || n.id === ref) ??
      (ref.length >= 3 ? all.filter((n) => n.id.startsWith(ref)) : []).find((_, __, a) => a.length === 1)
    );
  }

  async removeNetwork(ref: string): Promise<void> {
    const rec = await this.findNetwork(ref);
    if (!rec) throw new NoSuchNetworkError(ref);
    if (rec.cluster)
      throw new LifeboatError(
        'network_predefined',
        `${rec.name} is a pre-defined network and cannot be removed`,
        {
          status: 403,
          hint: 'it is the cluster network, on every host (docs/cluster-network.md)',
        },
      );
    const members = await this.members(rec.name);
    if (members.length)
      throw new LifeboatError(
        'network_in_use',
        `error while removing network: network ${rec.name} id ${rec.id} has active endpoints (${members.map((m) => m.name).join(', ')})`,
        { status: 403, hint: 'remove its containers first (docker compose down does)' },
      );
    if (rec.node)
      await this.removeOnHost(rec.node, () =>
        this.d.nodes.client(rec.node!).podman.removeNetwork(rec.name, true),
      );
    await this.d.state.deleteNetwork(rec.name);
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<VolumeRecord> {
    const rec: VolumeRecord = { name, created: new Date().toISOString(), labels };
    if (await this.d.state.createVolume(rec)) return rec;
    // Docker answers an existing volume's create with that volume
    const have = await this.d.state.volume(name);
    if (!have) throw new NoSuchVolumeError(name);
    return have;
  }

  async removeVolume(name: string, force: boolean): Promise<void> {
    const rec = await this.d.state.volume(name);
    if (!rec) throw new NoSuchVolumeError(name);
    const users = (await this.d.state.containers()).filter((c) => needsOf(c.spec).volumes.includes(name));
    if (users.length)
      throw new LifeboatError(
        'volume_in_use',
        `remove ${name}: volume is in use - [${users.map((u) => u.id ?? u.name).join(', ')}]`,
        { status: 409, hint: `remove its containers first: ${users.map((u) => u.name).join(', ')}` },
      );
    if (rec.node) {
      const node = rec.node;
      await this.removeOnHost(node, () => this.d.nodes.client(node).podman.removeVolume(name, false), force);
    }
    await this.d.state.deleteVolume(name);
  }

  /** Removes a host's copy; a host that is down fails the removal unless forced (its data would stay there). */
  private async removeOnHost(node: string, remove: () => Promise<void>, force = false): Promise<void> {
    const healthy = (await this.d.nodes.healthy()).some((n) => n.report.name === node);
    if (!healthy) {
      if (force) return;
      throw new LifeboatError(
        'host_down',
        `it lives on ${node}, which is not healthy: its copy there cannot be removed`,
        {
          status: 503,
          hint: 'bring the host back, or remove with force (docker volume rm -f) to forget it',
        },
      );
    }
    await remove().catch((err: unknown) => {
      if (/no such|not found/i.test(errorMessage(err))) return;
      throw err;
    });
  }
}
