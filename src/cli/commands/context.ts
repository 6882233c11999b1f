import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { LifeboatError, ValidationError, errorMessage } from '../../util/errors.ts';
import { DEFAULT_CONTEXT, readContext, writeContext, type CliContext } from '../context.ts';
import { ManagerClient } from '../manager-client.ts';

/** Named contexts live beside the current one: <dir of the context file>/contexts/NAME.json. */
export function contextsDir(current = DEFAULT_CONTEXT): string {
  return join(dirname(current), 'contexts');
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function named(name: string): string {
  if (!NAME.test(name))
    throw new ValidationError(`context name ${JSON.stringify(name)}: use letters, digits, . _ -`);
  return join(contextsDir(), `${name}.json`);
}

interface ManagerState {
  url: string;
  state: 'leader' | 'replica' | 'unreachable';
  name?: string;
  error?: string;
}

/** Each manager of the context, asked who it is and whether it leads. */
async function probe(ctx: CliContext): Promise<ManagerState[]> {
  const urls = [ctx.managerUrl, ...(ctx.managerUrls ?? []).filter((u) => u !== ctx.managerUrl)];
  return Promise.all(
    urls.map(async (url): Promise<ManagerState> => {
      try {
        const c = await ManagerClient.open({ ...ctx, managerUrl: url, managerUrls: [url] });
        const r = await c.request<{ self: string; isLeader: boolean }>('GET', '/lifeboat/v1/leader');
        return { url, state: r.isLeader ? 'leader' : 'replica', name: r.self };
      } catch (err) {
        return { url, state: 'unreachable', error: errorMessage(err) };
      }
    }),
  );
}

export function registerContext(program: Command): void {
  const cmd = program
    .command('context')
    .description(
      'the cluster the CLI talks to: its managers (any replica serves), certificates and DOCKER_HOST',
    )
    .addHelpText(
      'after',
      `
Without a subcommand (show): the current context and each of its managers
(leader, replica or unreachable). The CLI tries the managers in turn: when
one is down any other serves (replicas forward to the leader). \`lifeboat up\`
writes the current context; save clusters by name and switch between them:
  lifeboat context create prod --manager https://10.0.0.1:7440,https://10.0.0.2:7440 \\
    --pki ~/.lifeboat/alice --docker-host tcp://10.0.0.1:2376
  lifeboat context use prod
  lifeboat context ls`,
    );

  cmd
    .command('show', { isDefault: true })
    .description('the current context and whether each manager answers')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const ctx = readContext();
      const managers = await probe(ctx);
      if (o.json) {
        process.stdout.write(JSON.stringify({ file: DEFAULT_CONTEXT, ...ctx, managers }, null, 2) + '\n');
        return;
      }
      const lines = [
        `context ${DEFAULT_CONTEXT}${ctx.name ? ` (${ctx.name})` : ''}`,
        `certificates  ${ctx.pkiDir}`,
        ...managers.map(
          (m) =>
            `manager       ${m.url}  ${m.state}${m.name ? ` (${m.name})` : ''}${m.error ? `: ${m.error}` : ''}`,
        ),
        `docker        export DOCKER_HOST=${ctx.dockerHost}`,
      ];
      const up = managers.filter((m) => m.state !== 'unreachable');
      if (up.length === 0) lines.push('no manager answers: is the cluster up?');
      else if (managers.length > 1)
        lines.push(
          "  any manager's Docker endpoint serves the whole cluster (a replica forwards to the leader): if this one is down, point DOCKER_HOST at another's",
        );
      process.stdout.write(lines.join('\n') + '\n');
    });

  cmd
    .command('ls')
    .description('the saved contexts; * marks the current one')
    .option('--json', 'print as JSON')
    .action((o: { json?: boolean }) => {
      const current = existsSync(DEFAULT_CONTEXT) ? readContext().name : undefined;
      const dir = contextsDir();
      const names = existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith('.json'))
            .map((f) => f.slice(0, -5))
            .sort()
        : [];
      if (o.json) {
        process.stdout.write(JSON.stringify({ current: current ?? null, contexts: names }, null, 2) + '\n');
        return;
      }
      if (names.length === 0) process.stdout.write('no saved contexts (lifeboat context create NAME ...)\n');
      for (const n of names) {
        const c = readContext(join(dir, `${n}.json`));
        process.stdout.write(
          `${n === current ? '*' : ' '} ${n}  ${[c.managerUrl, ...(c.managerUrls ?? []).filter((u) => u !== c.managerUrl)].join(',')}\n`,
        );
      }
    });

  cmd
    .command('create <name>')
    .description('save a cluster under a name (then: lifeboat context use NAME)')
    .option(
      '--manager <urls>',
      'comma-separated manager API URLs, e.g. https://10.0.0.1:7440,https://10.0.0.2:7440',
    )
    .option('--pki <dir>', 'client certificate directory (ca.pem, cert.pem, key.pem)')
    .option('--docker-host <url>', 'DOCKER_HOST for the docker CLI, e.g. tcp://10.0.0.1:2376')
    .option('--from-current', 'save the current context under this name')
    .action(
      (name: string, o: { manager?: string; pki?: string; dockerHost?: string; fromCurrent?: boolean }) => {
        const path = named(name);
        let ctx: CliContext;
        if (o.fromCurrent) ctx = { ...readContext(), name };
        else {
          const urls = (o.manager ?? '')
            .split(',')
            .map((u) => u.trim())
            .filter(Boolean);
          if (urls.length === 0 || !o.pki)
            throw new ValidationError('give --manager and --pki (or --from-current)');
          for (const u of urls)
            if (!/^https:\/\/[^/]+$/.test(u))
              throw new ValidationError(`--manager ${u}: use https://HOST:PORT`);
          ctx = {
            name,
            managerUrl: urls[0]!,
            managerUrls: urls,
            pkiDir: o.pki,
            dockerHost: o.dockerHost ?? '',
          };
        }
        mkdirSync(contextsDir(), { recursive: true, mode: 0o700 });
        writeContext(ctx, path);
        process.stdout.write(`saved context ${name} (${path})\n`);
      },
    );

  cmd
    .command('use <name>')
    .description('make a saved context the current one')
    .action((name: string) => {
      const path = named(name);
      if (!existsSync(path))
        throw new LifeboatError('no_context', `no saved context ${name}`, {
          hint: 'lifeboat context ls lists them',
        });
      writeContext({ ...readContext(path), name });
      process.stdout.write(`current context: ${name}\n`);
    });
}
