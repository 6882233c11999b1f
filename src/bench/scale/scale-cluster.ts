import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, openSync, closeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateClusterKey } from '../../checkpoint/crypto/cluster-key.ts';
import {
  createClusterCa,
  issueCertificate,
  issueToDirectory,
  type ClusterCa,
  type TlsBundle,
} from '../../pki/index.ts';
import { freePorts, startEtcdCluster, type EtcdCluster } from '../../store/etcd-cluster.ts';
import { LifeboatError } from '../../util/errors.ts';

/** Where a scale run keeps its CA, etcd data and manager logs (removed afterwards). */
export const SCALE_ROOT_PREFIX = '/var/tmp/lifeboat-scale-';
const STORE_PREFIX = 'scale';

export interface ScaleManager {
  name: string;
  /** Manager API (heartbeats, lifeboat API), mutual TLS. */
  api: { host: string; port: number };
  /** Docker endpoint, plain HTTP on loopback. */
  docker: { host: string; port: number };
  process: ChildProcess;
  logFile: string;
}

export interface ScaleCluster {
  root: string;
  etcd: EtcdCluster;
  managers: ScaleManager[];
  ca: ClusterCa;
  /** A client certificate (role client) for the lifeboat API. */
  client: TlsBundle;
  failureTimeoutMs: number;
  /** The cluster CA's directory (the hollow fleet issues its agents' certificates from it). */
  caDir: string;
  /** Kills managers and etcd, removes the root; logs go to `keepLogsIn` first when given. */
  stop(keepLogsIn?: string): Promise<void>;
}

export class ScaleClusterError extends LifeboatError {
  constructor(message: string, hint: string) {
    super('scale_cluster', message, { hint });
  }
}

const LIFEBOAT_BIN = fileURLToPath(new URL('../../../bin/lifeboat', import.meta.url));

async function waitListening(port: number, proc: ChildProcess, logFile: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc.exitCode !== null)
      throw new ScaleClusterError(
        `a manager exited with ${proc.exitCode} while starting`,
        `read its log: ${logFile}`,
      );
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new ScaleClusterError(
    `a manager did not listen on ${port} within ${ms} ms`,
    `read its log: ${logFile}`,
  );
}

/**
 * The scale bench's control plane, all real: a 3-member etcd, `replicas`
 * `lifeboat manage` processes on it (each its own process, so its CPU and
 * memory are its own), a cluster CA issuing the hollow hosts' agent
 * certificates. Loopback only, ports chosen by the OS.
 */
export async function startScaleCluster(o: {
  replicas: number;
  failureTimeoutMs: number;
  log: (line: string) => void;
  /** Where the manager logs go when the start fails (else they are removed with the root). */
  logsOnFailure?: string;
}): Promise<ScaleCluster> {
  const root = mkdtempSync(SCALE_ROOT_PREFIX);
  const managers: ScaleManager[] = [];
  let etcd: EtcdCluster | undefined;
  const stop = async (keepLogsIn?: string): Promise<void> => {
    for (const m of managers) if (m.process.exitCode === null) m.process.kill('SIGKILL');
    await Promise.all(
      managers.map((m) =>
        m.process.exitCode === null ? new Promise((r) => m.process.once('exit', r)) : undefined,
      ),
    );
    await etcd?.stop().catch(() => undefined);
    if (keepLogsIn) {
      mkdirSync(keepLogsIn, { recursive: true });
      for (const m of managers) cpSync(m.logFile, join(keepLogsIn, `${m.name}.log`));
    }
    await rm(root, { recursive: true, force: true });
  };
  try {
    const ca = await createClusterCa(join(root, 'ca'));
    const keyFile = join(root, 'cluster.key');
    await generateClusterKey(keyFile);
    o.log(`etcd: 3 members under ${root}`);
    etcd = await startEtcdCluster({ members: 3, dataDir: join(root, 'etcd') });
    const storeUrl = etcd.storeUrl(STORE_PREFIX);
    for (let i = 0; i < o.replicas; i++) {
      const name = `manager-${i + 1}`;
      await issueToDirectory(join(root, 'ca'), 'manager', name, join(root, name), {
        ipAddresses: ['127.0.0.1'],
        dnsNames: ['localhost'],
        overwrite: true,
      });
      const [apiPort, dockerPort] = (await freePorts('127.0.0.1', 2)) as [number, number];
      const logFile = join(root, `${name}.log`);
      const fd = openSync(logFile, 'a');
      const proc = spawn(
        LIFEBOAT_BIN,
        [
          'manage',
          '--name',
          name,
          '--listen',
          `127.0.0.1:${apiPort}`,
          '--docker',
          `127.0.0.1:${dockerPort}`,
          '--store',
          storeUrl,
          '--replication',
          '--pki',
          join(root, name),
          '--docker-checkpoint-dir',
          join(root, name, 'docker-checkpoints'),
          '--cluster-key',
          keyFile,
          '--failure-timeout',
          `${o.failureTimeoutMs}ms`,
        ],
        { stdio: ['ignore', fd, fd], env: { ...process.env, LIFEBOAT_LOG_LEVEL: 'warn' } },
      );
      closeSync(fd);
      managers.push({
        name,
        api: { host: '127.0.0.1', port: apiPort },
        docker: { host: '127.0.0.1', port: dockerPort },
        process: proc,
        logFile,
      });
      await waitListening(dockerPort, proc, logFile, 60_000);
      o.log(`${name}: pid ${proc.pid}, API 127.0.0.1:${apiPort}, Docker 127.0.0.1:${dockerPort}`);
    }
    const client = await issueCertificate(ca, { role: 'client', name: 'scale-bench' });
    return {
      root,
      etcd,
      managers,
      ca,
      client: { caPem: client.caPem, certPem: client.certPem, keyPem: client.keyPem },
      failureTimeoutMs: o.failureTimeoutMs,
      caDir: join(root, 'ca'),
      stop,
    };
  } catch (err) {
    await stop(o.logsOnFailure);
    throw err;
  }
}
