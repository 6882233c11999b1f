import https from 'node:https';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateClusterKey } from '../checkpoint/crypto/index.ts';
import {
  clientTlsOptions,
  createClusterCa,
  issueToDirectory,
  loadTlsBundle,
  type TlsBundle,
} from '../pki/index.ts';
import { LifeboatError, ValidationError } from '../util/errors.ts';
import { etcdClusterPlan } from '../store/etcd-cluster.ts';
import { joinCluster } from '../join/client.ts';
import { LocalCluster, type LocalClusterConfig, type StorageKind } from './local-cluster.ts';
import type { ProgressFn } from './progress.ts';

/**
 * `lifeboat up`: a LocalCluster (hosts with Podman) plus everything that
 * makes it a lifeboat cluster: a cluster CA with manager, agent and client
 * certificates, the archive key, one manager in the root namespace and an
 * agent inside every host, all joined before this returns.
 */
export const MANAGER_PORT = 7440;
export const AGENT_PORT = 7443;
export const DOCKER_PORT = 2375;

export interface ClusterUpOptions {
  nodes: number;
  storage?: StorageKind;
  root?: string;
  failureTimeoutMs?: number;
  /** The Docker endpoint on 127.0.0.1:PORT (replicas: the next ports), when no dockerSocket is given. */
  dockerPort?: number;
  /** The Docker endpoint on this unix socket (replicas: `-2`, `-3` before `.sock`). */
  dockerSocket?: string;
  /** The first manager forwards every published port of the cluster from 127.0.0.1. */
  forwardPorts?: boolean;
  onProgress?: ProgressFn;
  /** Extra `lifeboat manage` arguments. */
  managerArgs?: string[];
  managerPort?: number;
  /** embedded: one manager with a file store; etcd: a 3-member etcd and `managers` replicas electing a leader. */
  store?: 'embedded' | 'etcd';
  managers?: number;
  etcdBasePort?: number;
  /**
   * How hosts join: heartbeat (agents push to the managers, the default), or
   * Swarm's static discovery, the managers polling agents listed in a
   * nodes:// URL or a file:// host list.
   */
  discovery?: 'heartbeat' | 'nodes' | 'file';
  /** Bridge, subnet and host names (tests use their own, beside a user's cluster). */
  cluster?: Pick<LocalClusterConfig, 'bridge' | 'subnet' | 'namePrefix' | 'glusterVolume'>;
  /**
   * Wall clocks that disagree, as on real machines without time sync: by
   * manager name (`manager-2`) or host name, an offset such as `+30s` given
   * to the process through libfaketime (Debian's libfaketime).
   */
  clockSkew?: Record<string, string>;
}

/** Debian's libfaketime: LD_PRELOAD it with FAKETIME=+30s and the process's wall clock runs 30 s ahead. */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

function skewEnv(skew: Record<string, string> | undefined, who: string): { env?: Record<string, string> } {
  const offset = skew?.[who];
  if (offset === undefined) return {};
  if (!/^[+-]\d+(\.\d+)?[smhd]?$/.test(offset))
    throw new ValidationError(`clock skew for ${who}: "${offset}" is not an offset such as +30s or -2m`);
  return { env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset } };
}

export interface ClusterUpResult {
  managerUrl: string;
  dockerHost: string;
  /** Every manager replica (the first is managerUrl/dockerHost). */
  managers: { name: string; url: string; dockerHost: string }[];
  storeUrl: string;
  pkiDir: string;
  clusterRoot: string;
  hosts: { name: string; address: string }[];
  ms: number;
}

const BIN = resolve(fileURLToPath(new URL('../../bin/lifeboat', import.meta.url)));

/** The cluster network of a local cluster, from its bridge's address: 10.99.0.1 -> 10.199.0.0/16. */
export function clusterSubnetFor(gateway: string): string {
  const [a, b] = gateway.split('.').map(Number);
  return `${a}.${((b ?? 0) + 100) % 256}.0.0/16`;
}

/** One request to a manager's API with the cluster's client certificate: status and body, or undefined when unreachable. */
async function managerRequest(
  managerUrl: string,
  pkiDir: string,
  method: string,
  path: string,
): Promise<{ status: number; body: string } | undefined> {
  const bundle = await loadTlsBundle(pkiDir);
  const tls = clientTlsOptions(bundle, { serverRoles: ['manager'] });
  const url = new URL(path, managerUrl);
  return new Promise((res) => {
    const req = https.request(
      { method, host: url.hostname, port: url.port, path: url.pathname + url.search, ...tls, timeout: 2000 },
      (r) => {
        let b = '';
        r.on('data', (d: Buffer) => (b += d.toString()));
        r.on('end', () => res({ status: r.statusCode ?? 0, body: b }));
        r.on('error', () => res(undefined));
      },
    );
    req.on('error', () => res(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function nodesHealthy(managerUrl: string, pkiDir: string): Promise<number> {
  const r = await managerRequest(managerUrl, pkiDir, 'GET', '/lifeboat/v1/nodes');
  try {
    return r?.status === 200
      ? (JSON.parse(r.body) as { status: string }[]).filter((n) => n.status === 'healthy').length
      : 0;
  } catch {
    return 0;
  }
}

/** A fresh join token from the first manager, as an operator gets one (`lifeboat join-token rotate ROLE`). */
async function joinToken(
  managerUrl: string,
  pkiDir: string,
  root: string,
  role: 'agent' | 'manager',
): Promise<string> {
  const deadline = Date.now() + 30_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const r = await managerRequest(managerUrl, pkiDir, 'POST', `/lifeboat/v1/join-tokens/${role}?ttl=1h`);
    if (r?.status === 200) return (JSON.parse(r.body) as { token: string }).token;
    last = r ? `${r.status} ${r.body.trim()}` : 'no answer';
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new LifeboatError(
    'cluster_not_ready',
    `the manager at ${managerUrl} gave no join token within 30 s (${last})`,
    {
      hint: `see ${join(root, 'logs')}`,
    },
  );
}

/** True when etcd's /health says so (over mutual TLS). */
function etcdHealthy(url: string, tls: TlsBundle): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      `${url}/health`,
      { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, timeout: 1000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 && (JSON.parse(body) as { health?: string }).health === 'true');
          } catch {
            resolve(false);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function waitForEtcd(clientUrls: string[], tls: TlsBundle, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await Promise.all(clientUrls.map((u) => etcdHealthy(u, tls)));
    if (ok.every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new LifeboatError('etcd_not_ready', `etcd did not become healthy within ${timeoutMs} ms`, {
    hint: 'see the etcd logs under <root>/logs',
  });
}

export async function clusterUp(o: ClusterUpOptions): Promise<ClusterUpResult> {
  const t0 = Date.now();
  const note = (step: string, message: string): void =>
    o.onProgress?.(step, { phase: 'done', message, elapsedMs: Date.now() - t0 } as Parameters<ProgressFn>[1]);
  const cluster = new LocalCluster({
    ...(o.cluster ?? {}),
    ...(o.root ? { root: o.root } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const managerPort = o.managerPort ?? MANAGER_PORT;
  const up = await cluster.up({ nodes: o.nodes, storage: o.storage ?? 'dir' });
  try {
    const root = cluster.root;
    const gw = up.gateway;
    const pki = join(root, 'pki');
    await createClusterCa(join(pki, 'ca'));
    await issueToDirectory(join(pki, 'ca'), 'client', 'admin', join(pki, 'client'), { overwrite: true });
    const keyPath = join(root, 'cluster.key');
    if (!existsSync(keyPath)) await generateClusterKey(keyPath);
    note('pki', `cluster CA and client certificate; archive key ${keyPath}`);

    const dockerPort = o.dockerPort ?? DOCKER_PORT;
    const dockerAddress = (i: number): string =>
      o.dockerSocket
        ? `unix://${i === 0 ? o.dockerSocket : o.dockerSocket.replace(/(\.sock)?$/, `-${i + 1}$1`)}`
        : `tcp://127.0.0.1:${dockerPort + i}`;
    const failure = `${o.failureTimeoutMs ?? 5000}ms`;
    const replicas = o.store === 'etcd' ? Math.max(1, o.managers ?? 2) : 1;
    let storeUrl = `embedded://${join(root, 'manager', 'state.json')}`;
    // etcd holds the cluster's state: mutual TLS with its own CA, whose client
    // certificates only managers get (an agent's cluster certificate does not open it)
    const etcdCa = join(pki, 'etcd-ca');
    if (o.store === 'etcd') {
      const base = o.etcdBasePort ?? 23790;
      await createClusterCa(etcdCa);
      const server = await issueToDirectory(etcdCa, 'manager', 'etcd', join(pki, 'etcd-server'), {
        ipAddresses: ['127.0.0.1'],
        dnsNames: ['localhost'],
        overwrite: true,
      });
      const { caPath, certPath, keyPath: serverKey } = server.paths;
      const plan = etcdClusterPlan({
        members: 3,
        host: '127.0.0.1',
        ports: Array.from({ length: 6 }, (_, i) => base + i),
        dataDir: join(root, 'manager', 'etcd'),
        tls: { caFile: caPath, certFile: certPath, keyFile: serverKey },
      });
      mkdirSync(join(root, 'manager', 'etcd'), { recursive: true, mode: 0o700 });
      for (const m of plan) cluster.spawnInRoot(`etcd-${m.name}`, 'etcd', m.args);
      storeUrl = `etcd://${plan.map((m) => m.clientUrl.replace('https://', '')).join(',')}/lifeboat`;
      await waitForEtcd(
        plan.map((m) => m.clientUrl),
        await loadTlsBundle(join(pki, 'etcd-server')),
      );
      note('store', `etcd with 3 members, mutual TLS (CA ${etcdCa}): ${storeUrl}`);
    }
    const discovery = o.discovery ?? 'heartbeat';
    const agentAddresses = up.hosts.map((h) => `${h.address}:${AGENT_PORT}`);
    let discoveryArgs: string[] = [];
    if (discovery === 'nodes') discoveryArgs = ['--discovery', `nodes://${agentAddresses.join(',')}`];
    if (discovery === 'file') {
      const file = join(root, 'manager', 'hosts');
      mkdirSync(join(root, 'manager'), { recursive: true, mode: 0o700 });
      writeFileSync(file, `# lifeboat up: the agents' node APIs\n${agentAddresses.join('\n')}\n`);
      discoveryArgs = ['--discovery', `file://${file}`];
    }
    if (discovery !== 'heartbeat') note('discovery', `managers poll the agents: ${discoveryArgs[1]}`);
    const managers: ClusterUpResult['managers'] = [];
    const spawnManager = (i: number, caDir: string): void => {
      const name = `manager-${i + 1}`;
      cluster.spawnManager(
        [
          'manage',
          '--name',
          name,
          '--listen',
          `${gw}:${managerPort + i}`,
          '--docker',
          dockerAddress(i),
          ...(o.forwardPorts && i === 0 ? ['--forward-ports', '127.0.0.1'] : []),
          '--store',
          storeUrl,
          ...(o.store === 'etcd' ? ['--replication', '--etcd-pki', join(pki, `${name}-etcd`)] : []),
          ...discoveryArgs,
          '--pki',
          join(pki, name),
          '--ca',
          caDir,
          '--docker-checkpoint-dir',
          join(root, 'manager', 'docker-checkpoints'),
          '--cluster-key',
          keyPath,
          '--failure-timeout',
          failure,
          // a cluster network of its own per local cluster (10.99.0.0/24 -> 10.199.0.0/16), routed from this machine
          '--cluster-subnet',
          clusterSubnetFor(gw),
          '--cluster-routes',
          ...(o.managerArgs ?? []),
        ],
        { role: name, ...skewEnv(o.clockSkew, name) },
      );
      managers.push({
        name,
        url: `https://${gw}:${managerPort + i}`,
        dockerHost: dockerAddress(i),
      });
    };
    const etcdClient = async (name: string): Promise<void> => {
      if (o.store === 'etcd')
        await issueToDirectory(etcdCa, 'manager', name, join(pki, `${name}-etcd`), { overwrite: true });
    };
    // the first manager's certificate comes from the CA on this machine, as `lifeboat init` makes it
    await issueToDirectory(join(pki, 'ca'), 'manager', 'manager-1', join(pki, 'manager-1'), {
      ipAddresses: [gw, '127.0.0.1'],
      dnsNames: ['localhost'],
      overwrite: true,
    });
    await etcdClient('manager-1');
    spawnManager(0, join(pki, 'ca'));
    const managerUrl = managers[0]!.url;
    // the other replicas join it with a manager token, as an operator's second and third managers would
    if (replicas > 1) {
      const token = await joinToken(managerUrl, join(pki, 'client'), root, 'manager');
      for (let i = 1; i < replicas; i++) {
        const name = `manager-${i + 1}`;
        await etcdClient(name);
        await joinCluster({
          manager: managerUrl,
          token,
          name,
          ipAddresses: [gw, '127.0.0.1'],
          dnsNames: ['localhost'],
          pkiDir: join(pki, name),
          caDir: join(pki, `${name}-ca`),
          clusterKeyPath: keyPath,
          force: true,
        });
        spawnManager(i, join(pki, `${name}-ca`));
      }
      note('managers', `${replicas - 1} replica(s) joined ${managers[0]!.name} with a manager token`);
    }
    const managerList = managers.map((m) => m.url.replace('https://', '')).join(',');
    // the hosts join as an operator's would: a token, a key made for each host, a certificate request
    const token = await joinToken(managerUrl, join(pki, 'client'), root, 'agent');
    // each from inside its host, with the command an operator types there
    await Promise.all(
      up.hosts.map(async (h) => {
        const p = cluster
          .host(h.name)
          .spawnInHost(
            BIN,
            [
              'join',
              '--token',
              token,
              '--name',
              h.name,
              '--address',
              h.address,
              '--pki',
              join(pki, 'agents', h.name),
              '--cluster-key',
              keyPath,
              '--force',
              new URL(managerUrl).host,
            ],
            { role: 'join', awaited: true },
          );
        const code = await p.exited;
        if (code !== 0)
          throw new LifeboatError(
            'cluster_not_ready',
            `host ${h.name} could not join (lifeboat join exited ${code})`,
            {
              hint: `see ${p.logFile}`,
            },
          );
      }),
    );
    note(
      'join',
      `${up.hosts.length} hosts joined with an agent token (keys made per host, certificates signed by ${managers[0]!.name})`,
    );
    for (const h of up.hosts) {
      const agentPki = join(pki, 'agents', h.name);
      cluster
        .host(h.name)
        .spawnInHost(
          BIN,
          [
            'agent',
            '--name',
            h.name,
            '--address',
            h.address,
            '--listen',
            `${h.address}:${AGENT_PORT}`,
            ...(discovery === 'heartbeat' ? ['--manager', managerList] : ['--polled']),
            '--podman-socket',
            h.podmanSocket,
            '--cgroup-parent',
            cluster.host(h.name).cgroupParent,
            '--checkpoint-dir',
            up.checkpointDir,
            '--cluster-key',
            keyPath,
            '--pki',
            agentPki,
            '--spool-dir',
            join(root, 'hosts', h.name, 'spool'),
            '--failure-timeout',
            failure,
            '--label',
            `zone=${h.name}`,
          ],
          { role: 'agent', restartOnBoot: true, ...skewEnv(o.clockSkew, h.name) },
        );
      // its own process, as its own unit on a real host: a killed agent leaves it watching
      cluster
        .host(h.name)
        .spawnInHost(
          BIN,
          [
            'fence-guard',
            '--contact-file',
            join(root, 'hosts', h.name, 'spool', 'last-contact'),
            '--podman-socket',
            h.podmanSocket,
          ],
          { role: 'fence-guard', restartOnBoot: true },
        );
    }
    const deadline = Date.now() + 60_000;
    let healthy = 0;
    while (Date.now() < deadline) {
      healthy = await nodesHealthy(managerUrl, join(pki, 'client'));
      if (healthy === up.hosts.length) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (healthy !== up.hosts.length) {
      throw new LifeboatError(
        'cluster_not_ready',
        `only ${healthy} of ${up.hosts.length} hosts joined the manager within 60 s`,
        {
          hint: `see ${join(root, 'logs')} and ${join(root, 'hosts')}/*/logs`,
        },
      );
    }
    note('hosts', `manager ${managerUrl} sees ${healthy} healthy hosts`);
    return {
      managerUrl,
      dockerHost: dockerAddress(0),
      managers,
      storeUrl,
      pkiDir: join(pki, 'client'),
      clusterRoot: root,
      hosts: up.hosts.map((h) => ({ name: h.name, address: h.address })),
      ms: Date.now() - t0,
    };
  } catch (err) {
    await cluster.down().catch(() => undefined);
    throw err;
  }
}

/**
 * Takes down the local cluster at `root`. Its names come from what is
 * recorded there; pass `cluster` (bridge, subnet, name prefix) when a crash
 * may have left nothing recorded, or only what lies under `root` is removed.
 */
export async function clusterDown(
  root?: string,
  onProgress?: ProgressFn,
  cluster?: ClusterUpOptions['cluster'],
): Promise<{ removed: string[]; ms: number }> {
  const local = new LocalCluster({
    ...(cluster ?? {}),
    ...(root ? { root } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  const r = await local.down();
  rmSync(join(local.root, 'pki'), { recursive: true, force: true });
  return r;
}
