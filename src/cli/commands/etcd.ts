import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadTlsBundle } from '../../pki/index.ts';
import { etcdMemberArgs } from '../../store/etcd-cluster.ts';
import { ValidationError } from '../../util/errors.ts';

const DEFAULT_CLIENT_PORT = 2379;
const DEFAULT_PEER_PORT = 2380;

export interface EtcdMemberFlags {
  name: string;
  address: string;
  initialCluster: string;
  clientPort: string;
  peerPort: string;
  pki: string;
  dataDir: string;
  heartbeatMs: string;
  electionMs: string;
}

function port(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ValidationError(`${what} ${v} is not a TCP port`);
  return n;
}

function hostUrl(host: string, p: number): string {
  return `https://${isIP(host) === 6 ? `[${host}]` : host}:${p}`;
}

/**
 * `--initial-cluster e1=10.0.0.1,e2=10.0.0.2:2390,...` into etcd's
 * `name=https://host:peerPort,...`. Every member is given the same list, so
 * the cluster token is derived from it: members agree without talking first.
 */
export function parseInitialCluster(
  text: string,
  defaultPeerPort: number,
): { members: { name: string; peerUrl: string }[]; initialCluster: string; token: string } {
  const members = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(\[[0-9a-fA-F:]+\]|[^:\s]+)(?::(\d+))?$/.exec(entry);
      if (!m)
        throw new ValidationError(
          `--initial-cluster entry "${entry}" is not NAME=HOST[:PEER_PORT]`,
          'e.g. --initial-cluster e1=10.0.0.1,e2=10.0.0.2,e3=10.0.0.3',
        );
      const host = m[2]!.replace(/^\[|\]$/g, '');
      return { name: m[1]!, peerUrl: hostUrl(host, m[3] ? port(m[3], 'peer port') : defaultPeerPort) };
    });
  if (members.length !== 1 && members.length !== 3 && members.length !== 5)
    throw new ValidationError(
      `--initial-cluster names ${members.length} members; an etcd cluster has 1, 3 or 5`,
      'a majority must stay up: 3 members survive the loss of one',
    );
  if (new Set(members.map((m) => m.name)).size !== members.length)
    throw new ValidationError('--initial-cluster names a member twice');
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const token = `lifeboat-${createHash('sha256').update(initialCluster).digest('hex').slice(0, 12)}`;
  return { members, initialCluster, token };
}

/** The etcd command line of one member, checked: its own entry in the list, its certificate files present and private. */
export async function etcdMemberCommand(f: EtcdMemberFlags): Promise<string[]> {
  const clientPort = port(f.clientPort, '--client-port');
  const peerPort = port(f.peerPort, '--peer-port');
  const { members, initialCluster, token } = parseInitialCluster(f.initialCluster, peerPort);
  const self = members.find((m) => m.name === f.name);
  const peerUrl = hostUrl(f.address, peerPort);
  if (!self)
    throw new ValidationError(
      `--initial-cluster does not name this member (${f.name})`,
      'list every member, this one too',
    );
  if (self.peerUrl !== peerUrl)
    throw new ValidationError(
      `--initial-cluster gives ${f.name} the peer address ${self.peerUrl}, but this member listens at ${peerUrl}`,
      'use the same address and peer port in both',
    );
  const bundle = await loadTlsBundle(f.pki);
  return etcdMemberArgs({
    name: f.name,
    dataDir: join(f.dataDir, `${f.name}.etcd`),
    clientUrl: hostUrl(f.address, clientPort),
    peerUrl,
    initialCluster,
    token,
    heartbeatMs: Number(f.heartbeatMs),
    electionMs: Number(f.electionMs),
    tls: { caFile: bundle.paths.caPath, certFile: bundle.paths.certPath, keyFile: bundle.paths.keyPath },
  });
}

const ETCD_HELP = `
Runs one member of the etcd cluster that managers keep the cluster's state in
(lifeboat manage --store etcd://...), with the settings lifeboat needs: mutual
TLS for clients and peers (only certificates of etcd's CA get in), and
compaction every minute (heartbeats rewrite host records; without it etcd
fills its quota and refuses every write, docs/limits.md).

Certificates come from a CA of etcd's own, so that no agent's or operator's
cluster certificate opens the store (docs/security.md), made with lifeboat cert:
  lifeboat cert init --dir /var/lib/lifeboat/pki/etcd-ca                       # once
  lifeboat cert issue --ca /var/lib/lifeboat/pki/etcd-ca --role manager \\
    --name e1 --ip 10.0.0.1 --out /var/lib/lifeboat/pki/etcd-e1                # per member
  lifeboat cert issue --ca /var/lib/lifeboat/pki/etcd-ca --role manager \\
    --name m1 --out /var/lib/lifeboat/pki/m1-etcd                              # per manager (--etcd-pki)

On each of three hosts (the same --initial-cluster everywhere):
  lifeboat etcd member --name e1 --address 10.0.0.1 \\
    --initial-cluster e1=10.0.0.1,e2=10.0.0.2,e3=10.0.0.3 \\
    --pki /var/lib/lifeboat/pki/etcd-e1 --data-dir /var/lib/lifeboat/etcd
Then: lifeboat manage --store etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379/lifeboat \\
        --etcd-pki /var/lib/lifeboat/pki/m1-etcd --replication ...
--print shows the etcd command line instead of running it (for a unit file of your own).`;

export function registerEtcd(program: Command): void {
  const etcd = program.command('etcd').description("the cluster store's etcd, run the way lifeboat needs it");
  etcd
    .command('member')
    .description('run one etcd member with mutual TLS and compaction (Debian: apt install etcd-server)')
    .requiredOption('--name <name>', "this member's name, as in --initial-cluster")
    .requiredOption('--address <ip>', 'the address this member listens at and peers reach it at')
    .requiredOption(
      '--initial-cluster <list>',
      'every member: NAME=HOST[:PEER_PORT],... (the same on every member)',
    )
    .option('--client-port <port>', 'client port (managers)', String(DEFAULT_CLIENT_PORT))
    .option('--peer-port <port>', 'peer port (other members)', String(DEFAULT_PEER_PORT))
    .requiredOption('--pki <dir>', "this member's certificate from etcd's CA: ca.pem, cert.pem, key.pem")
    .option(
      '--data-dir <dir>',
      'where the member keeps its data (<dir>/<name>.etcd)',
      '/var/lib/lifeboat/etcd',
    )
    .option('--heartbeat-ms <ms>', 'etcd --heartbeat-interval', '100')
    .option('--election-ms <ms>', 'etcd --election-timeout', '1000')
    .option('--binary <path>', 'the etcd binary', 'etcd')
    .option('--print', 'print the etcd command line and exit')
    .addHelpText('after', ETCD_HELP)
    .action(async (f: EtcdMemberFlags & { binary: string; print?: boolean }) => {
      const args = await etcdMemberCommand(f);
      if (f.print) {
        process.stdout.write(
          [f.binary, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ') + '\n',
        );
        return;
      }
      mkdirSync(f.dataDir, { recursive: true, mode: 0o700 });
      const child = spawn(f.binary, args, { stdio: 'inherit' });
      for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
      await new Promise<void>((resolve, reject) => {
        child.on('error', (err) =>
          reject(
            new ValidationError(
              `cannot run ${f.binary}: ${err.message}`,
              'install etcd (Debian: apt install etcd-server) or pass --binary',
            ),
          ),
        );
        child.on('exit', (code, signal) => {
          process.exitCode = code ?? (signal ? 128 : 1);
          resolve();
        });
      });
    });
}
