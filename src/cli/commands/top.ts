import type { Command } from 'commander';
import { formatDuration, parseDuration } from '../../policy/duration.ts';
import { readContext } from '../context.ts';
import { ManagerClient } from '../manager-client.ts';

interface Overview {
  manager: string;
  leader?: string;
  time: string;
  nodes: {
    name: string;
    address: string;
    status: string;
    lastHeartbeatMsAgo: number;
    running: number;
    containers: number;
  }[];
  containers: {
    name: string;
    node: string;
    phase: string;
    restorePolicy?: string;
    ticker?: { intervalMs: number };
    checkpoint?: { version: number; group: number; lastCheckpointAt?: string };
  }[];
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The dashboard's view as text: hosts, then containers by host. */
export function renderTop(o: Overview, now = Date.now()): string {
  const hosts = [['HOST', 'ADDRESS', 'STATUS', 'HEARTBEAT', 'RUNNING']];
  for (const n of o.nodes)
    hosts.push([
      n.name,
      n.address,
      n.status,
      `${(n.lastHeartbeatMsAgo / 1000).toFixed(1)}s ago`,
      `${n.running}/${n.containers}`,
    ]);
  const ctrs = [['CONTAINER', 'HOST', 'PHASE', 'POLICY', 'EVERY', 'NEWEST CHECKPOINT']];
  const order = new Map(o.nodes.map((n, i) => [n.name, i]));
  for (const c of [...o.containers].sort(
    (a, b) => (order.get(a.node) ?? 99) - (order.get(b.node) ?? 99) || a.name.localeCompare(b.name),
  )) {
    const at = c.checkpoint?.lastCheckpointAt;
    ctrs.push([
      c.name,
      c.node,
      c.phase,
      c.restorePolicy ?? '-',
      c.ticker ? formatDuration(c.ticker.intervalMs) : '-',
      at ? `v${c.checkpoint!.version} ${((now - Date.parse(at)) / 1000).toFixed(1)}s ago` : '-',
    ]);
  }
  return (
    `lifeboat · leader ${o.leader ?? 'unknown'} · answered by ${o.manager} · ${new Date(now).toISOString()}\n\n` +
    table(hosts) +
    '\n\n' +
    (o.containers.length ? table(ctrs) : 'no containers') +
    '\n'
  );
}

export function registerTop(program: Command): void {
  program
    .command('top')
    .description("the dashboard's view in the terminal: hosts and containers, refreshed")
    .option('--every <duration>', 'refresh interval', '2s')
    .option('--once', 'print once and exit (for scripts and logs)')
    .option('--json', "print the manager's overview as JSON once")
    .addHelpText(
      'after',
      '\nHosts with their state and last heartbeat; containers by host with their phase, restore policy,\n' +
        'checkpoint interval and newest checkpoint. `lifeboat dashboard` shows the same in a browser.',
    )
    .action(async (o: { every: string; once?: boolean; json?: boolean }) => {
      const every = parseDuration(o.every, '--every');
      const c = await ManagerClient.open(readContext());
      const get = (): Promise<Overview> => c.request<Overview>('GET', '/lifeboat/v1/overview');
      if (o.json) {
        process.stdout.write(JSON.stringify(await get(), null, 2) + '\n');
        return;
      }
      if (o.once || !process.stdout.isTTY) {
        process.stdout.write(renderTop(await get()));
        return;
      }
      let stop = false;
      process.once('SIGINT', () => (stop = true));
      while (!stop) {
        let text: string;
        try {
          text = renderTop(await get());
        } catch (err) {
          text = `cannot reach the manager: ${(err as Error).message}\n`;
        }
        process.stdout.write('\x1b[H\x1b[2J' + text);
        await new Promise((r) => setTimeout(r, every));
      }
    });
}
