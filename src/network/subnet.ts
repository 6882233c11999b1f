import { isIP } from 'node:net';
import { ValidationError } from '../util/errors.ts';

/** An IPv4 subnet, as numbers: what the cluster network's addresses are allocated from. */
export interface Subnet {
  cidr: string;
  base: number;
  prefix: number;
  /** The first usable address: the gateway every host's bridge carries. */
  gateway: string;
  /** Number of addresses a container can get (network, gateway and broadcast excluded). */
  size: number;
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseSubnet(cidr: string, what = 'subnet'): Subnet {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m || isIP(m[1]!) !== 4)
    throw new ValidationError(`${what} ${cidr} is not an IPv4 CIDR`, 'e.g. 10.210.0.0/16');
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 28)
    throw new ValidationError(`${what} ${cidr}: the prefix must be from /8 to /28`, 'e.g. 10.210.0.0/16');
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const base = (ipToInt(m[1]!) & mask) >>> 0;
  if (base !== ipToInt(m[1]!))
    throw new ValidationError(
      `${what} ${cidr} has host bits set`,
      `did you mean ${intToIp(base)}/${prefix}?`,
    );
  return {
    cidr: `${intToIp(base)}/${prefix}`,
    base,
    prefix,
    gateway: intToIp(base + 1),
    size: 2 ** (32 - prefix) - 3,
  };
}

export function contains(s: Subnet, ip: string): boolean {
  if (isIP(ip) !== 4) return false;
  const n = ipToInt(ip);
  return n >= s.base && n < s.base + 2 ** (32 - s.prefix);
}

/** Whether `ip` is one a container may hold: in the subnet, not its network, gateway or broadcast address. */
export function assignable(s: Subnet, ip: string): boolean {
  if (!contains(s, ip)) return false;
  const off = ipToInt(ip) - s.base;
  return off >= 2 && off <= s.size + 1;
}

/** The `i`-th assignable address (0-based), for allocation. */
export function nthAddress(s: Subnet, i: number): string {
  return intToIp(s.base + 2 + (i % s.size));
}
