import { existsSync } from 'node:fs';
import { sh } from './sh.ts';

/**
 * The local cluster's network: one Linux bridge in the root namespace and,
 * per simulated host, a network namespace joined to it by a veth pair.
 */
export interface BridgeConfig {
  name: string;
  /** gateway address with prefix, e.g. 10.99.0.1/24 */
  gatewayCidr: string;
}

export const DEFAULT_BRIDGE: BridgeConfig = { name: 'lifeboat0', gatewayCidr: '10.99.0.1/24' };

export async function ensureBridge(b: BridgeConfig = DEFAULT_BRIDGE): Promise<void> {
  if (!existsSync(`/sys/class/net/${b.name}`)) {
    await sh('ip', ['link', 'add', b.name, 'type', 'bridge']);
  }
  const addrs = await sh('ip', ['-o', 'addr', 'show', 'dev', b.name]);
  if (!addrs.includes(` ${b.gatewayCidr} `))
    await sh('ip', ['addr', 'add', b.gatewayCidr, 'dev', b.name], { allowFail: true });
  await sh('ip', ['link', 'set', b.name, 'up']);
}

export async function removeBridge(b: BridgeConfig = DEFAULT_BRIDGE): Promise<void> {
  if (existsSync(`/sys/class/net/${b.name}`)) await sh('ip', ['link', 'del', b.name], { allowFail: true });
}

/** Host-side veth name for a netns (IFNAMSIZ is 16: keep it short). */
export function vethName(netns: string): string {
  return `lbv${netns.replace(/^lb-/, '')}`.slice(0, 15);
}

export async function createHostNetns(
  netns: string,
  addressCidr: string,
  b: BridgeConfig = DEFAULT_BRIDGE,
): Promise<void> {
  await ensureBridge(b);
  if (!existsSync(`/run/netns/${netns}`)) await sh('ip', ['netns', 'add', netns]);
  const veth = vethName(netns);
  if (!existsSync(`/sys/class/net/${veth}`)) {
    await sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  }
  await sh('ip', ['link', 'set', veth, 'master', b.name, 'up']);
  await sh('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  const addrs = await sh('ip', ['-n', netns, '-o', 'addr', 'show', 'dev', 'eth0']);
  if (!addrs.includes(` ${addressCidr} `))
    await sh('ip', ['-n', netns, 'addr', 'add', addressCidr, 'dev', 'eth0']);
  await sh('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  const gw = b.gatewayCidr.split('/')[0] ?? '';
  await sh('ip', ['-n', netns, 'route', 'replace', 'default', 'via', gw]);
  // Containers behind the host's CNI bridge need forwarding inside the host's namespace.
  await sh('ip', ['netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], { allowFail: true });
  // A re-created host keeps its address: stale neighbour entries would shadow it.
  await sh('ip', ['neigh', 'flush', 'dev', b.name], { allowFail: true });
}

export async function setLink(netns: string, up: boolean): Promise<void> {
  await sh('ip', ['link', 'set', vethName(netns), up ? 'up' : 'down']);
}

/**
 * Gives a host's link the speed of a real one (`1gbit`, `100mbit`, tc's
 * syntax) with a token bucket on both ends of its veth, so each direction is
 * limited as between two machines; `undefined` takes the limit off. (netem,
 * for delay and loss, is not in these kernels.)
 */
export async function shapeLink(netns: string, rate: string | undefined): Promise<void> {
  const ends: [string[], string][] = [
    [[], vethName(netns)],
    [['ip', 'netns', 'exec', netns], 'eth0'],
  ];
  for (const [prefix, dev] of ends) {
    const tc = (args: string[], opts: { allowFail?: boolean } = {}): Promise<unknown> =>
      prefix.length === 0 ? sh('tc', args, opts) : sh(prefix[0]!, [...prefix.slice(1), 'tc', ...args], opts);
    await tc(['qdisc', 'del', 'dev', dev, 'root'], { allowFail: true });
    if (rate !== undefined)
      await tc([
        'qdisc',
        'add',
        'dev',
        dev,
        'root',
        'tbf',
        'rate',
        rate,
        'burst',
        '256kb',
        'latency',
        '10ms',
      ]);
  }
}

export async function removeHostNetns(netns: string): Promise<void> {
  const veth = vethName(netns);
  if (existsSync(`/sys/class/net/${veth}`)) await sh('ip', ['link', 'del', veth], { allowFail: true });
  if (existsSync(`/run/netns/${netns}`)) await sh('ip', ['netns', 'del', netns], { allowFail: true });
}

/** A cluster subnet like 10.99.0.0/24: the bridge takes .1, host i takes .(10+i). */
export interface ClusterSubnet {
  gatewayCidr: string;
  hostCidr(index: number): string;
  /** Highest host index that still fits. */
  maxHosts: number;
}

function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts.reduce((a, p) => a * 256 + p, 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseSubnet(cidr: string): ClusterSubnet | undefined {
  const [ip, len] = cidr.split('/');
  const prefix = Number(len);
  const base = ipToInt(ip ?? '');
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 28) return undefined;
  const size = 2 ** (32 - prefix);
  const net = base - (base % size);
  return {
    gatewayCidr: `${intToIp(net + 1)}/${prefix}`,
    hostCidr: (i) => `${intToIp(net + 10 + i)}/${prefix}`,
    maxHosts: size - 12,
  };
}
