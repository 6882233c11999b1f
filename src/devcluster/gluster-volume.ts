import { lookup } from 'node:dns/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ensureFreezerCgroup, freeze, pidsIn, removeCgroup, setFrozen } from './cgroups.ts';
import { StorageUnavailableError } from './errors.ts';
import { isAlive, processTable, signal, terminate, waitGone } from './processes.ts';
import { removeTree } from './remove-tree.ts';
import { sh } from './sh.ts';
import { spawnDetached } from './spawn-detached.ts';

/**
 * The local cluster's shared checkpoint store on real GlusterFS: a private
 * glusterd (own working and run directories, own CLI socket, started without
 * systemd), a replica-3 volume whose three bricks sit under the cluster root
 * (`force`: all bricks on one machine), FUSE-mounted where every host sees it.
 * glusterd's management port 24007 is fixed, so only one can run per machine.
 */
export interface GlusterRecord {
  volume: string;
  dir: string;
  mountpoint: string;
  /** Brick host: this machine's hostname (glusterd refuses localhost). */
  hostname: string;
  bricks: string[];
  /** Freezer cgroup holding glusterd, its bricks and the FUSE client. */
  cgroup: string;
  glusterdPid: number | null;
  /** Brick and self-heal sockets glusterd puts in /var/run/gluster whatever it is told. */
  runSockets: string[];
  /** Directories glusterd created outside `dir` (it hard-codes /var/run/gluster/snaps). */
  createdDirs: string[];
}

/** Created by glusterd whatever its run-directory says. */
const HARD_CODED_DIRS = ['/var/run/gluster', '/var/run/gluster/snaps'];

const MGMT_PORT = 24007;
const BRICK_LOG_DIR = '/var/log/glusterfs/bricks';

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.setTimeout(1_000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

function isMounted(path: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class GlusterVolume {
  private rec: GlusterRecord;

  constructor(opts: { volume: string; dir: string; mountpoint: string; cgroup: string }) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(opts.volume)) {
      throw new StorageUnavailableError(
        `gluster volume name "${opts.volume}"`,
        'use letters, digits, _ and -',
      );
    }
    this.rec = {
      volume: opts.volume,
      dir: opts.dir,
      mountpoint: opts.mountpoint,
      hostname: hostname(),
      bricks: [1, 2, 3].map((i) => join(opts.dir, 'bricks', `b${i}`)),
      cgroup: opts.cgroup,
      glusterdPid: null,
      runSockets: [],
      createdDirs: [],
    };
  }

  static fromRecord(r: GlusterRecord): GlusterVolume {
    const g = new GlusterVolume(r);
    g.rec = { ...r };
    return g;
  }

  toRecord(): GlusterRecord {
    return {
      ...this.rec,
      bricks: [...this.rec.bricks],
      runSockets: [...this.rec.runSockets],
      createdDirs: [...this.rec.createdDirs],
    };
  }

  private get socket(): string {
    return join(this.rec.dir, 'glusterd.socket');
  }

  private async cli(args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<string> {
    return sh(
      'gluster',
      [
        '--mode=script',
        `--glusterd-sock=${this.socket}`,
        `--log-file=${join(this.rec.dir, 'log', 'cli.log')}`,
        ...args,
      ],
      { timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.allowFail ? { allowFail: true } : {}) },
    );
  }

  private async preflight(): Promise<void> {
    for (const bin of ['glusterd', 'gluster', 'mount.glusterfs']) {
      if (!(await sh('sh', ['-c', `command -v ${bin}`], { allowFail: true })).trim()) {
        throw new StorageUnavailableError(
          `${bin} is not installed`,
          "install Debian's glusterfs-server and glusterfs-client (scripts/provision.sh does), or use --storage dir",
        );
      }
    }
    if (!existsSync('/dev/fuse')) {
      throw new StorageUnavailableError('/dev/fuse is missing', 'load the fuse module, or use --storage dir');
    }
    if (await portAnswers(MGMT_PORT)) {
      throw new StorageUnavailableError(
        `a glusterd already listens on port ${MGMT_PORT}`,
        'only one glusterd can run per machine: stop the other one (a system glusterd?), or use --storage dir',
      );
    }
    try {
      await lookup(this.rec.hostname);
    } catch {
      throw new StorageUnavailableError(
        `this machine's hostname ${this.rec.hostname} does not resolve`,
        `add "127.0.1.1 ${this.rec.hostname}" to /etc/hosts (gluster bricks need the hostname), or use --storage dir`,
      );
    }
  }

  /** Starts glusterd, creates and starts the volume, mounts it. `step` reports each part. */
  async up(step: <T>(what: string, fn: () => Promise<T>) => Promise<T> = (_w, fn) => fn()): Promise<void> {
    const r = this.rec;
    await step('checking GlusterFS prerequisites', () => this.preflight());
    for (const d of ['wd', 'run', 'log', ...r.bricks.map((b) => b.slice(r.dir.length + 1))])
      mkdirSync(join(r.dir, d), { recursive: true });
    mkdirSync(r.mountpoint, { recursive: true });
    writeFileSync(
      join(r.dir, 'glusterd.vol'),
      [
        'volume management',
        '    type mgmt/glusterd',
        `    option working-directory ${join(r.dir, 'wd')}`,
        `    option run-directory ${join(r.dir, 'run')}`,
        `    option glusterd-sockfile ${this.socket}`,
        '    option transport-type socket',
        `    option transport.socket.listen-port ${MGMT_PORT}`,
        '    option ping-timeout 0',
        '    option event-threads 1',
        'end-volume',
        '',
      ].join('\n'),
    );
    r.createdDirs = HARD_CODED_DIRS.filter((d) => !existsSync(d));
    await step('starting glusterd', async () => {
      const p = spawnDetached({
        cmd: 'glusterd',
        args: ['-N', '-f', join(r.dir, 'glusterd.vol'), '-l', join(r.dir, 'log', 'glusterd.log')],
        logFile: join(r.dir, 'log', 'glusterd.out'),
        cgroup: r.cgroup,
        label: 'lb-glusterd',
      });
      r.glusterdPid = p.pid;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (!isAlive(p.pid))
          throw new StorageUnavailableError('glusterd exited', `see ${r.dir}/log/glusterd.log`);
        // `volume list` prints to stderr when empty: `peer status` answers on stdout once glusterd serves
        const peers = existsSync(this.socket)
          ? await this.cli(['peer', 'status'], { allowFail: true, timeoutMs: 10_000 })
          : '';
        if (peers.includes('Number of Peers')) return;
        await sleep(200);
      }
      throw new StorageUnavailableError(
        'glusterd did not answer within 60 s',
        `see ${r.dir}/log/glusterd.log`,
      );
    });
    await step(`creating replica-3 volume ${r.volume}`, async () => {
      await this.cli([
        'volume',
        'create',
        r.volume,
        'replica',
        '3',
        ...r.bricks.map((b) => `${r.hostname}:${b}`),
        'force',
      ]);
      await this.cli(['volume', 'start', r.volume]);
      r.runSockets = this.runSocketsInUse();
    });
    await step(`mounting ${r.volume} at ${r.mountpoint}`, async () => {
      // the FUSE client daemon is forked by mount: start mount inside the cgroup so the client lands there
      const procs = ensureFreezerCgroup(r.cgroup);
      await sh('sh', [
        '-c',
        `echo $$ > '${procs}' && exec mount -t glusterfs -o log-file='${join(r.dir, 'log', 'mount.log')}' '${r.hostname}:/${r.volume}' '${r.mountpoint}'`,
      ]);
      if (!isMounted(r.mountpoint))
        throw new StorageUnavailableError(`${r.mountpoint} is not mounted`, `see ${r.dir}/log/mount.log`);
    });
  }

  /** Sockets of this volume's brick and self-heal processes (argument -S), to remove them afterwards. */
  private runSocketsInUse(): string[] {
    const out = new Set(this.rec.runSockets);
    const mine = new Set(pidsIn(this.rec.cgroup));
    for (const p of processTable()) {
      if (!mine.has(p.pid) && !p.argv.some((a) => a.includes(this.rec.dir + '/'))) continue;
      const i = p.argv.indexOf('-S');
      const sock = i >= 0 ? p.argv[i + 1] : undefined;
      if (sock && /^\/(var\/)?run\/gluster\/[0-9a-f]+\.socket$/.test(sock)) out.add(sock);
    }
    return [...out];
  }

  /**
   * Unmounts, stops and deletes the volume, stops glusterd and everything it
   * started, removes its sockets, brick logs and directory. Works from the
   * record alone and after a crash (glusterd gone, mount stale).
   */
  async down(): Promise<string[]> {
    const r = this.rec;
    const removed: string[] = [];
    r.runSockets = this.runSocketsInUse();
    if (isMounted(r.mountpoint)) {
      await sh('umount', [r.mountpoint], { allowFail: true });
      if (isMounted(r.mountpoint)) await sh('umount', ['-l', r.mountpoint], { allowFail: true });
      removed.push(`mount ${r.mountpoint}`);
    }
    if (r.glusterdPid === null || !isAlive(r.glusterdPid)) r.glusterdPid = this.findGlusterd();
    const glusterdUp = r.glusterdPid !== null && existsSync(this.socket);
    if (glusterdUp) {
      await this.cli(['volume', 'stop', r.volume, 'force'], { allowFail: true, timeoutMs: 60_000 });
      if (await this.cli(['volume', 'delete', r.volume], { allowFail: true, timeoutMs: 60_000 }))
        removed.push(`gluster volume ${r.volume}`);
    }
    if (r.glusterdPid !== null && isAlive(r.glusterdPid)) {
      await terminate([r.glusterdPid], 5_000);
      removed.push(`glusterd (pid ${r.glusterdPid})`);
    }
    await this.killRest();
    for (const s of r.runSockets) rmSync(s, { force: true });
    for (const d of [...r.createdDirs].reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // not empty: someone else uses it now
      }
    }
    this.removeBrickLogs();
    for (let i = 0; i < 20 && removeCgroup(r.cgroup).length > 0; i++) await sleep(100);
    await removeTree(r.dir);
    r.glusterdPid = null;
    return removed;
  }

  private findGlusterd(): number | null {
    const vol = join(this.rec.dir, 'glusterd.vol');
    const p = processTable().find(
      (e) => e.state !== 'Z' && /glusterd$/.test(e.argv[0] ?? '') && e.argv.includes(vol),
    );
    return p?.pid ?? null;
  }

  private async killRest(): Promise<void> {
    const dirArg = this.rec.dir + '/';
    const strays = processTable()
      .filter((p) => /gluster/.test(p.argv[0] ?? '') && p.argv.some((a) => a.includes(dirArg)))
      .map((p) => p.pid);
    const frozen = await freeze(this.rec.cgroup, 1_000);
    const pids = [...new Set([...pidsIn(this.rec.cgroup), ...strays])];
    signal(pids, 'SIGKILL');
    if (frozen) setFrozen(this.rec.cgroup, false);
    await waitGone(pids, 5_000);
  }

  private removeBrickLogs(): void {
    if (!existsSync(BRICK_LOG_DIR)) return;
    const names = new Set(this.rec.bricks.map((b) => `${b.slice(1).replace(/\//g, '-')}.log`));
    for (const f of readdirSync(BRICK_LOG_DIR)) {
      if (names.has(f) || [...names].some((n) => f.startsWith(n + '-')))
        rmSync(join(BRICK_LOG_DIR, f), { force: true });
    }
  }
}

/** True when `dir` holds a glusterd configuration written by GlusterVolume (for `down` without a state file). */
export function looksLikeGlusterDir(dir: string): boolean {
  return existsSync(join(dir, 'glusterd.vol'));
}
