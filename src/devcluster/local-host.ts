import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PodmanClient } from '../engine/podman-client.ts';
import { PodmanService } from '../engine/podman-service.ts';
import type { ContainerListEntry } from '../engine/types.ts';
import { errorMessage, LifeboatError } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';
import { enterCgroupArgs, ensureFreezerCgroup, freeze, pidsIn, removeCgroup, setFrozen } from './cgroups.ts';
import { HostSandbox } from './host-sandbox.ts';
import { removeMountNamespace } from './mount-namespace.ts';
import { removeHostNetns, vethName, type BridgeConfig } from './network.ts';
import {
  isAlive,
  pidsInMountNamespace,
  processTable,
  signal,
  terminate,
  waitGone,
  withDescendants,
} from './processes.ts';
import { removeTree } from './remove-tree.ts';
import { spawnDetached } from './spawn-detached.ts';

const log = createLogger('devcluster');

/** A process of a host besides Podman (the agent, a test helper), as `spawnInHost` starts it. */
export interface HostProcessSpec {
  /** Unique per host; names the log file (`<dir>/logs/<role>.log`). */
  role: string;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  logFile?: string;
  /** A one-shot command the caller waits for (`lifeboat join`), not a service. */
  awaited?: boolean;
}

export interface HostProcessRecord {
  role: string;
  pid: number;
  cmd: string;
  args: string[];
  logFile: string;
  startedAt: string;
}

export interface HostProcess {
  role: string;
  pid: number;
  logFile: string;
  /** Settles when the process exits while the starting process still runs. */
  exited: Promise<number | null>;
}

/** off: never booted, cleanly stopped or destroyed; killed: power lost, disk state as it was. */
export type HostPower = 'off' | 'running' | 'killed';

/** What the cluster state file keeps of a host, enough to kill, reboot or remove it from another process. */
export interface LocalHostRecord {
  name: string;
  index: number;
  addressCidr: string;
  dir: string;
  bridge: BridgeConfig;
  cgroupParent: string;
  netns: string;
  veth: string;
  mountNs: string;
  podmanSocket: string;
  power: HostPower;
  partitioned: boolean;
  bootedAt: string | null;
  processes: HostProcessRecord[];
  /** Started again at every boot, after Podman answers (e.g. the agent). */
  bootServices: HostProcessSpec[];
}

export interface LocalHostOptions {
  name: string;
  index: number;
  /** Everything the host owns on disk: Podman storage, logs, its private /run. */
  dir: string;
  /** Address with prefix on the cluster bridge, e.g. 10.99.0.11/24 */
  addressCidr: string;
  bridge: BridgeConfig;
  /** Called after every change of the record (the cluster saves its state file). */
  onChange?: (host: LocalHost) => void;
}

export interface KillReport {
  /** Processes SIGKILLed (service, agent, conmon, container processes). */
  killed: number;
  /** Whether the freezer reached FROZEN before the kill. */
  frozen: boolean;
  ms: number;
}

export class HostNotRunningError extends LifeboatError {
  constructor(name: string, power: HostPower) {
    super('host_not_running', `host ${name} is ${power === 'killed' ? 'killed (power lost)' : 'off'}`, {
      status: 409,
      hint: `boot it first: reboot() (lifeboat node reboot ${name})`,
    });
  }
}

/** Paths that live on tmpfs on a real machine: a reboot starts them empty. */
const VOLATILE = ['private/run', 'pm/runroot', 'pm/tmp', 'pm/podman.sock'];

/** Podman's limit on the length of its runroot path. */
export const MAX_RUNROOT = 50;

/**
 * One simulated host of the local cluster: a HostSandbox (own network
 * namespace with an address on the cluster bridge, own private mount
 * namespace), its own Podman service, and any further host processes (the
 * agent). Every process of the host lives in the freezer cgroup
 * /lifeboat_<name>: Podman and the agent in .../host, conmon in .../conmon,
 * containers in .../libpod-<id> (containers must be created with
 * `cgroupParent`), which makes `kill()` a faithful power loss.
 */
export class LocalHost {
  readonly name: string;
  readonly index: number;
  readonly dir: string;
  readonly sandbox: HostSandbox;
  private readonly onChange: ((host: LocalHost) => void) | undefined;
  private powerState: HostPower = 'off';
  private partitionedState = false;
  private bootedAtIso: string | null = null;
  private procs: HostProcessRecord[] = [];
  private bootServices: HostProcessSpec[] = [];

  constructor(opts: LocalHostOptions) {
    this.name = opts.name;
    this.index = opts.index;
    this.dir = opts.dir;
    this.sandbox = new HostSandbox({
      name: opts.name,
      dir: opts.dir,
      addressCidr: opts.addressCidr,
      bridge: opts.bridge,
    });
    this.onChange = opts.onChange;
    const runroot = join(this.podmanDir, 'runroot');
    if (runroot.length > MAX_RUNROOT) {
      throw new LifeboatError(
        'host_dir_too_long',
        `host ${this.name}: Podman's runroot ${runroot} is longer than ${MAX_RUNROOT} characters`,
        {
          status: 400,
          hint: 'choose a shorter cluster root (--root)',
        },
      );
    }
  }

  static fromRecord(r: LocalHostRecord, onChange?: (host: LocalHost) => void): LocalHost {
    const h = new LocalHost({
      name: r.name,
      index: r.index,
      dir: r.dir,
      addressCidr: r.addressCidr,
      bridge: r.bridge,
      ...(onChange ? { onChange } : {}),
    });
    h.powerState = r.power;
    h.partitionedState = r.partitioned;
    h.bootedAtIso = r.bootedAt;
    h.procs = [...r.processes];
    h.bootServices = [...r.bootServices];
    return h;
  }

  toRecord(): LocalHostRecord {
    return {
      name: this.name,
      index: this.index,
      addressCidr: this.sandbox.addressCidr,
      dir: this.dir,
      bridge: this.sandbox.bridge,
      cgroupParent: this.cgroupParent,
      netns: this.sandbox.netns,
      veth: vethName(this.sandbox.netns),
      mountNs: this.sandbox.mountNsPath,
      podmanSocket: this.podmanSocket,
      power: this.powerState,
      partitioned: this.partitionedState,
      bootedAt: this.bootedAtIso,
      processes: [...this.procs],
      bootServices: [...this.bootServices],
    };
  }

  get address(): string {
    return this.sandbox.address;
  }
  /** cgroup parent to give every container of this host (`ContainerCreateSpec.cgroupParent`). */
  get cgroupParent(): string {
    return `/lifeboat_${this.name}`;
  }
  /** Where the host's own processes (Podman's service, the agent) run. */
  get hostCgroup(): string {
    return `${this.cgroupParent}/host`;
  }
  /** Short on purpose: Podman refuses a runroot (`<this>/runroot`) longer than 50 characters. */
  get podmanDir(): string {
    return join(this.dir, 'pm');
  }
  get podmanSocket(): string {
    return join(this.podmanDir, 'podman.sock');
  }
  get power(): HostPower {
    return this.powerState;
  }
  get partitioned(): boolean {
    return this.partitionedState;
  }
  get bootedAt(): Date | null {
    return this.bootedAtIso === null ? null : new Date(this.bootedAtIso);
  }
  get processes(): readonly HostProcessRecord[] {
    return this.procs;
  }
  /** The host's Podman (answers only while the host runs). */
  get podman(): PodmanClient {
    return new PodmanClient(this.podmanSocket);
  }
  /** `nsenter` arguments (ending in `--`) that run a command inside this host. */
  nsenterArgs(): string[] {
    return this.sandbox.nsenterArgs();
  }

  /** What every host process gets in its environment, so an agent needs no flags to find its host. */
  processEnv(): Record<string, string> {
    return {
      LIFEBOAT_HOST_NAME: this.name,
      LIFEBOAT_HOST_ADDRESS: this.address,
      LIFEBOAT_PODMAN_SOCKET: this.podmanSocket,
      LIFEBOAT_CGROUP_PARENT: this.cgroupParent,
    };
  }

  private changed(): void {
    this.onChange?.(this);
  }

  /**
   * Every live process of the host: its cgroup subtree, whatever runs in its
   * mount namespace (also a container someone created without the cgroup
   * parent), and their descendants.
   */
  pids(): number[] {
    const table = processTable();
    const seeds = [...pidsIn(this.cgroupParent), ...pidsInMountNamespace(this.sandbox.mountNsPath, table)];
    const zombie = new Set(table.filter((p) => p.state === 'Z').map((p) => p.pid));
    return withDescendants(seeds, table).filter((p) => !zombie.has(p));
  }

  /** Boots the host: namespaces, cgroups, Podman's service, then the boot services (agent). */
  async boot(timeoutMs = 60_000): Promise<PodmanClient> {
    if (this.powerState === 'running') return this.podman;
    if (this.powerState === 'killed') await this.releaseVolatile();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    await this.sandbox.create();
    ensureFreezerCgroup(this.hostCgroup);
    const service = new PodmanService({
      dir: this.podmanDir,
      nsenter: [...this.sandbox.nsenterArgs(), ...enterCgroupArgs(this.hostCgroup, `lb-${this.name}`)],
      cgroupParent: this.cgroupParent,
      detach: true,
    });
    // anything Podman lists as created before this instant is from an earlier boot
    const bootStarted = new Date().toISOString();
    let client: PodmanClient;
    try {
      client = await service.start(timeoutMs);
    } catch (err) {
      // `up` removes the host on failure, log included: carry its end in the error
      throw new LifeboatError(
        'host_boot_failed',
        `host ${this.name}: ${errorMessage(err)}\n${tail(service.logPath, 15)}`,
        { hint: "check `lifeboat doctor`; the lines above are the end of Podman's log", cause: err },
      );
    }
    this.procs = [
      {
        role: 'podman',
        pid: service.pid ?? 0,
        cmd: 'podman',
        args: ['system', 'service'],
        logFile: service.logPath,
        startedAt: new Date().toISOString(),
      },
    ];
    this.powerState = 'running';
    this.partitionedState = false;
    this.bootedAtIso = bootStarted;
    this.changed();
    for (const s of this.bootServices) this.startProcess(s);
    return client;
  }

  /**
   * Starts a further process of the host (the agent): inside its network and
   * mount namespaces and its cgroup, detached, output appended to
   * `logFile` (default `<dir>/logs/<role>.log`). `restartOnBoot` makes every
   * later boot start it again, as an init system would.
   */
  spawnInHost(
    cmd: string,
    args: string[],
    opts: {
      env?: Record<string, string>;
      logFile?: string;
      role?: string;
      restartOnBoot?: boolean;
      awaited?: boolean;
    } = {},
  ): HostProcess {
    if (this.powerState !== 'running') throw new HostNotRunningError(this.name, this.powerState);
    const spec: HostProcessSpec = {
      role: opts.role ?? basename(cmd),
      cmd,
      args,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.logFile ? { logFile: opts.logFile } : {}),
      ...(opts.awaited ? { awaited: true } : {}),
    };
    if (opts.restartOnBoot)
      this.bootServices = [...this.bootServices.filter((s) => s.role !== spec.role), spec];
    return this.startProcess(spec);
  }

  private startProcess(spec: HostProcessSpec): HostProcess {
    const logFile = spec.logFile ?? join(this.dir, 'logs', `${spec.role}.log`);
    const p = spawnDetached({
      cmd: spec.cmd,
      args: spec.args,
      env: { ...this.processEnv(), ...(spec.env ?? {}) },
      logFile,
      cgroup: this.hostCgroup,
      nsenter: this.sandbox.nsenterArgs(),
      label: `lb-${this.name}-${spec.role}`,
      ...(spec.awaited ? { awaited: true } : {}),
    });
    this.procs = [
      ...this.procs.filter((r) => r.role !== spec.role || isAlive(r.pid)),
      {
        role: spec.role,
        pid: p.pid,
        cmd: spec.cmd,
        args: spec.args,
        logFile,
        startedAt: new Date().toISOString(),
      },
    ];
    this.changed();
    return { role: spec.role, pid: p.pid, logFile, exited: p.exited };
  }

  /** Stops the host processes of one role (SIGTERM, then SIGKILL after `graceMs`); a boot service returns at the next boot. */
  async stopProcess(role: string, graceMs = 5_000): Promise<void> {
    await terminate(
      this.procs.filter((p) => p.role === role).map((p) => p.pid),
      graceMs,
    );
    this.procs = this.procs.filter((p) => p.role !== role);
    this.changed();
  }

  /**
   * Power loss: freeze the host's cgroup, SIGKILL every process in it (and in
   * its mount namespace), thaw, take its link down. Nothing is cleaned up:
   * Podman's database still lists the containers, their storage stays.
   */
  async kill(): Promise<KillReport> {
    const t0 = Date.now();
    const frozen = await freeze(this.cgroupParent);
    const pids = this.pids();
    signal(pids, 'SIGKILL');
    setFrozen(this.cgroupParent, false);
    const left = await waitGone(pids, 5_000);
    if (left.length > 0)
      log.warn('processes survived a host kill', { host: this.name, pids: left.join(',') });
    if (existsSync(`/sys/class/net/${vethName(this.sandbox.netns)}`)) await this.sandbox.setLink(false);
    if (this.powerState === 'running') this.powerState = 'killed';
    this.procs = [];
    this.changed();
    return { killed: pids.length, frozen, ms: Date.now() - t0 };
  }

  /** Cuts the host off the cluster network (its processes keep running). */
  async partition(): Promise<void> {
    await this.sandbox.setLink(false);
    this.partitionedState = true;
    this.changed();
  }

  /** Reconnects a partitioned host; a host without power stays dark. */
  async heal(): Promise<void> {
    if (this.powerState === 'running') await this.sandbox.setLink(true);
    this.partitionedState = false;
    this.changed();
  }

  /**
   * Power cycle: a running host is killed first; then the host boots with
   * fresh namespaces and empty tmpfs-like directories over its old disk
   * state. Podman then lists the containers that ran before as stale
   * (`staleContainers()`), as it does after a real reboot.
   */
  async reboot(timeoutMs = 60_000): Promise<PodmanClient> {
    if (this.powerState === 'running') await this.kill();
    await this.releaseVolatile();
    this.powerState = 'off';
    return this.boot(timeoutMs);
  }

  /**
   * Containers Podman still lists from before the current boot and that do
   * not run: what the agent must reconcile (remove, or report as lost).
   */
  async staleContainers(): Promise<ContainerListEntry[]> {
    if (this.powerState !== 'running' || this.bootedAtIso === null) return [];
    const bootSeconds = Date.parse(this.bootedAtIso) / 1000;
    return (await this.podman.listContainers({ all: true })).filter(
      (c) => c.State !== 'running' && c.State !== 'paused' && createdSeconds(c) < bootSeconds,
    );
  }

  /**
   * Clean shutdown: host services (agent) get SIGTERM, running containers are
   * stopped through Podman, then Podman's service; the network and mount
   * namespaces go as a powered-off machine's would. The disk stays.
   */
  async stop(): Promise<void> {
    if (this.powerState === 'running') {
      await terminate(this.procs.filter((p) => p.role !== 'podman').map((p) => p.pid));
      try {
        const running = (await this.podman.listContainers({ all: false })).filter(
          (c) => c.State === 'running',
        );
        await Promise.all(running.map((c) => this.podman.stopContainer(c.Id, 3).catch(() => undefined)));
      } catch {
        // Podman does not answer: its containers die with the host below
      }
      await terminate(
        this.procs.filter((p) => p.role === 'podman').map((p) => p.pid),
        10_000,
      );
    }
    await this.killAll();
    await this.releaseVolatile();
    this.powerState = 'off';
    this.partitionedState = false;
    this.procs = [];
    this.changed();
  }

  /**
   * Removes everything of the host: processes, mount namespace, network
   * namespace and veth, cgroups, directory. Safe to repeat and after a crash
   * of whatever started the host.
   */
  async destroy(): Promise<void> {
    await this.killAll();
    await removeMountNamespace(this.name);
    await removeHostNetns(this.sandbox.netns);
    await this.removeCgroups();
    await removeTree(this.dir);
    this.powerState = 'off';
    this.partitionedState = false;
    this.procs = [];
    this.changed();
  }

  private async killAll(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const frozen = await freeze(this.cgroupParent, 1_000);
      const pids = this.pids();
      if (pids.length === 0) {
        if (frozen) setFrozen(this.cgroupParent, false);
        return;
      }
      signal(pids, 'SIGKILL');
      setFrozen(this.cgroupParent, false);
      await waitGone(pids, 5_000);
    }
  }

  private async removeCgroups(): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      if (removeCgroup(this.cgroupParent).length === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    log.warn('cgroup still populated', { cgroup: this.cgroupParent });
  }

  /** Drops what a real power cycle loses: namespaces and tmpfs contents. */
  private async releaseVolatile(): Promise<void> {
    await this.killAll();
    await removeMountNamespace(this.name);
    await removeHostNetns(this.sandbox.netns);
    for (const p of VOLATILE) {
      const path = join(this.dir, p);
      if (p.endsWith('.sock')) rmSync(path, { force: true });
      else await removeTree(path);
    }
  }
}

/** libpod answers `Created` as unix seconds or as an RFC 3339 time depending on the version. */
function createdSeconds(c: ContainerListEntry): number {
  const v: unknown = c.Created;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Date.parse(v) / 1000;
  return 0;
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}
