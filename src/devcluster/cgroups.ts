import {
  existsSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  statSync,
  writeFileSync,
  readFileSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * The cgroup parent of a simulated host's containers (cgroup v1 hierarchies
 * plus the unified one). With every process of a host inside it, a freeze +
 * SIGKILL of all its PIDs is a faithful power loss.
 */
const CGROUP_ROOT = '/sys/fs/cgroup';
const FREEZER = join(CGROUP_ROOT, 'freezer');

function hierarchies(): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  return readdirSync(CGROUP_ROOT)
    .map((h) => join(CGROUP_ROOT, h))
    .filter((p) => {
      try {
        return statSync(p).isDirectory() && existsSync(join(p, 'cgroup.procs'));
      } catch {
        return false;
      }
    });
}

/** Every PID in the cgroup subtree `rel` (e.g. /lifeboat_node1) of one hierarchy. */
export function pidsIn(rel: string, hierarchy = join(CGROUP_ROOT, 'freezer')): number[] {
  const out: number[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    try {
      for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l) out.push(Number(l));
    } catch {
      return;
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(join(hierarchy, rel));
  return out;
}

/**
 * Freezes or thaws the subtree `rel`. Thawing reaches every descendant: a
 * container CRIU froze by itself (a dump cut short by a power loss) stays
 * frozen when only its parent is thawed, and its killed processes would
 * never die.
 */
export function setFrozen(rel: string, frozen: boolean): boolean {
  const f = join(FREEZER, rel, 'freezer.state');
  if (!existsSync(f)) return false;
  if (frozen) {
    writeFileSync(f, 'FROZEN');
    return true;
  }
  const thaw = (dir: string): void => {
    try {
      writeFileSync(join(dir, 'freezer.state'), 'THAWED');
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) thaw(join(dir, e.name));
    } catch {
      // removed meanwhile
    }
  };
  thaw(join(FREEZER, rel));
  return true;
}

/**
 * Freezes the subtree `rel` and waits until the kernel reports it FROZEN, so
 * that nothing in it can fork or react while it is being killed.
 */
export async function freeze(rel: string, timeoutMs = 3_000): Promise<boolean> {
  if (!setFrozen(rel, true)) return false;
  const f = join(FREEZER, rel, 'freezer.state');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (readFileSync(f, 'utf8').trim() === 'FROZEN') return true;
    } catch {
      return false;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/** Creates the freezer cgroup `rel` (and its parents); returns its cgroup.procs file. */
export function ensureFreezerCgroup(rel: string): string {
  const dir = join(FREEZER, rel);
  mkdirSync(dir, { recursive: true });
  return join(dir, 'cgroup.procs');
}

export function freezerProcsFile(rel: string): string {
  return join(FREEZER, rel, 'cgroup.procs');
}

/**
 * A shell prefix that moves itself into the freezer cgroup `rel`, then execs
 * the command that follows: the process is inside the cgroup before it can
 * fork anything (writing its PID afterwards would race with its children).
 */
export function enterCgroupArgs(rel: string, label: string): string[] {
  return ['sh', '-c', `echo $$ > '${freezerProcsFile(rel)}' && exec "$@"`, label];
}

/** Top-level cgroups (in any hierarchy) whose name matches, e.g. /^lifeboat_node\d+$/. */
export function topLevelCgroups(match: RegExp): string[] {
  const out = new Set<string>();
  for (const h of hierarchies()) {
    try {
      for (const e of readdirSync(h, { withFileTypes: true }))
        if (e.isDirectory() && match.test(e.name)) out.add(e.name);
    } catch {
      // hierarchy vanished
    }
  }
  return [...out].map((n) => `/${n}`);
}

/** Whether the cgroup `rel` exists in any hierarchy. */
export function cgroupExists(rel: string): boolean {
  return hierarchies().some((h) => existsSync(join(h, rel)));
}

/** Removes the cgroup subtree `rel` in every hierarchy (children first); leaves populated ones. */
export function removeCgroup(rel: string): string[] {
  const left: string[] = [];
  const rm = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rm(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      left.push(dir);
    }
  };
  // a frozen subtree keeps its (killed) processes, and a populated cgroup cannot go
  setFrozen(rel, false);
  for (const h of hierarchies()) rm(join(h, rel));
  return left;
}
