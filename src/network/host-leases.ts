import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../util/log.ts';
import { CLUSTER_NETWORK } from './cluster-network.ts';

const run = promisify(execFile);

/** Where CNI's host-local IPAM keeps its leases: one file per address, naming the container. */
export const CNI_LEASE_DIR = '/var/lib/cni/networks';

/**
 * Whether the container a lease names still holds the address on this host:
 * `live` (running or paused), `gone` (no such container, or it is not
 * running), or `unknown` (Podman did not say).
 */
export type LeaseHolder = 'live' | 'gone' | 'unknown';

/**
 * A cluster address's lease on this host, released when the container
 * holding it is gone. CNI's host-local IPAM keeps its leases on disk
 * (`/var/lib/cni/networks/lifeboat/<address>`). A host that lost power comes
 * back with the leases of the containers it ran, and removing such a stale
 * container releases nothing (its network was never torn down). A dynamic
 * address would only be wasted; a cluster address follows its container,
 * so when it comes back to this host (a restore, a move back) the restore
 * would fail with "requested IP address ... is not available", and the
 * failover would fall back to an older checkpoint. Before a container is
 * given its address here, a lease held by no live container goes, under
 * host-local's own lock.
 */
export class HostLeases {
  constructor(
    private readonly log: Logger,
    private readonly dir = join(CNI_LEASE_DIR, CLUSTER_NETWORK),
  ) {}

  /** Releases `ip`'s lease if the container it names is gone; true when one was released. */
  async releaseStale(ip: string, holder: (id: string) => Promise<LeaseHolder>): Promise<boolean> {
    const file = join(this.dir, ip);
    let id: string;
    try {
      id = (await readFile(file, 'utf8')).split(/\r?\n/)[0]?.trim() ?? '';
    } catch {
      return false; // no lease: nothing holds it here
    }
    const state = id ? await holder(id) : 'gone';
    if (state !== 'gone') return false;
    // under host-local's lock: an allocation in between sees the lease or none, never half of it
    await run('flock', [
      join(this.dir, 'lock'),
      'sh',
      '-c',
      'grep -qs "^$1" "$0" && rm -f "$0"; true',
      file,
      id,
    ]);
    this.log.warn('released a stale lease of a cluster address: the container holding it is gone', {
      address: ip,
      container: id.slice(0, 12) || '(none named)',
    });
    return true;
  }
}
