/**
 * Starts real local etcd members (the distro's `etcd` binary) for tests and
 * for `lifeboat up --store etcd`. Members start one after another; while a
 * member starts, its PEER port is polled (the client port answers only once
 * the cluster has a leader, which needs a quorum of members). Each member
 * logs to `<dataDir>/<name>.log`, never to our own output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifeboatError, ValidationError, errorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('store/etcd-cluster');

export interface EtcdClusterOptions {
  members: 1 | 3;
  /** Member data directories and logs go here. */
  dataDir: string;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Member i gets client port basePort+2i and peer port basePort+2i+1. Default: free ports. */
  basePort?: number;
  /** etcd --heartbeat-interval. Default 50 (fast failover; allows 1 s leases). */
  heartbeatMs?: number;
  /** etcd --election-timeout. Default 500. */
  electionMs?: number;
  /** Default `etcd` from PATH. */
  binary?: string;
  /** Per member start, and for the first leader. Default 15000. */
  startTimeoutMs?: number;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly running: boolean;
  readonly pid: number | undefined;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** `host:clientPort` of every member. */
  readonly endpoints: readonly string[];
  /** `etcd://h1:p1,h2:p2/<prefix>` for openStore(). */
  storeUrl(prefix?: string): string;
  /** SIGKILL one member (a crash). */
  killMember(i: number): Promise<void>;
  /** Start a killed member again on its data; resolves once it is healthy. */
  restartMember(i: number): Promise<void>;
  /** Index of the member that is currently raft leader, if any member knows. */
  leaderIndex(): Promise<number | undefined>;
  /** Kills every member and removes their data directories (logs stay in dataDir). */
  stop(): Promise<void>;
}

export class EtcdStartError extends LifeboatError {
  constructor(message: string, logFile?: string) {
    super('etcd_start_failed', message, {
      hint:
        logFile === undefined
          ? 'Check that etcd is installed (bash scripts/provision.sh).'
          : `See ${logFile}; check that etcd is installed (bash scripts/provision.sh) and the ports are free.`,
    });
  }
}

/** `n` free ports on `host`, chosen by the OS (closed again before use). */
export async function freePorts(host: string, n: number): Promise<number[]> {
  // Hold all listeners open until every port is known, so none is handed out twice.
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, host, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

async function answers(url: string, init: RequestInit = {}): Promise<unknown> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(1000) });
    if (!res.ok) return undefined;
    return (await res.json()) as unknown;
  } catch {
    return undefined;
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

class Member implements EtcdMember {
  proc: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly args: string[],
    private readonly binary: string,
  ) {}

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }

  spawn(): void {
    const fd = openSync(this.logFile, 'a');
    try {
      const proc = spawn(this.binary, this.args, { stdio: ['ignore', fd, fd] });
      this.proc = proc;
      this.exited = new Promise((resolve) => {
        proc.once('exit', () => resolve());
        proc.once('error', (err) => {
          log.error('etcd could not be started', { member: this.name, error: err.message });
          resolve();
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  async kill(): Promise<void> {
    if (this.running) this.proc?.kill('SIGKILL');
    await this.exited;
  }
}

/** Mutual TLS for clients and peers: a member serves `certFile` and accepts only certificates from `caFile`. */
export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * One member's command line: the same for `lifeboat up`'s local members and
 * for `lifeboat etcd member` on a real host. `initialCluster` is
 * `name=peerUrl,...`; with an existing data dir etcd ignores the --initial-*
 * flags, so a restart reuses the same arguments.
 */
export function etcdMemberArgs(o: {
  name: string;
  dataDir: string;
  clientUrl: string;
  peerUrl: string;
  initialCluster: string;
  token: string;
  heartbeatMs?: number;
  electionMs?: number;
  tls?: EtcdTlsFiles;
}): string[] {
  const tlsArgs = o.tls
    ? [
        `--cert-file=${o.tls.certFile}`,
        `--key-file=${o.tls.keyFile}`,
        `--trusted-ca-file=${o.tls.caFile}`,
        '--client-cert-auth',
        `--peer-cert-file=${o.tls.certFile}`,
        `--peer-key-file=${o.tls.keyFile}`,
        `--peer-trusted-ca-file=${o.tls.caFile}`,
        '--peer-client-cert-auth',
      ]
    : [];
  return [
    `--name=${o.name}`,
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${o.clientUrl}`,
    `--advertise-client-urls=${o.clientUrl}`,
    `--listen-peer-urls=${o.peerUrl}`,
    `--initial-advertise-peer-urls=${o.peerUrl}`,
    `--initial-cluster=${o.initialCluster}`,
    `--initial-cluster-token=${o.token}`,
    '--initial-cluster-state=new',
    `--heartbeat-interval=${o.heartbeatMs ?? 50}`,
    `--election-timeout=${o.electionMs ?? 500}`,
    // every heartbeat rewrites its host's record and etcd keeps each revision until compacted:
    // without this the database reaches its 2 GB quota and etcd refuses every write (docs/limits.md)
    '--auto-compaction-mode=periodic',
    '--auto-compaction-retention=1m',
    '--logger=zap',
    '--log-outputs=stderr',
    ...tlsArgs,
  ];
}

/** Members' names, URLs and command lines for a local etcd cluster (used by the launcher and by `lifeboat up`). */
export function etcdClusterPlan(o: {
  members: number;
  host: string;
  ports: number[];
  dataDir: string;
  heartbeatMs?: number;
  electionMs?: number;
  tls?: EtcdTlsFiles;
}): { name: string; dataDir: string; clientUrl: string; peerUrl: string; args: string[] }[] {
  const names = Array.from({ length: o.members }, (_, i) => `etcd${i}`);
  const scheme = o.tls ? 'https' : 'http';
  const peerUrl = (i: number): string => `${scheme}://${o.host}:${o.ports[2 * i + 1]}`;
  const clientUrl = (i: number): string => `${scheme}://${o.host}:${o.ports[2 * i]}`;
  const initialCluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',');
  const token = `lifeboat-${randomBytes(6).toString('hex')}`;
  return names.map((name, i) => {
    const dataDir = join(o.dataDir, `${name}.etcd`);
    const args = etcdMemberArgs({
      name,
      dataDir,
      clientUrl: clientUrl(i),
      peerUrl: peerUrl(i),
      initialCluster,
      token,
      ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
      ...(o.electionMs !== undefined ? { electionMs: o.electionMs } : {}),
      ...(o.tls ? { tls: o.tls } : {}),
    });
    return { name, dataDir, clientUrl: clientUrl(i), peerUrl: peerUrl(i), args };
  });
}

export async function startEtcdCluster(opts: EtcdClusterOptions): Promise<EtcdCluster> {
  if (opts.members !== 1 && opts.members !== 3)
    throw new ValidationError('an etcd cluster has 1 or 3 members');
  const host = opts.host ?? '127.0.0.1';
  const binary = opts.binary ?? 'etcd';
  const timeout = opts.startTimeoutMs ?? 15_000;
  const n = opts.members;
  const ports =
    opts.basePort === undefined
      ? await freePorts(host, 2 * n)
      : Array.from({ length: 2 * n }, (_, i) => (opts.basePort ?? 0) + i);
  await mkdir(opts.dataDir, { recursive: true });

  const plan = etcdClusterPlan({
    members: n,
    host,
    ports,
    dataDir: opts.dataDir,
    ...(opts.heartbeatMs === undefined ? {} : { heartbeatMs: opts.heartbeatMs }),
    ...(opts.electionMs === undefined ? {} : { electionMs: opts.electionMs }),
  });
  const members = plan.map(({ name, dataDir, args }, i) => {
    return new Member(
      name,
      ports[2 * i] ?? 0,
      ports[2 * i + 1] ?? 0,
      dataDir,
      join(opts.dataDir, `${name}.log`),
      args,
      binary,
    );
  });

  // If this process dies without stop(), do not leave etcd members behind.
  const killAll = (): void => {
    for (const m of members) if (m.running) m.proc?.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const member = (i: number): Member => {
    const m = members[i];
    if (m === undefined) throw new ValidationError(`no etcd member ${i} (cluster has ${n})`);
    return m;
  };

  const waitFor = async (m: Member, what: string, probe: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + timeout;
    while (!(await probe())) {
      if (!m.running) {
        throw new EtcdStartError(
          `etcd member ${m.name} exited while starting:\n${tail(m.logFile)}`,
          m.logFile,
        );
      }
      if (Date.now() > deadline) {
        throw new EtcdStartError(`etcd member ${m.name}: no ${what} after ${timeout} ms`, m.logFile);
      }
      await sleep(50);
    }
  };
  const peerUp = (m: Member) => async () =>
    (await answers(`http://${host}:${m.peerPort}/version`)) !== undefined;
  const healthy = (m: Member) => async () => {
    const h = (await answers(`http://${host}:${m.clientPort}/health`)) as { health?: unknown } | undefined;
    return h?.health === 'true' || h?.health === true;
  };

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => `${host}:${m.clientPort}`),
    storeUrl: (prefix = 'lifeboat') =>
      `etcd://${members.map((m) => `${host}:${m.clientPort}`).join(',')}/${prefix.replace(/^\/+/, '')}`,
    killMember: async (i) => {
      const m = member(i);
      await m.kill();
      log.debug('member killed', { member: m.name });
    },
    restartMember: async (i) => {
      const m = member(i);
      if (m.running) return;
      m.spawn();
      await waitFor(m, 'peer port', peerUp(m));
      await waitFor(m, 'health', healthy(m));
      log.debug('member restarted', { member: m.name });
    },
    leaderIndex: async () => {
      const ids = await Promise.all(
        members.map(async (m) => {
          if (!m.running) return undefined;
          const s = (await answers(`http://${host}:${m.clientPort}/v3/maintenance/status`, {
            method: 'POST',
            body: '{}',
          })) as { header?: { member_id?: string }; leader?: string } | undefined;
          return s;
        }),
      );
      const leaderId = ids.find((s) => s?.leader !== undefined && s.leader !== '0')?.leader;
      if (leaderId === undefined) return undefined;
      const i = ids.findIndex((s) => s?.header?.member_id === leaderId);
      return i < 0 ? undefined : i;
    },
    stop: async () => {
      process.removeListener('exit', killAll);
      await Promise.all(members.map((m) => m.kill()));
      await Promise.all(members.map((m) => rm(m.dataDir, { recursive: true, force: true })));
    },
  };

  try {
    for (const m of members) {
      m.spawn();
      await waitFor(m, 'peer port', peerUp(m));
    }
    for (const m of members) await waitFor(m, 'health (leader)', healthy(m));
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    if (err instanceof LifeboatError) throw err;
    throw new EtcdStartError(`etcd cluster did not start: ${errorMessage(err)}`);
  }
  log.debug('etcd cluster up', { members: n, endpoints: cluster.endpoints.join(',') });
  return cluster;
}
