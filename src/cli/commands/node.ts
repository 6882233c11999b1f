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
    .description('hosts of the cluster: list them; on a local cluster, inject faults');
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
      const rows = [['NAME', 'ADDRESS', 'STATUS', 'HEARTBEAT', 'CONTAINERS', 'CHECKPOINT', 'PRE-DUMP']];
      for (const n of nodes) {
        rows.push([
          n.name,
          n.address,
          n.status,
          `${(n.lastHeartbeatMsAgo / 1000).toFixed(1)}s ago`,
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
