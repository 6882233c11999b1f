import http from 'node:http';
import { ManagerClient } from '../cli/manager-client.ts';
import { clusterDown, clusterUp, type ClusterUpResult } from '../devcluster/cluster-up.ts';
import { LocalCluster } from '../devcluster/local-cluster.ts';
import type { ClusterEvent } from '../manager/events.ts';
import { LifeboatError, ValidationError } from '../util/errors.ts';

/**
 * The benchmarks' own local cluster, beside a user's (own root, bridge,
 * subnet, host names and ports), so `lifeboat bench` never touches a
 * cluster started with `lifeboat up`.
 */
export type BenchStorage = 'dir' | 'tmpfs' | 'gluster';

export const BENCH_STORAGES: readonly BenchStorage[] = ['dir', 'tmpfs', 'gluster'];
/**
 * Where a bench cluster lives and what it is called: root, bridge, subnet,
 * host names and ports, all apart from a user's cluster and from each other.
 */
export interface BenchClusterSpec {
  root: string;
  /** On tmpfs the whole cluster root (Podman storage, spool, checkpoint store) lives in memory. */
  tmpfsRoot: string;
  cluster: { bridge: string; subnet: string; namePrefix: string };
  managerPort: number;
  dockerPort: number;
  etcdBasePort?: number;
}

/** The cluster of the measurement benches (migrate, ticker-overhead, failover, storage). */
export const BENCH_SPEC: BenchClusterSpec = {
  root: '/var/tmp/lifeboat-bench',
  tmpfsRoot: '/dev/shm/lifeboat-bench',
  cluster: { bridge: 'lbbench0', subnet: '10.95.0.0/24', namePrefix: 'b' },
  managerPort: 7460,
  dockerPort: 23760,
};

export function parseStorages(list: string[]): BenchStorage[] {
  for (const s of list)
    if (!(BENCH_STORAGES as readonly string[]).includes(s))
      throw new ValidationError(`--storage ${s}`, `use one or more of ${BENCH_STORAGES.join(', ')}`);
  return list as BenchStorage[];
}

/** Checkpoint intervals in seconds, as `--intervals` gives them: the ticker's minimum is 1 s. */
export function parseIntervals(list: readonly number[]): number[] {
  for (const s of list)
    if (!Number.isFinite(s) || s < 1)
      throw new ValidationError(`--intervals ${list.join(',')}`, 'give seconds >= 1, e.g. 5,10,30');
  return [...list];
}

export interface BenchCluster {
  up: ClusterUpResult;
  api: ManagerClient;
  local: LocalCluster;
  storage: BenchStorage;
  docker: DockerEndpoint;
  /** One per manager replica (the first is `docker`). */
  dockers: DockerEndpoint[];
  /** One per manager replica (the first is `api`). */
  apis: ManagerClient[];
}

export interface BenchClusterOptions {
  failureTimeoutMs?: number;
  /** Hosts (default 2). */
  nodes?: number;
  /** embedded (default): one manager; etcd: a 3-member etcd and `managers` replicas. */
  store?: 'embedded' | 'etcd';
  managers?: number;
  /** Default BENCH_SPEC. */
  spec?: BenchClusterSpec;
}

/** How long the bench cluster's manager waits for a heartbeat before a host counts as failed. */
export const BENCH_FAILURE_TIMEOUT_MS = 10_000;

/**
 * Runs `fn` against a fresh cluster (2 hosts unless `nodes` says otherwise)
 * and always takes the cluster down afterwards, also on Ctrl-C.
 * `failureTimeoutMs` defaults to 10 s: generous, so a loaded machine never
 * fails a host by mistake in the middle of a measurement.
 */
export async function withBenchCluster<T>(
  storage: BenchStorage,
  log: (line: string) => void,
  fn: (c: BenchCluster) => Promise<T>,
  opts: BenchClusterOptions = {},
): Promise<T> {
  const spec = opts.spec ?? BENCH_SPEC;
  const nodes = opts.nodes ?? 2;
  const root = storage === 'tmpfs' ? spec.tmpfsRoot : spec.root;
  // a bench killed half-way leaves its cluster behind: clear it first, by the bench's own names only
  await clusterDown(root, undefined, spec.cluster).catch(() => undefined);
  const managers = opts.store === 'etcd' ? Math.max(1, opts.managers ?? 2) : 1;
  log(
    `bringing up a ${nodes}-host bench cluster at ${root} (storage ${storage}` +
      (opts.store === 'etcd' ? `, ${managers} managers on etcd)` : ')'),
  );
  const up = await clusterUp({
    nodes,
    root,
    storage: storage === 'gluster' ? 'gluster' : 'dir',
    cluster: spec.cluster,
    managerPort: spec.managerPort,
    dockerPort: spec.dockerPort,
    failureTimeoutMs: opts.failureTimeoutMs ?? BENCH_FAILURE_TIMEOUT_MS,
    ...(opts.store === 'etcd'
      ? {
          store: 'etcd' as const,
          managers,
          ...(spec.etcdBasePort ? { etcdBasePort: spec.etcdBasePort } : {}),
        }
      : {}),
  });
  // Ctrl-C during a long bench must still leave no cluster behind. The bench goes on
  // meanwhile (a reboot it started may boot a host again), hence a second sweep.
  const interrupted = (): void => {
    log('interrupted: taking the bench cluster down');
    interruptedFlag = true;
    const down = (): Promise<unknown> => clusterDown(root, undefined, spec.cluster).catch(() => undefined);
    void down()
      .then(() => sleep(1_000))
      .then(down)
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    log(`cluster up in ${(up.ms / 1000).toFixed(1)} s: ${up.hosts.map((h) => h.name).join(', ')}`);
    const apis = await Promise.all(
      up.managers.map((m) =>
        ManagerClient.open({ managerUrl: m.url, pkiDir: up.pkiDir, dockerHost: m.dockerHost }),
      ),
    );
    const dockers = up.managers.map((_, i) => new DockerEndpoint('127.0.0.1', spec.dockerPort + i));
    return await fn({
      up,
      api: apis[0]!,
      apis,
      local: new LocalCluster({ root }),
      storage,
      docker: dockers[0]!,
      dockers,
    });
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await clusterDown(root, undefined, spec.cluster);
    log('bench cluster down');
  }
}

/** The few Docker API calls a bench needs, against the manager's Docker-compatible endpoint. */
export class DockerEndpoint {
  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** `timeoutMs`: give up (and reject) when the whole answer has not come by then. */
  request<T>(method: string, path: string, body?: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          method,
          path: `/v1.41${path}`,
          headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
        },
        (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (buf += d));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = buf ? JSON.parse(buf) : undefined;
            } catch {
              parsed = buf;
            }
            if (status >= 400) {
              const msg = (parsed as { message?: string } | undefined)?.message ?? `status ${status}`;
              reject(new LifeboatError('docker_api', `${method} ${path}: ${msg}`, { status }));
            } else resolve(parsed as T);
          });
          res.on('error', reject);
        },
      );
      if (opts.timeoutMs !== undefined) {
        const ms = opts.timeoutMs;
        const t = setTimeout(
          () =>
            req.destroy(new LifeboatError('docker_api_timeout', `${method} ${path}: no answer in ${ms} ms`)),
          ms,
        );
        req.on('close', () => clearTimeout(t));
      }
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** `docker run -d --name NAME -p HOSTPORT:PORT -e constraint:node==NODE [-l k=v] IMAGE [CMD]`. */
  async run(o: {
    name: string;
    image: string;
    node: string;
    port?: number;
    hostPort?: number;
    labels?: Record<string, string>;
    /** Further `-e` entries, e.g. Swarm's `reschedule:on-node-failure`. */
    env?: string[];
    cmd?: string[];
    /** `--network NAME`, e.g. the cluster network `lifeboat`. */
    network?: string;
  }): Promise<string> {
    const key = `${o.port ?? 0}/tcp`;
    const create = (): Promise<{ Id: string }> =>
      this.request<{ Id: string }>('POST', `/containers/create?name=${encodeURIComponent(o.name)}`, {
        Image: o.image,
        Env: [`constraint:node==${o.node}`, ...(o.env ?? [])],
        Labels: o.labels ?? {},
        ...(o.cmd ? { Cmd: o.cmd } : {}),
        ...(o.port ? { ExposedPorts: { [key]: {} } } : {}),
        HostConfig: {
          ...(o.port
            ? { PortBindings: { [key]: [{ HostIp: '', HostPort: String(o.hostPort ?? o.port) }] } }
            : {}),
          ...(o.network ? { NetworkMode: o.network } : {}),
        },
        ...(o.network ? { NetworkingConfig: { EndpointsConfig: { [o.network]: {} } } } : {}),
      });
    // Right after `up` the manager may know a host as healthy before it holds
    // a client for it (refreshed on its leader tick): give it a few ticks.
    let created: { Id: string } | undefined;
    for (let i = 0; !created; i++) {
      try {
        created = await create();
      } catch (err) {
        if (i >= 40 || !(err instanceof LifeboatError) || !/no host named/.test(err.message)) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await this.request('POST', `/containers/${encodeURIComponent(o.name)}/start`);
    return created.Id;
  }

  /** The container's address on a network (`docker inspect`). */
  async address(name: string, network: string): Promise<string> {
    const i = await this.request<{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>(
      'GET',
      `/containers/${encodeURIComponent(name)}/json`,
    );
    const ip = i.NetworkSettings.Networks[network]?.IPAddress;
    if (!ip) throw new LifeboatError('bench_no_address', `${name} has no address on ${network}`);
    return ip;
  }

  /** `docker stop -t SECONDS NAME`. */
  async stop(name: string, seconds = 1): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(name)}/stop?t=${seconds}`);
  }

  async remove(name: string): Promise<void> {
    await this.request('DELETE', `/containers/${encodeURIComponent(name)}?force=true`).catch(() => undefined);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let interruptedFlag = false;

/** Ctrl-C came: a bench stops starting new work (its cluster is being taken down). */
export function benchInterrupted(): boolean {
  return interruptedFlag;
}

/** Polls `fn` until it returns a value (errors count as "not yet"); throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
  periodMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(periodMs);
  }
  throw new LifeboatError('bench_timeout', `timed out after ${timeoutMs} ms waiting for ${what}`);
}

interface NodeSummary {
  name: string;
  status: string;
  containers: number;
  capabilities: { canPreDump: boolean; softDirty: string };
}

export function benchNodes(c: BenchCluster): Promise<NodeSummary[]> {
  return c.api.request<NodeSummary[]>('GET', '/lifeboat/v1/nodes');
}

/**
 * The manager places by its hosts' last heartbeat reports: right after a move
 * the source may still be listed with the container (and its port) for a
 * heartbeat or two. Moving back before that would be refused by the port
 * filter, so wait until the target is reported empty.
 */
export async function waitReportedEmpty(c: BenchCluster, host: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if ((await benchNodes(c)).find((n) => n.name === host)?.containers === 0) return;
    await sleep(100);
  }
  throw new LifeboatError('bench_stale_report', `host ${host} still reports containers after 15 s`);
}

/** Every host of the bench cluster is healthy again (after a kill and reboot). */
export async function waitAllHealthy(c: BenchCluster, timeoutMs = 90_000): Promise<void> {
  const want = c.up.hosts.map((h) => h.name);
  await waitFor(`hosts ${want.join(', ')} healthy`, timeoutMs, async () => {
    const nodes = await benchNodes(c);
    return want.every((h) => nodes.find((n) => n.name === h)?.status === 'healthy') ? true : undefined;
  });
}

/** The manager's events, optionally of one container, oldest first. */
export function clusterEvents(c: BenchCluster, container?: string): Promise<ClusterEvent[]> {
  return c.api.request<ClusterEvent[]>(
    'GET',
    `/lifeboat/v1/events${container ? `?container=${encodeURIComponent(container)}` : ''}`,
  );
}

/** Hosts can pre-dump (soft-dirty tracking)? If not, why, as `lifeboat node ls` says. */
export async function preDumpSupport(c: BenchCluster): Promise<{ canPreDump: boolean; why: string }> {
  const nodes = await benchNodes(c);
  const without = nodes.find((n) => !n.capabilities.canPreDump);
  return without
    ? { canPreDump: false, why: `${without.name}: ${without.capabilities.softDirty}` }
    : { canPreDump: true, why: 'every host tracks soft-dirty memory' };
}
