import type { ClusterStore } from '../store/index.ts';
import { PrefixMirror } from '../store/prefix-mirror.ts';
import { CLUSTER_NETWORK, clusterAddressOf } from '../network/cluster-network.ts';
import { releaseAddress } from '../network/address-pool.ts';
import { LifeboatError } from '../util/errors.ts';
import {
  AVAILABILITY,
  CONTAINERS,
  NETWORKS,
  NODES,
  TICKERS,
  VOLUMES,
  type AvailabilityRecord,
  type ContainerRecord,
  type NetworkRecord,
  type NodeRecord,
  type TickerRecord,
  type VolumeRecord,
} from './records.ts';

export class ContainerNotInClusterError extends LifeboatError {
  constructor(ref: string) {
    super('no_such_container', `No such container: ${ref}`, {
      status: 404,
      hint: '`docker ps -a` lists the containers of the cluster',
    });
  }
}

export class StaleRecordError extends LifeboatError {
  constructor(name: string) {
    super('concurrent_update', `container ${name} was changed by another operation; try again`, {
      status: 409,
    });
  }
}

/** Typed access to the records in the cluster store; moves are compare-and-swap on the record. */
export class ClusterState {
  /** Mirrors of the host records made here: each sees the writes made here at once. */
  private readonly nodeMirrors = new Set<PrefixMirror<NodeRecord>>();

  constructor(readonly store: ClusterStore) {}

  async nodes(): Promise<NodeRecord[]> {
    return (await this.store.getPrefix(NODES)).map((e) => JSON.parse(e.value) as NodeRecord);
  }

  async node(name: string): Promise<NodeRecord | undefined> {
    return (await this.nodeEntry(name))?.record;
  }

  /** A host's record with the revision it was written at (later writes have higher ones). */
  async nodeEntry(name: string): Promise<{ record: NodeRecord; revision: number } | undefined> {
    const e = await this.store.get(NODES + name);
    return e ? { record: JSON.parse(e.value) as NodeRecord, revision: e.revision } : undefined;
  }

  async putNode(rec: NodeRecord): Promise<void> {
    // availability lives in its own key (an operator's mark must not race the heartbeats)
    const { availability: _merged, ...stored } = rec;
    const revision = await this.store.put(NODES + rec.report.name, JSON.stringify(stored));
    // the next read of a mirror of this process sees the write without waiting for its watch
    for (const m of this.nodeMirrors) m.wrote(rec.report.name, stored, revision);
  }

  /** Every host record, kept in memory by a watch (store/prefix-mirror.ts); close it when done. */
  /** Forgets a host (`lifeboat node rm`): its record and its availability mark. */
  async deleteNode(name: string): Promise<void> {
    await this.store.delete(NODES + name);
    await this.store.delete(AVAILABILITY + name);
  }

  mirrorNodes(): PrefixMirror<NodeRecord> {
    const m: PrefixMirror<NodeRecord> = new PrefixMirror(
      this.store,
      NODES,
      (_key, value) => JSON.parse(value) as NodeRecord,
      () => this.nodeMirrors.delete(m),
    );
    this.nodeMirrors.add(m);
    return m;
  }

  /** Drained hosts by name (a host without a record is active). */
  async availabilities(): Promise<Map<string, AvailabilityRecord>> {
    return new Map(
      (await this.store.getPrefix(AVAILABILITY)).map((e) => [
        e.key.slice(AVAILABILITY.length),
        JSON.parse(e.value) as AvailabilityRecord,
      ]),
    );
  }

  async availability(node: string): Promise<AvailabilityRecord | undefined> {
    const e = await this.store.get(AVAILABILITY + node);
    return e ? (JSON.parse(e.value) as AvailabilityRecord) : undefined;
  }

  async putAvailability(node: string, rec: AvailabilityRecord): Promise<void> {
    await this.store.put(AVAILABILITY + node, JSON.stringify(rec));
  }

  /** The host is active again. */
  async deleteAvailability(node: string): Promise<void> {
    await this.store.delete(AVAILABILITY + node);
  }

  async containers(): Promise<ContainerRecord[]> {
    return (await this.store.getPrefix(CONTAINERS)).map((e) => JSON.parse(e.value) as ContainerRecord);
  }

  /**
   * Every container record, kept in memory by a watch (store/prefix-mirror.ts):
   * milliseconds behind the store, for hot paths that confirm what they act
   * on; close it when done.
   */
  mirrorContainers(): PrefixMirror<ContainerRecord> {
    return new PrefixMirror(this.store, CONTAINERS, (_key, value) => JSON.parse(value) as ContainerRecord);
  }

  async container(name: string): Promise<{ record: ContainerRecord; revision: number } | undefined> {
    const e = await this.store.get(CONTAINERS + name);
    return e ? { record: JSON.parse(e.value) as ContainerRecord, revision: e.revision } : undefined;
  }

  /** Creates a record; false when the name is taken (container names are cluster-unique). */
  async createContainer(rec: ContainerRecord): Promise<boolean> {
    return this.createOnce(CONTAINERS + rec.name, rec);
  }

  /**
   * Read-modify-write of a container record with compare-and-swap: a
   * concurrent change (another manager, a retried etcd call) makes this fail
   * rather than overwrite.
   */
  async updateContainer(
    name: string,
    change: (rec: ContainerRecord) => ContainerRecord,
  ): Promise<ContainerRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.container(name);
      if (!cur) throw new ContainerNotInClusterError(name);
      const next = { ...change(cur.record), updatedAt: new Date().toISOString() };
      const key = CONTAINERS + name;
      const r = await this.store.txn({
        compare: [{ key, modRevision: cur.revision }],
        success: [{ op: 'put', key, value: JSON.stringify(next) }],
      });
      if (r.succeeded) return next;
      const again = await this.container(name);
      if (again && JSON.stringify(again.record) === JSON.stringify(next)) return next;
    }
    throw new StaleRecordError(name);
  }

  async deleteContainer(name: string): Promise<void> {
    const rec = (await this.container(name))?.record;
    await this.store.delete(CONTAINERS + name);
    await this.store.delete(TICKERS + name);
    // its cluster address goes back to the pool (if it still holds it)
    const ip = rec ? clusterAddressOf(rec.spec) : undefined;
    if (ip) await releaseAddress(this.store, CLUSTER_NETWORK, ip, name);
  }

  async ticker(name: string): Promise<TickerRecord | undefined> {
    const e = await this.store.get(TICKERS + name);
    return e ? (JSON.parse(e.value) as TickerRecord) : undefined;
  }

  async putTicker(name: string, rec: TickerRecord): Promise<void> {
    await this.store.put(TICKERS + name, JSON.stringify(rec));
  }

  async networks(): Promise<NetworkRecord[]> {
    return (await this.store.getPrefix(NETWORKS)).map((e) => JSON.parse(e.value) as NetworkRecord);
  }

  async network(name: string): Promise<NetworkRecord | undefined> {
    return (await this.entry<NetworkRecord>(NETWORKS + name))?.value;
  }

  /** False when the name is taken. */
  async createNetwork(rec: NetworkRecord): Promise<boolean> {
    return this.createOnce(NETWORKS + rec.name, rec);
  }

  /** Compare-and-swap; `change` returning undefined leaves it as it is. Undefined when there is no record. */
  async updateNetwork(
    name: string,
    change: (rec: NetworkRecord) => NetworkRecord | undefined,
  ): Promise<NetworkRecord | undefined> {
    return this.swap(NETWORKS + name, change);
  }

  async deleteNetwork(name: string): Promise<void> {
    await this.store.delete(NETWORKS + name);
  }

  async volumes(): Promise<VolumeRecord[]> {
    return (await this.store.getPrefix(VOLUMES)).map((e) => JSON.parse(e.value) as VolumeRecord);
  }

  async volume(name: string): Promise<VolumeRecord | undefined> {
    return (await this.entry<VolumeRecord>(VOLUMES + name))?.value;
  }

  async createVolume(rec: VolumeRecord): Promise<boolean> {
    return this.createOnce(VOLUMES + rec.name, rec);
  }

  async updateVolume(
    name: string,
    change: (rec: VolumeRecord) => VolumeRecord | undefined,
  ): Promise<VolumeRecord | undefined> {
    return this.swap(VOLUMES + name, change);
  }

  async deleteVolume(name: string): Promise<void> {
    await this.store.delete(VOLUMES + name);
  }

  private async entry<T>(key: string): Promise<{ value: T; revision: number } | undefined> {
    const e = await this.store.get(key);
    return e ? { value: JSON.parse(e.value) as T, revision: e.revision } : undefined;
  }

  private async createOnce(key: string, value: unknown): Promise<boolean> {
    const r = await this.store.txn({
      compare: [{ key, exists: false }],
      success: [{ op: 'put', key, value: JSON.stringify(value) }],
    });
    return r.succeeded;
  }

  private async swap<T>(key: string, change: (rec: T) => T | undefined): Promise<T | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.entry<T>(key);
      if (!cur) return undefined;
      const next = change(cur.value);
      if (next === undefined) return cur.value;
      const r = await this.store.txn({
        compare: [{ key, modRevision: cur.revision }],
        success: [{ op: 'put', key, value: JSON.stringify(next) }],
      });
      if (r.succeeded) return next;
    }
    throw new LifeboatError('concurrent_update', `${key} was changed by another operation; try again`, {
      status: 409,
    });
  }
}
