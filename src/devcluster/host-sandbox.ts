import { mkdirSync } from 'node:fs';
import { createMountNamespace, mountNsPath, removeMountNamespace } from './mount-namespace.ts';
import {
  createHostNetns,
  removeHostNetns,
  setLink,
  shapeLink,
  DEFAULT_BRIDGE,
  type BridgeConfig,
} from './network.ts';

/**
 * One simulated host on this machine: its own network namespace (an address
 * on the cluster bridge) and its own private mount namespace. Processes of
 * the host (Podman's service, the agent) run inside both via nsenter.
 * Not `ip netns exec`: it remounts /sys and runc then finds no cgroups.
 */
export interface HostSandboxOptions {
  name: string;
  /** Directory holding everything the host owns (storage, run dirs, logs). */
  dir: string;
  /** Address with prefix on the bridge, e.g. 10.99.0.11/24 */
  addressCidr: string;
  bridge?: BridgeConfig;
}

export class HostSandbox {
  readonly name: string;
  readonly dir: string;
  readonly addressCidr: string;
  readonly bridge: BridgeConfig;

  constructor(opts: HostSandboxOptions) {
    if (!/^[a-z][a-z0-9-]{0,10}$/.test(opts.name)) {
      throw new Error(
        `host name "${opts.name}": use 1-11 lowercase letters, digits or dashes, starting with a letter`,
      );
    }
    this.name = opts.name;
    this.dir = opts.dir;
    this.addressCidr = opts.addressCidr;
    this.bridge = opts.bridge ?? DEFAULT_BRIDGE;
  }

  get address(): string {
    return this.addressCidr.split('/')[0] ?? '';
  }

  get netns(): string {
    return `lb-${this.name}`;
  }

  get netnsPath(): string {
    return `/run/netns/${this.netns}`;
  }

  get mountNsPath(): string {
    return mountNsPath(this.name);
  }

  /** Arguments that put a command inside this host: `nsenter ...nsenterArgs() cmd args`. */
  nsenterArgs(): string[] {
    return [`--mount=${this.mountNsPath}`, `--net=${this.netnsPath}`, '--'];
  }

  async create(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    await createHostNetns(this.netns, this.addressCidr, this.bridge);
    await createMountNamespace(this.name, `${this.dir}/private`);
  }

  async setLink(up: boolean): Promise<void> {
    await setLink(this.netns, up);
  }

  /** Limits the host's link to `rate` each way (tc tbf), or lifts the limit. */
  async shapeLink(rate: string | undefined): Promise<void> {
    await shapeLink(this.netns, rate);
  }

  async destroy(): Promise<void> {
    await removeMountNamespace(this.name);
    await removeHostNetns(this.netns);
  }
}
