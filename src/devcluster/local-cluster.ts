import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeDeadSocket } from '../api/docker/unix-socket.ts';
import { buildTestImages } from '../images/test-images.ts';
import { errorMessage, LifeboatError, ValidationError } from '../util/errors.ts';
import { cgroupExists, freeze, pidsIn, removeCgroup, setFrozen, topLevelCgroups } from './cgroups.ts';
import {
  readClusterState,
  writeClusterState,
  type ClusterState,
  type RootProcessRecord,
} from './cluster-state.ts';
import { ClusterExistsError, ClusterLeftoversError, ImageMismatchError } from './errors.ts';
import { GlusterVolume, looksLikeGlusterDir } from './gluster-volume.ts';
import { LocalHost } from './local-host.ts';
import { NS_DIR } from './mount-namespace.ts';
import { ensureBridge, parseSubnet, removeBridge, vethName, type BridgeConfig } from './network.ts';
import { isAlive, processTable, signal, terminate, waitGone } from './processes.ts';
import { Progress, type ProgressFn } from './progress.ts';
import { removeTree } from './remove-tree.ts';
import { sh } from './sh.ts';
import { spawnDetached } from './spawn-detached.ts';

export const DEFAULT_CLUSTER_ROOT = '/var/lib/lifeboat/cluster';
export const DEFAULT_BRIDGE_NAME = 'lifeboat0';
export const DEFAULT_SUBNET = '10.99.0.0/24';
export const DEFAULT_NAME_PREFIX = 'node';

export interface LocalClusterConfig {
  /** Everything on disk lives here; the state file is `<root>/state.json`. */
  root?: string;
  /** Bridge in the root namespace joining the hosts (default lifeboat0). */
  bridge?: string;
  /** The bridge takes .1, host i takes .(10+i) (default 10.99.0.0/24). */
  subnet?: string;
  /** Hosts are named <prefix>1..<prefix>N (default node). */
  namePrefix?: string;
  /** GlusterFS volume name for `storage: 'gluster'` (default lifeboat-<prefix>). */
  glusterVolume?: string;
  onProgress?: ProgressFn;
}

export type StorageKind = 'dir' | 'gluster';

export interface UpOptions {
  nodes: number;
  /** dir: a directory every host sees at the same path; gluster: a real replica-3 GlusterFS volume. */
  storage?: StorageKind;
  /** Build lifeboat's images and load them into every host (default true). */
  images?: boolean;
}

export interface UpResult {
  hosts: { name: string; address: string; podmanSocket: string }[];
  /** The managers' side of the bridge: where hosts reach processes of the root namespace. */
  gateway: string;
  checkpointDir: string;
  images: { reference: string; imageId: string }[];
  ms: number;
}

export interface DownReport {
  removed: string[];
  ms: number;
}

/** What `<root>` holds that `down` removes (the root itself only when then empty). */
const ROOT_ENTRIES = [
  'hosts',
  'images',
  'checkpoints',
  'gluster',
  'logs',
  'state.json',
  'pki',
  'manager',
  'cluster.key',
];

const ROLE = /^[a-z][a-z0-9-]{0,30}$/;

/**
 * A complete lifeboat cluster on one machine, the way kind or minikube build
 * one: N simulated hosts (LocalHost: own network and mount namespaces, own
 * Podman, own cgroup) on a bridge, lifeboat's images in every host with the
 * same IDs, and a shared checkpoint directory. Everything created is recorded
 * in a state file so that `down` works from another process, after a crash,
 * and (by lifeboat's naming) even without the file.
 */
export class LocalCluster {
  readonly root: string;
  readonly bridge: BridgeConfig;
  readonly subnet: string;
  readonly namePrefix: string;
  readonly glusterVolume: string;
  private readonly progressFn: ProgressFn | undefined;
  private readonly hostCidr: (index: number) => string;
  private readonly maxHosts: number;
  private state: ClusterState | null;
  private hostMap = new Map<string, LocalHost>();
  /**
   * Whether the names this cluster sweeps (hosts `<prefix>N`, bridge) are its
   * own: recorded at its root, given by the caller, or the default cluster's
   * at the default root. A root with nothing recorded and nothing said must
   * not take another cluster's defaults for its own (a bench's leftover
   * root would remove the user's cluster).
   */
  private readonly namesOwned: boolean;

  /**
   * Settings come from the state file when a cluster is recorded at `root`
   * (so `down`/`kill` need only --root), else from `config`, else defaults.
   */
  constructor(config: LocalClusterConfig = {}) {
    this.root = resolve(config.root ?? DEFAULT_CLUSTER_ROOT);
    try {
      this.state = readClusterState(join(this.root, 'state.json'));
    } catch {
      // unreadable: `up` reports it with a hint, `down` sweeps by name
      this.state = null;
    }
    const st = this.state;
    this.namesOwned =
      st !== null ||
      config.namePrefix !== undefined ||
      config.bridge !== undefined ||
      this.root === resolve(DEFAULT_CLUSTER_ROOT);
    this.subnet = st?.subnet ?? config.subnet ?? DEFAULT_SUBNET;
    const sub = parseSubnet(this.subnet);
    if (!sub)
      throw new ValidationError(`subnet "${this.subnet}"`, 'give an IPv4 network with a /8../28 prefix');
    this.hostCidr = sub.hostCidr;
    this.maxHosts = sub.maxHosts;
    this.bridge = {
      name: st?.bridge.name ?? config.bridge ?? DEFAULT_BRIDGE_NAME,
      gatewayCidr: sub.gatewayCidr,
    };
    if (!/^[a-zA-Z0-9_-]{1,15}$/.test(this.bridge.name))
      throw new ValidationError(`bridge name "${this.bridge.name}"`, 'use up to 15 letters, digits, _ or -');
    this.namePrefix = st?.namePrefix ?? config.namePrefix ?? DEFAULT_NAME_PREFIX;
    if (!/^[a-z][a-z0-9]{0,8}$/.test(this.namePrefix))
      throw new ValidationError(
        `name prefix "${this.namePrefix}"`,
        'use 1-9 lowercase letters or digits, starting with a letter',
      );
    this.glusterVolume = st?.storage.gluster?.volume ?? config.glusterVolume ?? `lifeboat-${this.namePrefix}`;
    this.progressFn = config.onProgress;
    for (const r of st?.hosts ?? [])
      this.hostMap.set(
        r.name,
        LocalHost.fromRecord(r, () => this.save()),
      );
  }

  get statePath(): string {
    return join(this.root, 'state.json');
  }
  /** Address of the bridge: hosts reach managers (root namespace) here. */
  get gateway(): string {
    return this.bridge.gatewayCidr.split('/')[0] ?? '';
  }
  /** Shared checkpoint directory, at the same path in every host. */
  get checkpointDir(): string {
    return join(this.root, 'checkpoints');
  }
  /** Freezer cgroup of the cluster's own processes in the root namespace (managers, GlusterFS). */
  get clusterCgroup(): string {
    return `/lifeboat_${this.namePrefix}-cluster`;
  }
  get hosts(): LocalHost[] {
    return [...this.hostMap.values()].sort((a, b) => a.index - b.index);
  }
  /** The recorded state (null: no cluster recorded at this root). */
  get recorded(): ClusterState | null {
    return this.state === null ? null : (JSON.parse(JSON.stringify(this.state)) as ClusterState);
  }

  host(name: string): LocalHost {
    const h = this.hostMap.get(name);
    if (!h) {
      throw new LifeboatError('host_not_found', `no host ${name} in the local cluster at ${this.root}`, {
        status: 404,
        hint: `hosts: ${this.hosts.map((x) => x.name).join(', ') || 'none (run lifeboat up)'}`,
      });
    }
    return h;
  }

  private save(): void {
    if (this.state === null) return;
    this.state.hosts = this.hosts.map((h) => h.toRecord());
    writeClusterState(this.statePath, this.state);
  }

  private hostName(i: number): string {
    return `${this.namePrefix}${i}`;
  }

  private newHost(name: string, index: number): LocalHost {
    return new LocalHost({
      name,
      index,
      dir: join(this.root, 'hosts', name),
      addressCidr: this.hostCidr(index),
      bridge: this.bridge,
      onChange: () => this.save(),
    });
  }

  /** Names of lifeboat objects of this prefix/root that exist on the machine, found by name. */
  private leftovers(): { hosts: Map<string, number>; other: string[] } {
    // names nobody vouched for are not ours to find (see namesOwned)
    const re = this.namesOwned ? new RegExp(`^${this.namePrefix}(\\d+)$`) : /(?!)/;
    const hosts = new Map<string, number>();
    const found: string[] = [];
    const note = (name: string, what: string): void => {
      const m = re.exec(name);
      if (!m) return;
      hosts.set(name, Number(m[1]));
      found.push(what);
    };
    const list = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);
    for (const n of list('/run/netns')) if (n.startsWith('lb-')) note(n.slice(3), `netns ${n}`);
    for (const n of list('/sys/class/net')) if (n.startsWith('lbv')) note(n.slice(3), `veth ${n}`);
    for (const n of list(NS_DIR))
      if (n.endsWith('.mnt')) note(n.slice(0, -4), `mount namespace ${NS_DIR}/${n}`);
    for (const cg of topLevelCgroups(new RegExp(`^lifeboat_${this.namePrefix}\\d+$`)))
      note(cg.slice('/lifeboat_'.length), `cgroup ${cg}`);
    for (const n of list(join(this.root, 'hosts'))) note(n, `directory ${join(this.root, 'hosts', n)}`);
    const other: string[] = [];
    if (this.namesOwned && cgroupExists(this.clusterCgroup)) other.push(`cgroup ${this.clusterCgroup}`);
    if (looksLikeGlusterDir(join(this.root, 'gluster')))
      other.push(`glusterd in ${join(this.root, 'gluster')}`);
    return { hosts, other: [...found, ...other] };
  }

  /**
   * Creates the cluster: bridge, shared checkpoint storage, N hosts each with
   * a running Podman, lifeboat's images loaded everywhere (same IDs, checked).
   * On failure everything created so far is removed again.
   */
  async up(opts: UpOptions): Promise<UpResult> {
    const progress = new Progress(this.progressFn);
    const storage = opts.storage ?? 'dir';
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > Math.min(this.maxHosts, 99))
      throw new ValidationError(`nodes: ${opts.nodes}`, `give 1..${Math.min(this.maxHosts, 99)}`);
    if (storage !== 'dir' && storage !== 'gluster')
      throw new ValidationError(`storage "${String(storage)}"`, 'use dir or gluster');
    // constructing the host with the longest name checks its paths before anything is created
    this.newHost(this.hostName(opts.nodes), opts.nodes);
    this.state = readClusterState(this.statePath);
    if (this.state) throw new ClusterExistsError(this.root, this.state.hosts.length);
    const left = this.leftovers();
    if (left.other.length > 0 || left.hosts.size > 0) throw new ClusterLeftoversError(left.other);

    const bridgeExisted = existsSync(`/sys/class/net/${this.bridge.name}`);
    this.state = {
      version: 1,
      root: this.root,
      status: 'creating',
      createdAt: new Date().toISOString(),
      namePrefix: this.namePrefix,
      subnet: this.subnet,
      bridge: { ...this.bridge, createdByUs: !bridgeExisted },
      storage: { kind: storage, checkpointDir: this.checkpointDir },
      images: [],
      hosts: [],
      processes: [],
      mounts: [],
    };
    this.hostMap.clear();
    mkdirSync(this.root, { recursive: true, mode: 0o755 });
    this.save();
    try {
      await progress.step('network', `bridge ${this.bridge.name} ${this.bridge.gatewayCidr}`, () =>
        ensureBridge(this.bridge),
      );
      if (storage === 'gluster') {
        const g = new GlusterVolume({
          volume: this.glusterVolume,
          dir: join(this.root, 'gluster'),
          mountpoint: this.checkpointDir,
          cgroup: `${this.clusterCgroup}/gluster`,
        });
        const st = this.state;
        st.storage.gluster = g.toRecord();
        st.mounts.push(this.checkpointDir);
        this.save();
        try {
          // the mount must exist before the hosts' mount namespaces copy the root's
          await g.up((what, fn) => progress.step('storage', what, fn));
        } finally {
          st.storage.gluster = g.toRecord();
          this.save();
        }
      } else {
        await progress.step('storage', `checkpoint directory ${this.checkpointDir}`, async () => {
          mkdirSync(this.checkpointDir, { recursive: true });
        });
      }
      const built =
        opts.images === false
          ? []
          : await progress.step(
              'images',
              'building busybox and redis images',
              () => buildTestImages(join(this.root, 'images')),
              (b) => b.map((i) => `${i.reference} sha256:${i.imageId.slice(0, 12)}`).join(', '),
            );
      this.state.images = built.map((b) => ({ reference: b.reference, imageId: b.imageId, path: b.path }));
      this.save();
      for (let i = 1; i <= opts.nodes; i++) {
        const name = this.hostName(i);
        const host = this.newHost(name, i);
        this.hostMap.set(name, host);
        this.save();
        await progress.step(
          `host ${name}`,
          `booting at ${host.address}`,
          async () => (await host.boot()).version(),
          (v) => `${host.address}, podman ${v.Version} answering`,
        );
        if (built.length > 0) {
          await progress.step(`host ${name}`, 'loading images', async () => {
            for (const img of built) {
              await host.podman.loadImage(createReadStream(img.path));
              const got = (await host.podman.inspectImage(img.reference)).Id.replace(/^sha256:/, '');
              const want = img.imageId.replace(/^sha256:/, '');
              if (got !== want) throw new ImageMismatchError(name, img.reference, want, got);
            }
          });
        }
      }
      this.state.status = 'up';
      this.save();
      progress.info(
        'ready',
        `${opts.nodes} hosts on ${this.bridge.name}, checkpoints in ${this.checkpointDir}`,
      );
    } catch (err) {
      progress.info('rollback', 'removing what was created');
      await this.down().catch(() => undefined);
      throw err;
    }
    return {
      hosts: this.hosts.map((h) => ({ name: h.name, address: h.address, podmanSocket: h.podmanSocket })),
      gateway: this.gateway,
      checkpointDir: this.checkpointDir,
      images: this.state.images.map((i) => ({ reference: i.reference, imageId: i.imageId })),
      ms: progress.elapsedMs,
    };
  }

  /**
   * Starts a process of the cluster in the root namespace (a manager, etcd),
   * detached, in the cluster's cgroup, recorded in the state file; `down`
   * stops it. Hosts reach it at `gateway`.
   */
  spawnInRoot(
    role: string,
    cmd: string,
    args: string[],
    opts: { env?: Record<string, string>; logFile?: string } = {},
  ): RootProcessRecord {
    if (!this.state)
      throw new LifeboatError('cluster_not_up', `no local cluster at ${this.root}`, {
        hint: 'run lifeboat up',
      });
    if (!ROLE.test(role)) throw new ValidationError(`role "${role}"`, 'use lowercase letters, digits and -');
    const logFile = opts.logFile ?? join(this.root, 'logs', `${role}.log`);
    const cgroup = `${this.clusterCgroup}/${role}`;
    const p = spawnDetached({
      cmd,
      args,
      env: { LIFEBOAT_CLUSTER_ROOT: this.root, LIFEBOAT_CLUSTER_GATEWAY: this.gateway, ...(opts.env ?? {}) },
      logFile,
      cgroup,
      label: `lb-${role}`,
    });
    const rec: RootProcessRecord = {
      role,
      pid: p.pid,
      cmd,
      args,
      logFile,
      cgroup,
      startedAt: new Date().toISOString(),
    };
    this.state.processes = [...this.state.processes.filter((x) => x.role !== role), rec];
    this.save();
    return rec;
  }

  /** Starts `bin/lifeboat <args>` as a manager in the root namespace (see spawnInRoot). */
  spawnManager(
    args: string[],
    opts: { role?: string; env?: Record<string, string> } = {},
  ): RootProcessRecord {
    const bin = fileURLToPath(new URL('../../bin/lifeboat', import.meta.url));
    return this.spawnInRoot(opts.role ?? 'manager', bin, args, opts.env ? { env: opts.env } : {});
  }

  /** Stops one root-namespace process (SIGTERM, then SIGKILL) and forgets it. */
  async stopRootProcess(role: string): Promise<void> {
    if (!this.state) return;
    const recs = this.state.processes.filter((p) => p.role === role);
    await terminate(recs.flatMap((r) => [r.pid, ...pidsIn(r.cgroup)]));
    for (const r of recs) removeCgroup(r.cgroup);
    this.state.processes = this.state.processes.filter((p) => p.role !== role);
    this.save();
  }

  /**
   * Removes everything: root processes, hosts (processes, namespaces, veths,
   * cgroups, directories), GlusterFS volume/daemon/mount, the bridge (once no
   * port is left on it), the files under the root. Uses the state file when
   * there is one, and sweeps by lifeboat's naming either way. Idempotent.
   */
  async down(): Promise<DownReport> {
    const progress = new Progress(this.progressFn);
    const removed: string[] = [];
    const failed: string[] = [];
    // one failing step must not keep the others from removing what they can
    const attempt = async (step: string, message: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await progress.step(step, message, fn);
      } catch (err) {
        failed.push(`${step}: ${errorMessage(err)}`);
      }
    };
    try {
      this.state = readClusterState(this.statePath);
    } catch {
      this.state = null;
      rmSync(this.statePath, { force: true });
    }
    if (this.state) {
      this.state.status = 'removing';
      this.hostMap = new Map(
        this.state.hosts.map((r) => [r.name, LocalHost.fromRecord(r, () => this.save())]),
      );
      this.save();
    }
    const st = this.state;

    await attempt('processes', 'stopping cluster processes in the root namespace', async () => {
      const pids = [...new Set([...(st?.processes ?? []).map((p) => p.pid), ...this.managedProcessPids()])];
      const alive = pids.filter(isAlive);
      await terminate(alive, 5_000);
      if (alive.length > 0) removed.push(`${alive.length} root-namespace processes`);
      // a manager killed before it could close its Docker socket leaves the file
      for (const path of (st?.processes ?? []).flatMap((p) => dockerSocketOf(p.args)))
        if ((await removeDeadSocket(path)) === 'removed') removed.push(`socket ${path}`);
    });

    const hosts = new Map(this.hostMap);
    for (const [name, index] of this.leftovers().hosts)
      if (!hosts.has(name)) hosts.set(name, this.newHost(name, index));
    for (const host of [...hosts.values()].sort((a, b) => a.index - b.index)) {
      await attempt(`host ${host.name}`, 'removing', async () => {
        await host.destroy();
        this.hostMap.delete(host.name);
        this.save();
        removed.push(`host ${host.name}`);
      });
    }

    await attempt('storage', 'removing checkpoint storage', async () => {
      const glusterDir = join(this.root, 'gluster');
      const rec = st?.storage.gluster;
      if (rec || (this.namesOwned && looksLikeGlusterDir(glusterDir))) {
        const g = rec
          ? GlusterVolume.fromRecord(rec)
          : new GlusterVolume({
              volume: this.glusterVolume,
              dir: glusterDir,
              mountpoint: this.checkpointDir,
              cgroup: `${this.clusterCgroup}/gluster`,
            });
        removed.push(...(await g.down()));
      }
      for (const m of this.mountsUnderRoot()) {
        await sh('umount', ['-l', m], { allowFail: true });
        removed.push(`mount ${m}`);
      }
    });

    await attempt('sweep', 'leftovers by name', async () => {
      const frozen = this.namesOwned && (await freeze(this.clusterCgroup, 1_000));
      const pids = this.rootProcessPids();
      signal(pids, 'SIGKILL');
      if (frozen) setFrozen(this.clusterCgroup, false);
      await waitGone(pids, 5_000);
      for (const cg of this.namesOwned
        ? [this.clusterCgroup, ...topLevelCgroups(new RegExp(`^lifeboat_${this.namePrefix}\\d+$`))]
        : []) {
        for (let i = 0; i < 20 && removeCgroup(cg).length > 0; i++)
          await new Promise((r) => setTimeout(r, 100));
      }
    });

    await attempt('network', `bridge ${this.bridge.name}`, async () => {
      const brif = `/sys/class/net/${this.bridge.name}/brif`;
      if (!existsSync(brif)) return;
      if (!this.namesOwned) {
        progress.info(
          'network',
          `bridge ${this.bridge.name} kept: nothing at ${this.root} says it is this cluster's`,
        );
        return;
      }
      const ports = readdirSync(brif);
      if (st && !st.bridge.createdByUs) {
        progress.info('network', `bridge ${this.bridge.name} kept: it existed before up`);
      } else if (ports.length === 0) {
        await removeBridge(this.bridge);
        removed.push(`bridge ${this.bridge.name}`);
      } else {
        progress.info('network', `bridge ${this.bridge.name} kept: still used by ${ports.join(', ')}`);
      }
    });

    await attempt('files', `files under ${this.root}`, async () => {
      for (const e of ROOT_ENTRIES.filter((x) => x !== 'state.json')) await removeTree(join(this.root, e));
      rmSync(this.statePath, { force: true });
      try {
        rmdirSync(this.root);
      } catch {
        // not empty (someone else's files) or already gone
      }
    });
    if (failed.length > 0) {
      throw new LifeboatError('down_incomplete', `down left something behind: ${failed.join('; ')}`, {
        hint: 'run `lifeboat down` again (it is idempotent); if it keeps failing, remove what it names by hand',
      });
    }
    this.state = null;
    this.hostMap.clear();
    return { removed, ms: progress.elapsedMs };
  }

  /** Root-namespace processes started by spawnInRoot (every sub-cgroup of the cluster's but GlusterFS's). */
  private managedProcessPids(): number[] {
    if (!this.namesOwned) return [];
    const dir = `/sys/fs/cgroup/freezer${this.clusterCgroup}`;
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'gluster')
      .flatMap((e) => pidsIn(`${this.clusterCgroup}/${e.name}`));
  }

  /** Processes of the cluster's root cgroup, plus strays of ours found by their arguments. */
  private rootProcessPids(): number[] {
    const under = this.root + '/';
    const strays = processTable()
      .filter(
        (p) =>
          p.state !== 'Z' &&
          /(^|\/)(gluster\w*|podman|conmon)$/.test(p.argv[0] ?? '') &&
          p.argv.some((a) => a.includes(under)),
      )
      .map((p) => p.pid);
    return [...new Set([...(this.namesOwned ? pidsIn(this.clusterCgroup) : []), ...strays])];
  }

  private mountsUnderRoot(): string[] {
    const under = this.root + '/';
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(under))
      .sort((a, b) => b.length - a.length);
  }
}

/** Names the sweep matches, for documentation and tests: netns, veth, cgroup of host `name`. */
export function hostObjectNames(name: string): { netns: string; veth: string; cgroup: string } {
  return { netns: `lb-${name}`, veth: vethName(`lb-${name}`), cgroup: `/lifeboat_${name}` };
}

/** The unix socket a manager's `--docker unix:///path` names, if any. */
function dockerSocketOf(args: string[]): string[] {
  const i = args.indexOf('--docker');
  const v = i >= 0 ? args[i + 1] : undefined;
  return v?.startsWith('unix://') ? [v.slice('unix://'.length)] : [];
}
