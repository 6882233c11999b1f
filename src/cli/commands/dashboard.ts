import type { Command } from 'commander';
import { startDashboardProxy } from '../../ui/dashboard-proxy.ts';
import { parseHostPort } from '../../agent/agent-config.ts';
import { createLogger } from '../../util/log.ts';
import { readContext } from '../context.ts';
import { ManagerClient } from '../manager-client.ts';
import { LOCAL_FAULTS, localCluster } from './node.ts';

const HELP = `
What it does:
  Serves the cluster's dashboard to a browser on this machine: hosts with
  their state and containers, each container's policy, checkpoint interval,
  newest checkpoint and history, the manager's events as they happen, and a
  live migration with its nine steps. On a local cluster (\`lifeboat up\`)
  each host has fault buttons: kill, partition, heal, reboot.

  The page comes from the manager (/ui/ on its API address); this command
  relays it over the cluster's mutual TLS with your client certificate, so
  the browser needs neither. It listens on 127.0.0.1 and answers only
  requests that carry the token in the printed URL (a cookie once opened):
  other users and processes of this machine cannot use it. The token
  changes with every start.

Example:
  lifeboat dashboard              # prints http://127.0.0.1:PORT/ui/?token=...
  lifeboat dashboard --listen 127.0.0.1:7447 --json

Over SSH: ssh -L 7447:127.0.0.1:7447 host, then open the printed URL locally.`;

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('the cluster in a browser: hosts, containers, checkpoints, events, migrate, faults')
    .option('--listen <ip:port>', 'where the local relay listens (loopback; port 0 picks one)', '127.0.0.1:0')
    .option('--json', 'print {url, loginUrl, token} as one JSON line')
    .addHelpText('after', HELP)
    .action(async (o: { listen: string; json?: boolean }) => {
      const listen = parseHostPort(o.listen, '--listen', 0);
      const ctx = readContext();
      const manager = await ManagerClient.open(ctx);
      const log = createLogger('dashboard');
      if (!['127.0.0.1', 'localhost', '::1'].includes(listen.host))
        log.warn('listening beyond loopback: anyone who learns the URL can drive the cluster', {
          listen: o.listen,
        });
      const cluster = ctx.clusterRoot ? localCluster() : undefined;
      const dash = await startDashboardProxy({
        manager,
        host: listen.host,
        port: listen.port,
        ...(cluster ? { local: (host, action) => LOCAL_FAULTS[action].run(cluster, host) } : {}),
        logger: log,
      });
      if (o.json) {
        process.stdout.write(
          JSON.stringify({ url: dash.url, loginUrl: dash.loginUrl, token: dash.token }) + '\n',
        );
      } else {
        process.stdout.write(
          `dashboard of the cluster at ${ctx.managerUrl}${cluster ? ' (local cluster: fault buttons on)' : ''}\n` +
            `open ${dash.loginUrl}\n` +
            'Ctrl-C stops it.\n',
        );
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await dash.close();
    });
}
