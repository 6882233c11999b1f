import { existsSync, readdirSync, rmdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The cgroup parent of a simulated host's containers (cgroup v1 hierarchies
 * plus the unified one). With every process of a host inside it, a freeze +
 * SIGKILL of all its PIDs is a faithful power loss.
 */
const CGROUP_ROOT = '/sys/fs/cgroup';

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

export function setFrozen(rel: string, frozen: boolean): boolean {
  const f = join(CGROUP_ROOT, 'freezer', rel, 'freezer.state');
  if (!existsSync(f)) return false;
  writeFileSync(f, frozen ? 'FROZEN' : 'THAWED');
  return true;
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
  for (const h of hierarchies()) rm(join(h, rel));
  return left;
}
