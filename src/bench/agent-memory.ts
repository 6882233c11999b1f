import { readFileSync, writeFileSync } from 'node:fs';
import type { BenchCluster } from './bench-cluster.ts';

/**
 * Peak resident memory of the bench hosts' agents over an interval: each
 * agent's high-water mark (VmHWM) is reset when this is called
 * (/proc/PID/clear_refs), `peakMB()` reads the largest since.
 */
export function agentPeakRss(c: BenchCluster): { peakMB: () => number } {
  const pids = c.up.hosts.flatMap((h) =>
    c.local
      .host(h.name)
      .processes.filter((p) => p.role === 'agent')
      .map((p) => p.pid),
  );
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // the agent is gone (a host killed by a fault bench): nothing to measure
    }
  }
  return {
    peakMB: () => {
      const kb = pids
        .map((pid) => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
            return m ? Number(m[1]) : NaN;
          } catch {
            return NaN;
          }
        })
        .filter(Number.isFinite);
      return kb.length ? Math.max(...kb) / 1024 : NaN;
    },
  };
}
