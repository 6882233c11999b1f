import { Option, type Command } from 'commander';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { joinCluster } from '../../join/client.ts';
import type { JoinRole, TokenSummary } from '../../join/tokens.ts';
import { parseDuration } from '../../policy/duration.ts';
import { ValidationError } from '../../util/errors.ts';
import { ManagerClient } from '../manager-client.ts';
import { readContext } from '../context.ts';
import { DEFAULT_AGENT_PKI_DIR } from './agent.ts';
import { DEFAULT_CA_DIR, DEFAULT_CLUSTER_KEY_PATH, DEFAULT_PKI_ROOT } from './cert.ts';
import { join } from 'node:path';

const DEFAULT_MANAGER_PKI_DIR = join(DEFAULT_PKI_ROOT, 'manager');

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

const JOIN_HELP = `
What it does (as \`docker swarm join\`):
  1. fetches the cluster CA from MANAGER and checks it against the digest the
     token carries, so nothing but the token needs to be trusted;
  2. makes this host's key here (ECDSA P-256) and sends only a certificate
     request: the key never leaves this host;
  3. the manager checks the token, signs the request for the token's role
     (agent or manager; a host cannot ask for more) and answers with the
     certificate and the cluster's checkpoint archive key;
  4. writes ca.pem, cert.pem, key.pem (0600) into --pki, and the archive key.
A manager also gets the CA key (into --ca-dir), so that it can let hosts join.

Get a token on a manager: lifeboat join-token rotate agent

Examples:
  lifeboat join --token LBTKN-1-... --name node1 --address 10.0.1.11 10.0.0.1:7440
  lifeboat join --token LBTKN-1-... --name m2 --address 10.0.0.2 --pki /var/lib/lifeboat/pki/manager 10.0.0.1:7440
Then start the host's services (docs/install.md):
  lifeboat install agent -- --name node1 --address 10.0.1.11 --manager 10.0.0.1:7440 ...`;

interface JoinFlags {
  token: string;
  name: string;
  address?: string[];
  dns?: string[];
  pki?: string;
  clusterKey: string;
  caDir: string;
  force?: boolean;
  json?: boolean;
}

export function registerJoin(program: Command): void {
  program
    .command('join <manager>')
    .description(
      'join this host to a cluster with a token: its key stays here, the manager signs its certificate',
    )
    .requiredOption(
      '--token <token>',
      'join token (LBTKN-1-...) from `lifeboat join-token rotate agent|manager`',
    )
    .option('--name <name>', "this host's name in the cluster (its certificate's CN)", hostname())
    .option(
      '--address <ip>',
      'an address others dial this host at (repeatable; goes into the certificate)',
      collect,
    )
    .option('--dns <name>', 'a DNS name others dial this host by (repeatable)', collect)
    .option(
      '--pki <dir>',
      `where ca.pem, cert.pem and key.pem go (default ${DEFAULT_AGENT_PKI_DIR}, or ${DEFAULT_MANAGER_PKI_DIR} for a manager token)`,
    )
    .option('--cluster-key <file>', 'where the cluster archive key goes (0600)', DEFAULT_CLUSTER_KEY_PATH)
    .option('--ca-dir <dir>', 'managers: where the cluster CA and its key go', DEFAULT_CA_DIR)
    .option('--force', 'replace an identity (or a different archive key) already there')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', JOIN_HELP)
    .action(async (manager: string, f: JoinFlags) => {
      for (const a of f.address ?? [])
        if (isIP(a) === 0)
          throw new ValidationError(`--address ${a} is not an IP address`, 'use --dns for names');
      // the role comes with the token: without --pki, the directory follows it
      const pkiDir =
        f.pki ?? ((role: JoinRole) => (role === 'agent' ? DEFAULT_AGENT_PKI_DIR : DEFAULT_MANAGER_PKI_DIR));
      const r = await joinCluster({
        manager,
        token: f.token,
        name: f.name,
        ...(f.address ? { ipAddresses: f.address } : {}),
        ...(f.dns ? { dnsNames: f.dns } : {}),
        pkiDir,
        clusterKeyPath: f.clusterKey,
        caDir: f.caDir,
        ...(f.force ? { force: true } : {}),
      });
      if (f.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      const lines = [
        `joined as ${r.role} ${r.name} (certificate ${r.serial}, valid until ${r.notAfter})`,
        `  identity: ${r.pkiDir}/{ca.pem,cert.pem,key.pem}`,
        ...(r.clusterKeyPath ? [`  archive key: ${r.clusterKeyPath}`] : []),
        ...(r.caDir ? [`  cluster CA and its key: ${r.caDir}`] : []),
        'next:',
        r.role === 'agent'
          ? `  lifeboat agent --name ${r.name} --address ${f.address?.[0] ?? 'ADDRESS'} --manager ${manager} --pki ${r.pkiDir} --cluster-key ${f.clusterKey} --checkpoint-dir /mnt/lifeboat`
          : `  lifeboat manage --name ${r.name} --pki ${r.pkiDir} --ca ${f.caDir} --cluster-key ${f.clusterKey} --replication --store etcd://...`,
        '  (or the same arguments after `lifeboat install agent|manager --`, see docs/install.md)',
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });

  const tokens = program
    .command('join-token')
    .description('tokens hosts join with (one per role; shown once, when made)');
  tokens
    .command('rotate <role>')
    .description('make a new join token for agents or managers; the old one stops working at once')
    .addOption(
      new Option('--ttl <duration>', 'how long the token lets hosts join (1m to 8760h)')
        .argParser((v: string) => {
          parseDuration(v, '--ttl');
          return v;
        })
        .default('24h'),
    )
    .option('--quiet', 'print only the token')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
The token is shown only now: managers keep its hash, not the token.
Examples:
  lifeboat join-token rotate agent
  lifeboat join-token rotate manager --ttl 1h
  TOKEN=$(lifeboat join-token rotate agent --quiet)`,
    )
    .action(async (role: string, f: { ttl: string; quiet?: boolean; json?: boolean }) => {
      const ctx = readContext();
      const c = await ManagerClient.open(ctx);
      const r = await c.request<TokenSummary & { token: string }>(
        'POST',
        `/lifeboat/v1/join-tokens/${encodeURIComponent(role)}?ttl=${encodeURIComponent(f.ttl)}`,
      );
      if (f.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else if (f.quiet) process.stdout.write(r.token + '\n');
      else
        process.stdout.write(
          `${role} join token (id ${r.id}, valid until ${r.expiresAt}):\n\n  ${r.token}\n\n` +
            `On the host to join:\n  lifeboat join --token ${r.token} --name NAME --address IP ${new URL(ctx.managerUrl).host}\n`,
        );
    });
  tokens
    .command('ls')
    .description('the join tokens: role, id, expiry (never the token itself)')
    .option('--json', 'print JSON')
    .action(async (f: { json?: boolean }) => {
      const c = await ManagerClient.open(readContext());
      const list = await c.request<TokenSummary[]>('GET', '/lifeboat/v1/join-tokens');
      if (f.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      if (list.length === 0) {
        process.stdout.write('no join tokens yet: lifeboat join-token rotate agent\n');
        return;
      }
      for (const t of list)
        process.stdout.write(
          `${t.role.padEnd(8)} ${t.id}  ${t.expired ? 'EXPIRED' : 'valid'} until ${t.expiresAt}  made by ${t.createdBy} at ${t.createdAt}\n`,
        );
    });
}

interface InitFlags {
  name: string;
  address?: string[];
  dns?: string[];
  port: string;
  pkiRoot: string;
  clusterKey: string;
  json?: boolean;
}

/**
 * `lifeboat init`: what the first manager needs before it starts, made on
 * that manager: the cluster CA, the archive key, its own certificate, an
 * operator certificate and the CLI's context. Idempotent: what exists stays.
 */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'prepare the first manager of a new cluster: CA, archive key, its certificate, an operator certificate',
    )
    .option('--name <name>', "this manager's name", hostname())
    .option('--address <ip>', 'an address hosts and operators reach this manager at (repeatable)', collect)
    .option('--dns <name>', 'a DNS name of this manager (repeatable)', collect)
    .option('--port <port>', 'the manager API port (`lifeboat manage --listen`)', '7440')
    .option('--pki-root <dir>', 'where the CA and identities go', DEFAULT_PKI_ROOT)
    .option('--cluster-key <file>', 'the checkpoint archive key (made when absent)', DEFAULT_CLUSTER_KEY_PATH)
    .option('--json', 'print what was made as JSON')
    .addHelpText(
      'after',
      `
Then, on this machine:
  lifeboat manage --name NAME --listen ADDRESS:7440 --pki PKI_ROOT/manager --ca PKI_ROOT/ca --cluster-key KEY
  lifeboat join-token rotate agent      # prints the token hosts join with
and on every container host:
  lifeboat join --token TOKEN --name node1 --address 10.0.1.11 ADDRESS:7440

Example:
  lifeboat init --name m1 --address 10.0.0.1`,
    )
    .action(async (f: InitFlags) => {
      const { initCluster } = await import('../init-cluster.ts');
      const r = await initCluster({
        name: f.name,
        ipAddresses: f.address ?? [],
        dnsNames: f.dns ?? [],
        port: Number(f.port),
        pkiRoot: f.pkiRoot,
        clusterKeyPath: f.clusterKey,
      });
      if (f.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      const say = (what: string, made: boolean, where: string): string =>
        `  ${made ? 'made ' : 'kept '} ${what.padEnd(22)} ${where}`;
      process.stdout.write(
        [
          `cluster CA ${r.caDigest.slice(0, 16)}... ready:`,
          say('CA and its key', r.made.ca, r.caDir),
          say('archive key', r.made.clusterKey, r.clusterKeyPath),
          say('manager certificate', r.made.manager, r.managerPki),
          say('operator certificate', r.made.admin, r.adminPki),
          say('CLI context', r.made.context, r.contextPath),
          'next:',
          `  lifeboat manage --name ${f.name} --listen ${r.listen} --pki ${r.managerPki} --ca ${r.caDir} --cluster-key ${r.clusterKeyPath}`,
          '  lifeboat join-token rotate agent',
        ].join('\n') + '\n',
      );
    });
}
