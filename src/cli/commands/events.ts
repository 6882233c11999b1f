import type { Command } from 'commander';
import type { ClusterEvent } from '../../manager/events.ts';
import { readContext } from '../context.ts';
import { ManagerClient } from '../manager-client.ts';

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('what the manager decided and why: placements, migrations, checkpoints, failures, restores')
    .option('--container <name>', 'only events of this container')
    .option('-f, --follow', 'keep printing new events')
    .option('--json', 'one JSON object per line')
    .action(async (o: { container?: string; follow?: boolean; json?: boolean }) => {
      const c = await ManagerClient.open(readContext());
      let since = 0;
      for (;;) {
        const q = `/lifeboat/v1/events?since=${since}${o.container ? `&container=${encodeURIComponent(o.container)}` : ''}`;
        const evs = await c.request<ClusterEvent[]>('GET', q);
        for (const e of evs) {
          process.stdout.write(
            o.json ? JSON.stringify(e) + '\n' : `${e.time} ${e.type.padEnd(18)} ${e.message}\n`,
          );
          since = Math.max(since, e.seq);
        }
        if (!o.follow) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    });

  program
    .command('checkpoints')
    .description('checkpoint versions of a container on the shared store (groups and versions)')
    .command('ls <container>')
    .option('--json', 'print JSON')
    .action(async (container: string, o: { json?: boolean }) => {
      const c = await ManagerClient.open(readContext());
      const groups = await c.request<
        {
          group: number;
          versions: {
            version: number;
            size: number;
            createdAt: string;
            node: string;
            kind: string;
            note?: string;
          }[];
        }[]
      >('GET', `/lifeboat/v1/containers/${encodeURIComponent(container)}/checkpoints`);
      if (o.json) {
        process.stdout.write(JSON.stringify(groups, null, 2) + '\n');
        return;
      }
      if (groups.length === 0) process.stdout.write(`no checkpoints of ${container}\n`);
      for (const g of groups) {
        process.stdout.write(`group ${g.group}\n`);
        for (const v of g.versions) {
          process.stdout.write(
            `  v${v.version}  ${v.createdAt}  ${(v.size / 1e6).toFixed(1)} MB  ${v.kind}  from ${v.node}${v.note ? `  (${v.note})` : ''}\n`,
          );
        }
      }
    });
}
