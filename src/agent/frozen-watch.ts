import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../util/log.ts';

/** Where a container's freeze is controlled: cgroup v1's freezer, or cgroup v2's cgroup.freeze. */
interface FreezeFile {
  path: string;
  frozen: () => boolean;
  thaw: () => void;
}

const V1_FREEZER = '/sys/fs/cgroup/freezer';
const V2_ROOTS = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'];

function freezeFiles(cgroupParent: string): FreezeFile[] {
  const out: FreezeFile[] = [];
  const v1 = join(V1_FREEZER, cgroupParent);
  if (existsSync(v1)) {
    for (const e of readdirSync(v1, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const f = join(v1, e.name, 'freezer.state');
      if (!existsSync(f)) continue;
      out.push({
        path: join(cgroupParent, e.name),
        frozen: () => readFileSync(f, 'utf8').trim() !== 'THAWED',
        thaw: () => writeFileSync(f, 'THAWED'),
      });
    }
    return out;
  }
  for (const root of V2_ROOTS) {
    const v2 = join(root, cgroupParent);
    if (!existsSync(join(v2, 'cgroup.procs'))) continue;
    for (const e of readdirSync(v2, { withFileTypes: true })) {
      const f = join(v2, e.name, 'cgroup.freeze');
      if (!e.isDirectory() || !existsSync(f)) continue;
      out.push({
        path: join(cgroupParent, e.name),
        frozen: () => readFileSync(f, 'utf8').trim() === '1',
        thaw: () => writeFileSync(f, '0'),
      });
    }
    break;
  }
  return out;
}

/**
 * Finds containers left frozen and thaws them. CRIU freezes a container's
 * cgroup for its dump and thaws it after; when CRIU, runc or Podman's
 * service dies in between, nothing ever thaws it: the container is reported
 * running and serves nothing. A container of this host found frozen in two
 * scans in a row, with no dump by this agent started or running in between,
 * is thawed and the decision logged. (A dump by someone else freezes only
 * for its frozen time, far below the interval.) A container paused through
 * Podman (`docker pause`) is frozen on purpose and left alone.
 */
export class FrozenWatch {
  private suspects = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cgroupParent: string,
    /** Increments whenever a dump starts, with the number of dumps running now. */
    private readonly dumps: () => { started: number; running: number },
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    /** IDs of the containers Podman reports paused (`docker pause`): frozen on purpose, left alone. */
    private readonly paused: () => ReadonlySet<string> = () => new Set(),
  ) {}

  private lastStarted = -1;

  /** One scan; returns the cgroups thawed. */
  scan(): string[] {
    const { started, running } = this.dumps();
    const quiet = running === 0 && started === this.lastStarted;
    this.lastStarted = started;
    if (running > 0) {
      this.suspects.clear();
      return [];
    }
    const thawed: string[] = [];
    const frozenNow = new Set<string>();
    const paused = [...this.paused()];
    for (const f of freezeFiles(this.cgroupParent)) {
      if (paused.some((id) => f.path.includes(id))) continue;
      let frozen: boolean;
      try {
        frozen = f.frozen();
      } catch {
        continue;
      }
      if (!frozen) continue;
      frozenNow.add(f.path);
      if (quiet && this.suspects.has(f.path)) {
        try {
          f.thaw();
          thawed.push(f.path);
          this.log.warn('a container was left frozen by an interrupted checkpoint: thawed it', {
            cgroup: f.path,
            frozenForMs: `>${this.intervalMs}`,
          });
        } catch (err) {
          this.log.error('cannot thaw a container left frozen', { cgroup: f.path, error: String(err) });
        }
      }
    }
    this.suspects = new Set([...frozenNow].filter((p) => !thawed.includes(p)));
    return thawed;
  }

  start(): void {
    this.scan();
    this.timer = setInterval(() => this.scan(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
