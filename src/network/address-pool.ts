import type { ClusterStore } from '../store/index.ts';
import { LifeboatError } from '../util/errors.ts';
import { assignable, nthAddress, type Subnet } from './subnet.ts';

/** `ipam/<network>/<address>` = the container holding it. */
export const IPAM = 'ipam/';

export function addressKey(network: string, ip: string): string {
  return `${IPAM}${network}/${ip}`;
}

/** Gives `ip` back to the pool if `container` still holds it. */
export async function releaseAddress(
  store: Pick<ClusterStore, 'txn'>,
  network: string,
  ip: string,
  container: string,
): Promise<void> {
  await store.txn({
    compare: [{ key: addressKey(network, ip), value: container }],
    success: [{ op: 'delete', key: addressKey(network, ip) }],
  });
}

/**
 * Addresses of the cluster network, unique across the cluster: each is a key
 * in the store, taken with a create-if-absent transaction, so two managers
 * placing at once never hand out the same one. A container keeps its address
 * through moves and restores; it goes back to the pool when the container
 * is removed.
 */
export class AddressPool {
  constructor(
    private readonly store: Pick<ClusterStore, 'getPrefix' | 'txn' | 'get'>,
    private readonly network: string,
    private subnet: Subnet,
  ) {}

  /** The recorded subnet wins over a manager's configuration (addresses were handed out from it). */
  setSubnet(s: Subnet): void {
    this.subnet = s;
  }

  private key(ip: string): string {
    return addressKey(this.network, ip);
  }

  /** Takes `wanted` (an address the client asked for) or the next free one for `container`. */
  async take(container: string, wanted?: string): Promise<string> {
    if (wanted !== undefined) {
      if (!assignable(this.subnet, wanted))
        throw new LifeboatError(
          'address_outside_network',
          `address ${wanted} is not in the ${this.network} network's subnet ${this.subnet.cidr} (or is its network, gateway or broadcast address)`,
          {
            status: 400,
            hint: `pick one from ${this.subnet.cidr} above ${this.subnet.gateway}, or leave it to lifeboat`,
          },
        );
      if (await this.tryTake(wanted, container)) return wanted;
      const holder = (await this.store.get(this.key(wanted)))?.value;
      throw new LifeboatError(
        'address_in_use',
        `address ${wanted} on ${this.network} is held by ${holder ?? 'another container'}`,
        {
          status: 409,
          hint: 'pick another address, or leave it to lifeboat',
        },
      );
    }
    for (let attempt = 0; attempt < 8; attempt++) {
      const used = new Set(
        (await this.store.getPrefix(`${IPAM}${this.network}/`)).map((e) => e.key.split('/').pop()!),
      );
      let ip: string | undefined;
      for (let i = 0; i < this.subnet.size; i++) {
        const candidate = nthAddress(this.subnet, i);
        if (!used.has(candidate)) {
          ip = candidate;
          break;
        }
      }
      if (ip === undefined)
        throw new LifeboatError(
          'addresses_exhausted',
          `the ${this.network} network has no free address in ${this.subnet.cidr}`,
          {
            status: 409,
            hint: 'remove containers you no longer need',
          },
        );
      if (await this.tryTake(ip, container)) return ip;
    }
    throw new LifeboatError(
      'address_contention',
      `could not take an address on ${this.network}: other placements kept taking them`,
      {
        status: 503,
        hint: 'try again',
      },
    );
  }

  private async tryTake(ip: string, container: string): Promise<boolean> {
    const r = await this.store.txn({
      compare: [{ key: this.key(ip), exists: false }],
      success: [{ op: 'put', key: this.key(ip), value: container }],
    });
    return r.succeeded;
  }

  /** Gives the address back if `container` still holds it. */
  async release(ip: string, container: string): Promise<void> {
    await releaseAddress(this.store, this.network, ip, container);
  }
}
