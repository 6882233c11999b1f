import type { Command } from 'commander';
import { LocalCluster } from '../../devcluster/local-cluster.ts';
import { readContext } from '../context.ts';
import { ManagerClient } from '../manager-client.ts';

interface NodeSummary {
  name: string;
  address: string;
  status: string;
  lastHeartbeatMsAgo: number;
  containers: number;
  running: number;
  labels: Record<string, string>;
  capabilities: { canCheckpoint: boolean; canPreDump: boolean; softDirty: string; criu: string | null };
  availability?: string;
  clockOffsetMs?: number;
  store?: { sharing: 'shared' | 'private' | 'unverified'; apart: string[] };
}

/** Above this, `lifeboat node ls` warns: logs, events and checkpoint times stop lining up. */
const CLOCK_WARN_MS = 1000;

/** A host's clock against the manager's, e.g. `+0.02s` or `-31.4s !`. */
export function clockCell(offsetMs: number | undefined): string {
  if (offsetMs === undefined) return '?';
  const s = `${offsetMs >= 0 ? '+' : '-'}${(Math.abs(offsetMs) / 1000).toFixed(2)}s`;
  return Math.abs(offsetMs) > CLOCK_WARN_MS ? `${s} !` : s;
}

interface DrainLine {
  container: string;
  outcome: 'moving' | 'moved' | 'restarted' | 'left' | 'failed';
  to?: string;
  ms?: number;
  frozenMs?: number;
  why?: string;
}

interface DrainSummary {
  parallel: number;
  moved: { container: string }[];
  restarted: { container: string }[];
  left: { container: string; why: string }[];
  failed: { container: string; why: string }[];
}

/** Faults a local cluster takes from `lifeboat node ...` and from the dashboard's buttons. */
export const LOCAL_FAULTS: Record<
  'kill' | 'partition' | 'heal' | 'reboot',
  { what: string; run: (c: LocalCluster, host: string) => Promise<string> }
> = {
  kill: {
    what: 'power loss: every process of the host dies at once, nothing is cleaned up',
    run: async (c, h) => {
      const r = await c.host(h).kill();
      return `killed ${h}: ${r.killed} processes in ${r.ms} ms`;
    },
  },
  partition: {
    what: "take the host's link down (it keeps running, cut off)",
    run: async (c, h) => {
      await c.host(h).partition();
      return `${h} partitioned`;
    },
  },
  heal: {
    what: "bring the host's link back",
    run: async (c, h) => {
      await c.host(h).heal();
      return `${h} healed`;
    },
  },
  reboot: {
    what: 'fresh host processes (Podman, agent) over the old disk state',
    run: async (c, h) => {
      await c.host(h).reboot();
      return `${h} rebooted`;
    },
  },
};

export function localCluster(): LocalCluster {
  const ctx = readContext();
  return new LocalCluster(ctx.clusterRoot ? { root: ctx.clusterRoot } : {});
}

export function registerNode(program: Command): void {
  const node = program
    .command('node')
    .description('hosts of the cluster: list, drain and activate them; on a local cluster, inject faults');
  node
    .command('ls')
    .description('hosts with their state, containers and checkpoint capabilities')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const c = await ManagerClient.open(readContext());
      const nodes = await c.request<NodeSummary[]>('GET', '/lifeboat/v1/nodes');
      if (o.json) {
        process.stdout.write(JSON.stringify(nodes, null, 2) + '\n');
        return;
      }
      const rows = [
        [
          'NAME',
          'ADDRESS',
          'STATUS',
          'AVAILABILITY',
          'HEARTBEAT',
          'CLOCK',
          'CONTAINERS',
          'CHECKPOINT',
          'PRE-DUMP',
        ],
      ];
      for (const n of nodes) {
        rows.push([
          n.name,
          n.address,
          n.status,
          n.availability ?? 'active',
          `${(n.lastHeartbeatMsAgo / 1000).toFixed(1)}s ago`,
          clockCell(n.clockOffsetMs),
          `${n.running}/${n.containers}`,
          n.capabilities.canCheckpoint ? `yes (criu ${n.capabilities.criu})` : 'NO',
          n.capabilities.canPreDump ? 'yes' : 'no: kernel lacks soft-dirty tracking',
        ]);
      }
      const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows)
        process.stdout.write(
          r
            .map((c2, i) => c2.padEnd(w[i]!))
            .join('  ')
            .trimEnd() + '\n',
        );
      const privateStores = nodes.filter((n) => n.store?.sharing === 'private');
      if (privateStores.length)
        process.stderr.write(
          `warning: the checkpoint store of ${privateStores.map((n) => `${n.name} (not shared with ${n.store!.apart.join(', ')})`).join(', ')} ` +
            "is not the cluster's: its tickers are refused, its checkpoints would die with it; mount the same shared store on every host\n",
        );
      const skewed = nodes.filter((n) => Math.abs(n.clockOffsetMs ?? 0) > CLOCK_WARN_MS);
      if (skewed.length)
        process.stderr.write(
          `warning: the clock of ${skewed.map((n) => `${n.name} (${clockCell(n.clockOffsetMs).replace(' !', '')})`).join(', ')} ` +
            `differs from the manager's by more than ${CLOCK_WARN_MS / 1000} s: failure detection does not mind, but logs, events and ` +
            'checkpoint times will not line up; run NTP (chrony) on every host\n',
        );
    });
  node
    .command('drain <host>')
    .description(
      'empty a host live for maintenance: it takes no new container, its containers move elsewhere',
    )
    .option(
      '--force',
      'restart restore-policy containers that cannot move live (bind mounts, host network, devices) elsewhere without their state',
    )
    .option('--parallel <n>', 'moves at a time; auto: from the source CPUs and the number of targets', 'auto')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The host is marked drained at once (\`lifeboat node ls\`, \`docker info\`): the
scheduler places nothing on it. Then each running container moves live to the
host its own constraints and affinities pick, --parallel at a time, and the
summary says what moved, what restarted, what stayed and why. Stopped
containers, and containers that use something of the host (a bind-mounted
path, the host's network, devices), stay unless --force restarts the latter
elsewhere when they have a restore policy. A drain survives a manager
failover: the new leader finishes it. \`lifeboat node activate HOST\` ends it.`,
    )
    .action(async (host: string, o: { force?: boolean; parallel: string; json?: boolean }) => {
      const c = await ManagerClient.open(readContext());
      const q = new URLSearchParams({ parallel: o.parallel, ...(o.force ? { force: '1' } : {}) });
      const t0 = Date.now();
      let failedLine: { message: string; hint?: string } | undefined;
      const last = await c.request<{ result?: DrainSummary; error?: { message: string; hint?: string } }>(
        'POST',
        `/lifeboat/v1/nodes/${encodeURIComponent(host)}/drain?${q.toString()}`,
        undefined,
        (line) => {
          const l = line as { event?: DrainLine; error?: { message: string; hint?: string } };
          if (l.error) failedLine = l.error;
          if (!l.event || o.json) return;
          const e = l.event;
          const mark = { moving: '…', moved: '✔', restarted: '↻', left: '–', failed: '✘' }[e.outcome] ?? ' ';
          const what =
            e.outcome === 'moving'
              ? 'moving live'
              : e.outcome === 'moved'
                ? `moved to ${e.to} in ${e.ms} ms${e.frozenMs === undefined ? '' : ` (frozen ~${e.frozenMs} ms)`}`
                : e.outcome === 'restarted'
                  ? `restarted on ${e.to} without its state`
                  : `${e.outcome}: ${e.why}`;
          process.stdout.write(`  ${mark} ${e.container}: ${what}\n`);
        },
      );
      if (failedLine || !last.result) {
        process.stderr.write(`drain of ${host} failed: ${failedLine?.message ?? 'no result'}\n`);
        if (failedLine?.hint) process.stderr.write(`hint: ${failedLine.hint}\n`);
        process.exitCode = 1;
        return;
      }
      const r = last.result;
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      } else {
        process.stdout.write(
          `${host} drained in ${Date.now() - t0} ms: ${r.moved.length} moved live, ${r.restarted.length} restarted, ` +
            `${r.left.length} left, ${r.failed.length} failed (${r.parallel} at a time)\n` +
            (r.left.length + r.failed.length
              ? [...r.left, ...r.failed].map((x) => `  ${x.container}: ${x.why}`).join('\n') + '\n'
              : '') +
            `it takes no new container until \`lifeboat node activate ${host}\`\n`,
        );
      }
      if (r.failed.length) process.exitCode = 1;
    });
  node
    .command('activate <host>')
    .description('end a drain: the host takes new containers again')
    .action(async (host: string) => {
      const c = await ManagerClient.open(readContext());
      const r = await c.request<{ wasDrained: boolean }>(
        'POST',
        `/lifeboat/v1/nodes/${encodeURIComponent(host)}/activate`,
      );
      process.stdout.write(r.wasDrained ? `${host} is active again\n` : `${host} was not drained\n`);
    });
  node
    .command('rm <host>')
    .description('remove a host: revoke its certificates (refused at once, by every manager) and forget it')
    .option(
      '--force',
      'also a host that is up: it is cut off as if it had failed, its containers restored elsewhere',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
A host that is up is refused without --force: drain it first (lifeboat node drain HOST)
and stop its agent. Its record stays while containers are recorded on it; run rm again
once they were restored elsewhere. The host comes back by joining again with a token.

Examples:
  lifeboat node drain node3 && lifeboat node rm node3
  lifeboat node rm node3 --force`,
    )
    .action(async (host: string, o: { force?: boolean; json?: boolean }) => {
      const c = await ManagerClient.open(readContext());
      const r = await c.request<{
        name: string;
        revoked: { serial: string }[];
        recordRemoved: boolean;
        note?: string;
      }>('DELETE', `/lifeboat/v1/nodes/${encodeURIComponent(host)}${o.force ? '?force=1' : ''}`);
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        `${host}: ${r.revoked.length} certificate(s) revoked${r.revoked.length ? ` (${r.revoked.map((x) => x.serial).join(', ')})` : ''}; ` +
          (r.recordRemoved ? 'removed from the cluster\n' : `record kept: ${r.note ?? 'it has none'}\n`),
      );
    });
  for (const [name, f] of Object.entries(LOCAL_FAULTS)) {
    node
      .command(`${name} <host>`)
      .description(f.what)
      .action(async (host: string) => {
        const c = localCluster();
        c.host(host);
        process.stdout.write((await f.run(c, host)) + '\n');
      });
  }
}
