import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pidsIn } from '../devcluster/cgroups.ts';
import type { LocalCluster } from '../devcluster/local-cluster.ts';
import { signal, waitGone, withDescendants } from '../devcluster/processes.ts';
import { LifeboatError } from '../util/errors.ts';
import type { FaultKind, PlannedFault } from './chaos-schedule.ts';

/**
 * Injecting the chaos bench's faults into a local cluster, each with its
 * undo: power loss (boot again), partition (heal), reboot, agent kill (an
 * init system restarts it), manager or etcd member kill (restarted with the
 * same arguments), slow disk (cgroup v1 blkio throttling of every process of
 * a host). What this machine cannot do is reported by `unsupportedFaults`
 * with the reason, never imitated.
 */
export type Undo = () => Promise<void>;

const BLKIO = '/sys/fs/cgroup/blkio';
/** The slow disk: this many bytes and operations per second, each way. */
export const SLOW_DISK_BPS = 1_048_576;
export const SLOW_DISK_IOPS = 50;

/** major:minor of the block device under `path` (from mountinfo), if it has one. */
export function blockDeviceOf(
  path: string,
  mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'),
): string | undefined {
  const abs = resolve(path);
  let best: { mount: string; dev: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const dev = f[2];
    const mount = f[4];
    if (!dev || !mount) continue;
    const inside = mount === '/' || abs === mount || abs.startsWith(mount + '/');
    if (inside && (!best || mount.length >= best.mount.length)) best = { mount, dev };
  }
  return best && !best.dev.startsWith('0:') ? best.dev : undefined;
}

/** Kinds this machine and build cannot inject, with the reason (shown in the report). */
export function unsupportedFaults(clusterRoot: string): Map<FaultKind, string> {
  const out = new Map<FaultKind, string>();
  out.set(
    'store-full',
    "the bench's store is a directory on this machine's own disk, which filling would fill (the quota and free-space refusals have their own tests)",
  );
  if (!existsSync(join(BLKIO, 'blkio.throttle.write_bps_device')))
    out.set(
      'slow-disk',
      existsSync('/sys/fs/cgroup/cgroup.controllers')
        ? 'cgroup v2 only: the io controller (io.max) is not handled by this bench'
        : 'no cgroup v1 blkio hierarchy with throttling at /sys/fs/cgroup/blkio',
    );
  else if (!blockDeviceOf(clusterRoot))
    out.set(
      'slow-disk',
      `the cluster root ${clusterRoot} is on a filesystem without a block device (tmpfs?)`,
    );
  return out;
}

export class FaultInjector {
  constructor(
    private readonly local: LocalCluster,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts the fault; the returned function undoes it. */
  async inject(f: PlannedFault): Promise<Undo> {
    switch (f.kind) {
      case 'power-loss':
        return this.powerLoss(f.target);
      case 'reboot':
        await this.local.host(f.target).reboot();
        return async () => undefined;
      case 'partition': {
        const h = this.local.host(f.target);
        await h.partition();
        return () => h.heal();
      }
      case 'agent-kill':
        return this.agentKill(f.target);
      case 'manager-kill':
      case 'etcd-kill':
        return this.rootProcessKill(f.target);
      case 'slow-disk':
        return this.slowDisk(f.target);
      case 'store-full':
        throw new LifeboatError('chaos_unsupported', 'store-full is not injected on this machine');
    }
  }

  private async powerLoss(name: string): Promise<Undo> {
    const h = this.local.host(name);
    const r = await h.kill();
    this.log(`    ${name}: ${r.killed} processes killed in ${r.ms} ms`);
    return async () => {
      await h.reboot();
    };
  }

  private async agentKill(name: string): Promise<Undo> {
    const h = this.local.host(name);
    const rec = h.processes.find((p) => p.role === 'agent');
    if (!rec) throw new LifeboatError('chaos_no_agent', `host ${name} has no agent process recorded`);
    const pids = withDescendants([rec.pid]);
    signal(pids, 'SIGKILL');
    await waitGone(pids, 5_000);
    return async () => {
      if (h.power !== 'running') return;
      h.spawnInHost(rec.cmd, rec.args, { role: 'agent', logFile: rec.logFile, restartOnBoot: true });
    };
  }

  /** SIGKILL of a manager replica or etcd member; the undo starts it again with the same arguments and data. */
  private async rootProcessKill(role: string): Promise<Undo> {
    const rec = this.local.recorded?.processes.find((p) => p.role === role);
    if (!rec) throw new LifeboatError('chaos_no_process', `no cluster process ${role} recorded`);
    const pids = withDescendants([rec.pid, ...pidsIn(rec.cgroup)]);
    signal(pids, 'SIGKILL');
    await waitGone(pids, 5_000);
    return async () => {
      this.local.spawnInRoot(role, rec.cmd, rec.args, { logFile: rec.logFile });
    };
  }

  /**
   * cgroup v1 throttling is not hierarchical here: the limits go on every
   * blkio cgroup a process of the host sits in. Podman and the agent sit in
   * the root blkio cgroup, so they move into <host cgroup>/host first. The
   * limits are re-applied every second to catch containers restored onto the
   * host meanwhile. Buffered writes reach the disk through the kernel's
   * flusher and escape v1 throttling; fsync'd writes and reads do not.
   */
  private async slowDisk(name: string): Promise<Undo> {
    const h = this.local.host(name);
    const dev = blockDeviceOf(this.local.root);
    if (!dev) throw new LifeboatError('chaos_unsupported', 'no block device under the cluster root');
    const throttled = new Set<string>();
    const hostDir = join(BLKIO, h.cgroupParent, 'host');
    const apply = (): void => {
      if (h.power !== 'running') return;
      mkdirSync(hostDir, { recursive: true });
      for (const pid of h.pids()) {
        const rel = blkioCgroupOf(pid);
        if (rel === undefined) continue;
        let dir = join(BLKIO, rel);
        if (!rel.startsWith(h.cgroupParent)) {
          try {
            writeFileSync(join(hostDir, 'cgroup.procs'), String(pid));
          } catch {
            continue; // gone meanwhile
          }
          dir = hostDir;
        }
        if (throttled.has(dir)) continue;
        try {
          setThrottle(dir, dev, SLOW_DISK_BPS, SLOW_DISK_IOPS);
          throttled.add(dir);
        } catch {
          // the cgroup went away with its container
        }
      }
    };
    apply();
    this.log(
      `    ${name}: ${throttled.size} blkio cgroups throttled to ${SLOW_DISK_BPS / 1_048_576} MiB/s, ${SLOW_DISK_IOPS} IOPS`,
    );
    const timer = setInterval(apply, 1_000);
    return async () => {
      clearInterval(timer);
      for (const dir of throttled) {
        try {
          setThrottle(dir, dev, 0, 0);
        } catch {
          // removed with its container
        }
      }
    };
  }
}

/** The blkio cgroup of a process, relative (e.g. /lifeboat_c1/libpod-abc), from /proc/PID/cgroup. */
function blkioCgroupOf(pid: number): string | undefined {
  try {
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
      const [, controllers, path] = line.split(':');
      if (controllers?.split(',').includes('blkio')) return path;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** 0 lifts a limit. */
function setThrottle(dir: string, dev: string, bps: number, iops: number): void {
  writeFileSync(join(dir, 'blkio.throttle.read_bps_device'), `${dev} ${bps}`);
  writeFileSync(join(dir, 'blkio.throttle.write_bps_device'), `${dev} ${bps}`);
  writeFileSync(join(dir, 'blkio.throttle.read_iops_device'), `${dev} ${iops}`);
  writeFileSync(join(dir, 'blkio.throttle.write_iops_device'), `${dev} ${iops}`);
}
