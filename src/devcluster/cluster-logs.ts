import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The logs of a local cluster, for the post-mortem of a failed run: they
 * live under its root (`logs/` for the managers and etcd, `hosts/<name>/logs/`
 * for each host's agent and Podman) and go with it at `down`.
 */

/** Every log directory of the cluster at `root`: [label, directory]. */
function logDirs(root: string): [string, string][] {
  const dirs: [string, string][] = [['cluster', join(root, 'logs')]];
  const hosts = join(root, 'hosts');
  for (const h of existsSync(hosts) ? readdirSync(hosts) : []) dirs.push([h, join(hosts, h, 'logs')]);
  return dirs.filter(([, d]) => existsSync(d));
}

/** Copies the cluster's logs to `dest` (`dest/cluster`, `dest/<host>`); false when there was nothing to copy. */
export function copyClusterLogs(root: string, dest: string): boolean {
  const dirs = logDirs(root);
  for (const [label, dir] of dirs) cpSync(dir, join(dest, label), { recursive: true });
  return dirs.length > 0;
}

/**
 * The last `max` warnings and errors of each lifeboat log of the cluster
 * (managers and agents), headed by the file they come from: what a CI log
 * should show of a failed run.
 */
export function clusterLogWarnings(root: string, max = 30): string {
  const out: string[] = [];
  for (const [label, dir] of logDirs(root)) {
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort()) {
      let lines: string[];
      try {
        lines = readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .filter((l) => / (WARN|ERROR) /.test(l));
      } catch {
        continue;
      }
      if (lines.length === 0) continue;
      out.push(
        `--- ${label}/${f}: last ${Math.min(max, lines.length)} of ${lines.length} warnings and errors`,
      );
      out.push(...lines.slice(-max));
    }
  }
  return out.join('\n');
}
