import { Option, type Command } from 'commander';
import type { MigrationResult, MigrationStep } from '../../manager/migrate.ts';
import { LifeboatError, ValidationError } from '../../util/errors.ts';
import { readContext } from '../context.ts';
import { ManagerClient } from '../manager-client.ts';

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

const MARK: Record<string, string> = { running: '…', ok: '✔', skipped: '–', failed: '✖' };

function stepLine(s: MigrationStep): string {
  const ms = s.status === 'running' ? '' : ` (${s.ms} ms)`;
  return `  ${MARK[s.status] ?? '?'} ${s.n}. ${s.title}${ms}${s.detail ? `: ${s.detail}` : ''}`;
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate <container>')
    .description('move a running container, memory and filesystem changes included, to another host')
    .option('--to <host>', 'target host (otherwise the scheduler chooses)')
    .option(
      '-e, --env <expr>',
      'extra Swarm filter for this move, e.g. constraint:region==eu (repeatable)',
      collect,
    )
    .option('-l, --label <key=value>', 'extra label for scheduling (repeatable)', collect)
    .option(
      '--via <how>',
      'stream (the target agent fetches from the source agent) or store (through the shared checkpoint store)',
      'stream',
    )
    .addOption(
      new Option(
        '--compression <how>',
        "stream compression between the agents: none, gzip (level 1), auto (gzip when the link is slower than the source compresses); default: the manager's",
      ).choices(['none', 'gzip', 'auto']),
    )
    .option(
      '--with-network',
      'move every container that shares a network or a volume with this one too, to the same host (a compose project as a unit)',
    )
    .option(
      '--keep-connections',
      "its clients' established connections must survive: refused before anything is frozen unless it is on the cluster network (docker run --network lifeboat), whose address follows it",
    )
    .option('--json', 'print the result (steps, timings, CRIU statistics) as JSON')
    .addHelpText(
      'after',
      `
The nine steps of the thesis (3.3) are shown as they happen. If a step after
the freeze fails, the container is restored on its source host and the error
names the step. A container on a user-defined network or with a named volume
moves alone only when no other container uses them; --with-network moves the
whole group, one after the other (a failure moves the moved ones back). Example:
  lifeboat migrate cache --to node2
  lifeboat migrate proj_redis_1 --with-network
  lifeboat migrate cache -e constraint:zone!=node1 --json`,
    )
    .action(
      async (
        container: string,
        o: {
          to?: string;
          env?: string[];
          label?: string[];
          via: string;
          compression?: string;
          withNetwork?: boolean;
          keepConnections?: boolean;
          json?: boolean;
        },
      ) => {
        if (o.via !== 'stream' && o.via !== 'store')
          throw new ValidationError(`--via ${o.via}: use stream or store`);
        const labels: Record<string, string> = {};
        for (const l of o.label ?? []) {
          const i = l.indexOf('=');
          if (i <= 0) throw new ValidationError(`--label ${l}: expected key=value`);
          labels[l.slice(0, i)] = l.slice(i + 1);
        }
        const env = (o.env ?? []).map((e) => (/^(constraint|affinity):/.test(e) ? e : `constraint:${e}`));
        const c = await ManagerClient.open(readContext());
        const tty = process.stderr.isTTY && !o.json;
        let shown = 0;
        let member: string | undefined;
        let final: { result?: MigrationResult; error?: { message: string; code: string; hint?: string } } =
          {};
        await c.request(
          'POST',
          `/lifeboat/v1/containers/${encodeURIComponent(container)}/migrate`,
          {
            env,
            labels,
            via: o.via,
            ...(o.to ? { to: o.to } : {}),
            ...(o.compression ? { compression: o.compression } : {}),
            ...(o.withNetwork ? { withNetwork: true } : {}),
            ...(o.keepConnections ? { keepConnections: true } : {}),
          },
          (line) => {
            const l = line as {
              step?: MigrationStep;
              result?: MigrationResult;
              error?: { message: string; code: string; hint?: string };
            };
            if (l.step && !o.json) {
              if (tty && l.step.status !== 'running' && shown > 0) process.stderr.write('\x1b[1A\x1b[2K');
              if (l.step.container && l.step.container !== member) {
                member = l.step.container;
                process.stderr.write(`${member}:\n`);
                shown = 0;
              }
              if (tty || l.step.status !== 'running') process.stderr.write(stepLine(l.step) + '\n');
              shown++;
            }
            if (l.result || l.error) final = l;
          },
        );
        if (final.error) {
          if (o.json) process.stdout.write(JSON.stringify(final, null, 2) + '\n');
          throw new LifeboatError(
            final.error.code,
            final.error.message,
            final.error.hint ? { hint: final.error.hint } : {},
          );
        }
        const r = final.result!;
        if (o.json) {
          process.stdout.write(JSON.stringify(r, null, 2) + '\n');
          return;
        }
        if (r.group) {
          for (const g of r.group)
            process.stdout.write(
              `migrated ${g.container} from ${g.from} to ${g.to} in ${g.totalMs} ms` +
                (g.frozenTimeUs === undefined
                  ? ''
                  : ` (CRIU frozen ${(g.frozenTimeUs / 1000).toFixed(0)} ms)`) +
                '\n',
            );
          process.stdout.write(
            `moved the group of ${r.container} (${r.group.length} containers) in ${r.totalMs} ms\n`,
          );
          return;
        }
        const p = r.phases;
        process.stdout.write(
          `migrated ${r.container} from ${r.from} to ${r.to} in ${r.totalMs} ms (generation ${r.generation})\n` +
            `  checkpoint ${p.checkpointMs} ms, transfer ${p.transferMs} ms, restore ${p.restoreMs} ms, remove ${p.removeMs} ms` +
            (r.criu.frozenTimeUs !== undefined
              ? `; CRIU frozen ${(r.criu.frozenTimeUs / 1000).toFixed(0)} ms`
              : '') +
            `; archive ${(r.archiveBytes / 1e6).toFixed(1)} MB` +
            (r.compression === 'gzip' ? ` (${(r.wireBytes / 1e6).toFixed(1)} MB gzip on the wire)` : '') +
            `, ${r.mode === 'prepared' ? 'restored into a container created before the freeze' : "Podman's export/import"}\n`,
        );
      },
    );
}
