import type { Command } from 'commander';
import { ValidationError } from '../../util/errors.ts';
import { readContext } from '../context.ts';
import { ManagerClient } from '../manager-client.ts';

interface Move {
  container: string;
  from: string;
  to: string;
}

interface Line {
  plan?: { moves: Move[]; emptied: string[]; kept: { host: string; why: string }[] };
  move?: Move & { outcome: 'moved' | 'failed'; ms?: number; why?: string };
  result?: { done: Move[]; failed: Move[]; emptied: string[] };
  error?: { message: string; hint?: string };
}

export function registerRebalance(program: Command): void {
  program
    .command('rebalance')
    .description(
      'pack containers onto fewer hosts (so the others can power down), or spread them out again, by live moves',
    )
    .option('--pack', 'empty the least-loaded hosts into the others, whole hosts only')
    .option('--spread', 'move from the fullest host to the emptiest while that narrows the gap')
    .option('--dry-run', 'print the plan, move nothing')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      `
Every move is a live migration placed by the container's own constraints and
affinities, ports and container slots (the thesis' future work on power-aware
placement). --pack plans with the binpack strategy, one host at a time, and
only empties a host whole: a host with a container that cannot move live (a
bind mount, the host's network, devices) or that fits nowhere else is kept,
with the reason. Drained hosts take nothing. The summary names the hosts that
run nothing now.`,
    )
    .action(async (o: { pack?: boolean; spread?: boolean; dryRun?: boolean; json?: boolean }) => {
      if (Boolean(o.pack) === Boolean(o.spread))
        throw new ValidationError('give exactly one of --pack and --spread');
      const mode = o.pack ? 'pack' : 'spread';
      const c = await ManagerClient.open(readContext());
      let error: Line['error'];
      const last = await c.request<Line>(
        'POST',
        `/lifeboat/v1/rebalance?mode=${mode}${o.dryRun ? '&dryRun=1' : ''}`,
        undefined,
        (raw) => {
          const l = raw as Line;
          if (l.error) error = l.error;
          if (o.json) return;
          if (l.plan) {
            const p = l.plan;
            process.stdout.write(
              `plan (${mode}): ${p.moves.length} live move(s)` +
                (mode === 'pack' ? `, empties ${p.emptied.join(', ') || 'no host'}` : '') +
                '\n' +
                p.moves.map((m) => `  ${m.container}: ${m.from} -> ${m.to}\n`).join('') +
                p.kept.map((k) => `  keeps ${k.host}: ${k.why}\n`).join(''),
            );
          }
          if (l.move)
            process.stdout.write(
              l.move.outcome === 'moved'
                ? `  ✔ ${l.move.container} moved to ${l.move.to} in ${l.move.ms} ms\n`
                : `  ✘ ${l.move.container}: ${l.move.why} (it stays on ${l.move.from})\n`,
            );
        },
      );
      if (error || !last.result) {
        process.stderr.write(`rebalance failed: ${error?.message ?? 'no result'}\n`);
        process.exitCode = 1;
        return;
      }
      if (o.json) {
        process.stdout.write(JSON.stringify(last.result, null, 2) + '\n');
        return;
      }
      const r = last.result;
      if (o.dryRun) process.stdout.write('dry run: nothing moved\n');
      else
        process.stdout.write(
          `${r.done.length} moved, ${r.failed.length} failed` +
            (mode === 'pack'
              ? `; empty now: ${r.emptied.join(', ') || 'none'}${r.emptied.length ? ' (could be powered down)' : ''}`
              : '') +
            '\n',
        );
      if (r.failed.length) process.exitCode = 1;
    });
}
