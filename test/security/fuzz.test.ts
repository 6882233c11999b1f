import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodmanDockerBackend } from '../../src/api/docker/podman-backend.ts';
import { startDockerApiServer } from '../../src/api/docker/server.ts';
import type { RunningServer } from '../../src/api/http/serve.ts';
import { createLogger } from '../../src/util/log.ts';
import { Manager } from '../../src/manager/manager.ts';
import { createClusterCa, issueToDirectory, loadTlsBundle } from '../../src/pki/index.ts';
import { openStore, type ClusterStore } from '../../src/store/index.ts';
import { cleanupTestNetwork, startTestHost, type TestHost } from '../support/podman-host.ts';
import {
  dockerRequest,
  lifeboatRequest,
  Rng,
  type FuzzRequest,
  type LifeboatFuzzRequest,
} from './fuzz-requests.ts';
import { plainConnect, sendRaw, tlsConnect, type Connect, type RawAnswer } from './raw-http.ts';

// A seeded barrage of malformed requests against the APIs lifeboat serves.
// Every answer must be a 4xx with a message (odd but well-formed requests
// may also succeed), never a 5xx, never a hang, never a crash, and the
// server must work normally afterwards. Reproduce a failure with
// LIFEBOAT_FUZZ_SEED=<seed> (printed in every failure report).
const SEED = Number(process.env['LIFEBOAT_FUZZ_SEED'] ?? 0x1b0a7);
const DOCKER_REQUESTS = Number(process.env['LIFEBOAT_FUZZ_REQUESTS'] ?? 4000);
// The count is the goal; the budgets only stop a barrage that a loaded machine (a benchmark alongside
// on 2 cores) slows far down, so the floors below judge the server, not the load. Hangs are caught
// per request by REQUEST_TIMEOUT_MS.
const DOCKER_BUDGET_MS = 120_000;
const MANAGER_REQUESTS = Number(process.env['LIFEBOAT_FUZZ_MANAGER_REQUESTS'] ?? 3000);
const MANAGER_BUDGET_MS = 60_000;
const REQUEST_TIMEOUT_MS = 15_000;
const CONCURRENCY = 6;
const PRESENT_IMAGE = 'busybox';
const MISSING_IMAGE = 'localhost/lifeboat/fuzz-missing:never';
/** A running container the barrage aims malformed queries at; it must survive them. */
const LIVE = 'tsec2-live';

interface Failure {
  kind: string;
  request: string;
  problem: string;
}

interface Report {
  sent: number;
  /** How long the barrage took, for the rate in the summary. */
  ms: number;
  byStatus: Map<number, number>;
  byKind: Map<string, number>;
  created: number;
  failures: Failure[];
}

function describeRequest(r: FuzzRequest): string {
  const text = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body.toString() : r.body;
  const body = text === undefined ? '' : ` body(${text.length})=${JSON.stringify(text.slice(0, 120))}`;
  return `${r.method} ${r.path.slice(0, 200)}${r.chunked === true ? ' [chunked]' : ''}${body}`;
}

/** What is wrong with an answer, or undefined when it is acceptable. */
function judge(req: FuzzRequest, a: RawAnswer): string | undefined {
  if (a.status >= 500) return `status ${a.status}: ${a.body.toString().slice(0, 300)}`;
  if (req.malformed && (a.status < 400 || a.status > 499)) return `expected a 4xx, got ${a.status}`;
  if (a.status >= 400 && req.method !== 'HEAD') {
    let message: unknown;
    try {
      message = (JSON.parse(a.body.toString()) as { message?: unknown }).message;
    } catch {
      return `status ${a.status} without a JSON body: ${JSON.stringify(a.body.toString().slice(0, 200))}`;
    }
    if (typeof message !== 'string' || message.trim() === '') return `status ${a.status} without a message`;
  }
  return undefined;
}

async function barrage<R extends FuzzRequest>(opts: {
  /** Which connection (identity) a request goes over. */
  connectFor: (req: R) => Connect;
  next: (rng: Rng) => R;
  count: number;
  budgetMs: number;
  /** Cleans up after a request that succeeded (e.g. removes a container it created). */
  onSuccess?: (req: R, a: RawAnswer) => Promise<string | undefined>;
}): Promise<Report> {
  const rng = new Rng(SEED);
  const report: Report = { sent: 0, ms: 0, byStatus: new Map(), byKind: new Map(), created: 0, failures: [] };
  const started = Date.now();
  const deadline = started + opts.budgetMs;
  const worker = async (): Promise<void> => {
    while (report.sent < opts.count && Date.now() < deadline) {
      const req = opts.next(rng);
      report.sent++;
      report.byKind.set(req.kind, (report.byKind.get(req.kind) ?? 0) + 1);
      let answer: RawAnswer;
      try {
        answer = await sendRaw(opts.connectFor(req), req, REQUEST_TIMEOUT_MS);
      } catch (err) {
        report.failures.push({ kind: req.kind, request: describeRequest(req), problem: String(err) });
        continue;
      }
      report.byStatus.set(answer.status, (report.byStatus.get(answer.status) ?? 0) + 1);
      const problem = judge(req, answer);
      if (problem !== undefined)
        report.failures.push({ kind: req.kind, request: describeRequest(req), problem });
      else if (answer.status < 300 && opts.onSuccess) {
        const cleanup = await opts.onSuccess(req, answer);
        if (cleanup !== undefined)
          report.failures.push({ kind: req.kind, request: describeRequest(req), problem: cleanup });
        else report.created++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  report.ms = Date.now() - started;
  return report;
}

function summary(name: string, r: Report): string {
  const statuses = [...r.byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  const kinds = [...r.byKind.entries()].map(([k, n]) => `${k}:${n}`).join(' ');
  const failures = r.failures
    .slice(0, 25)
    .map((f) => `  [${f.kind}] ${f.request}\n      -> ${f.problem}`)
    .join('\n');
  return (
    `${name}: seed ${SEED}, ${r.sent} requests in ${r.ms} ms (${Math.round((r.sent * 1000) / Math.max(1, r.ms))}/s), ` +
    `${r.created} accepted and cleaned up\n` +
    `  statuses ${statuses}\n  kinds ${kinds}\n` +
    (r.failures.length > 0 ? `${r.failures.length} failures (first 25):\n${failures}` : 'no failures')
  );
}

async function call(connect: Connect, method: string, path: string, body?: unknown): Promise<RawAnswer> {
  return sendRaw(
    connect,
    {
      kind: 'check',
      method,
      path,
      malformed: false,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    },
    REQUEST_TIMEOUT_MS,
  );
}

/** After the barrage: ping, then a container's whole life through the same server. */
async function stillWorks(connect: Connect, name: string): Promise<void> {
  const ping = await call(connect, 'GET', '/_ping');
  assert.equal(ping.status, 200);
  assert.equal(ping.body.toString(), 'OK');
  const created = await call(connect, 'POST', `/v1.47/containers/create?name=${name}`, {
    Image: PRESENT_IMAGE,
    Cmd: ['sleep', '60'],
  });
  assert.equal(created.status, 201, created.body.toString());
  assert.equal((await call(connect, 'POST', `/v1.47/containers/${name}/start`)).status, 204);
  const inspect = await call(connect, 'GET', `/v1.47/containers/${name}/json`);
  assert.equal(inspect.status, 200);
  assert.equal((JSON.parse(inspect.body.toString()) as { State: { Running: boolean } }).State.Running, true);
  assert.equal((await call(connect, 'DELETE', `/v1.47/containers/${name}?force=1`)).status, 204);
  assert.equal((await call(connect, 'GET', `/v1.47/containers/${name}/json`)).status, 404);
}

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => {
  unhandled.push(err);
};

describe('fuzz: the Docker API over a real Podman host', () => {
  let host: TestHost;
  let server: RunningServer;
  let connect: Connect;
  let checkpointDir: string;
  const serverLog: string[] = [];

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    host = await startTestHost('tsec2', 41);
    checkpointDir = mkdtempSync(join(tmpdir(), 'lifeboat-tsec2-checkpoints-'));
    const logger = createLogger('docker-api', (l) => serverLog.push(l));
    const backend = new PodmanDockerBackend({
      podman: host.podman,
      cgroupParent: host.service.cgroupParent,
      checkpointDir,
      node: { name: host.name, address: host.address },
      logger,
    });
    server = await startDockerApiServer({ backend, logger });
    connect = plainConnect(server.host, server.port);
    const made = await call(connect, 'POST', `/containers/create?name=${LIVE}`, {
      Image: PRESENT_IMAGE,
      Cmd: ['sleep', '600'],
    });
    assert.equal(made.status, 201, made.body.toString());
    assert.equal((await call(connect, 'POST', `/containers/${LIVE}/start`)).status, 204);
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    // twice: a container sharing another's network namespace must go first
    for (let pass = 0; host && pass < 2; pass++) {
      for (const c of await host.podman.listContainers({ all: true }).catch(() => []))
        await host.podman.removeContainerIfExists(c.Id).catch(() => false);
    }
    await server?.close();
    await host?.destroy();
    await cleanupTestNetwork();
    if (checkpointDir) rmSync(checkpointDir, { recursive: true, force: true });
  });

  test(`up to ${DOCKER_REQUESTS} malformed requests: only 4xx with a message, no 5xx, no hang, no crash`, async () => {
    const report = await barrage({
      connectFor: () => connect,
      count: DOCKER_REQUESTS,
      budgetMs: DOCKER_BUDGET_MS,
      next: (rng) =>
        dockerRequest(rng, {
          hugeBytes: 1024 * 1024,
          missingImage: MISSING_IMAGE,
          presentImage: PRESENT_IMAGE,
          liveTarget: LIVE,
        }),
      onSuccess: async (req, a) => {
        if (req.kind !== 'create-mutated' || a.status !== 201) return `unexpected success ${a.status}`;
        const id = (JSON.parse(a.body.toString()) as { Id: string }).Id;
        const removed = await call(connect, 'DELETE', `/containers/${id}?force=1`);
        return removed.status === 204 ? undefined : `could not remove ${id}: ${removed.status}`;
      },
    });
    const text = summary('Docker API', report);
    process.stdout.write(text + '\n');
    assert.deepEqual(report.failures, [], text);
    const live = await call(connect, 'GET', `/containers/${LIVE}/json`);
    assert.equal((JSON.parse(live.body.toString()) as { State: { Running: boolean } }).State.Running, true);
    assert.ok(
      report.sent >= Math.min(DOCKER_REQUESTS, 1000),
      `only ${report.sent} requests in the time budget`,
    );
    assert.deepEqual(unhandled, [], 'no unhandled rejection or exception');
    assert.equal(
      serverLog.filter((l) => /unexpected error/.test(l)).length,
      0,
      serverLog.filter((l) => /unexpected error/.test(l)).join('\n'),
    );
  });

  // Requests that pass the router's checks and used to reach Podman (or the
  // file system) with a live container behind them: each was a 5xx or a hang.
  test('malformed requests aimed at a running container: 4xx with a message, container unharmed', async () => {
    const target = LIVE;
    const file = join(checkpointDir, 'a-file');
    writeFileSync(file, 'not a directory');
    const cases: [string, string, unknown?][] = [
      ['POST', `/containers/${target}/kill?signal=SIGFOO`],
      ['POST', `/containers/${target}/kill?signal=0`],
      ['POST', `/containers/${target}/kill?signal=99`],
      ['POST', `/containers/${target}/stop?t=99999999999999999999`],
      ['POST', `/containers/${target}/stop?t=9999999`],
      ['POST', `/containers/${target}/restart?t=99999999999`],
      ['POST', `/containers/${target}/stop?signal=SIGBOGUS`],
      ['GET', `/containers/${target}/logs?stdout=1&tail=99999999999999999999999`],
      ['GET', `/containers/${target}/logs?stdout=1&since=abc`],
      ['POST', `/containers/${target}/attach?stream=1&stdout=1&detachKeys=garbage-keys`],
      ['POST', `/containers/${target}/checkpoints`, { CheckpointID: 'cp1', CheckpointDir: file }],
      ['POST', `/containers/${target}/checkpoints`, { CheckpointID: 'cp1', CheckpointDir: '/proc/self' }],
      [
        'POST',
        `/containers/${target}/checkpoints`,
        { CheckpointID: 'cp1', CheckpointDir: `/${'d'.repeat(300)}` },
      ],
      ['DELETE', `/containers/${target}/checkpoints/cp1?dir=${encodeURIComponent(file)}`],
      ['POST', `/containers/${target}/start?checkpoint=cp1&checkpoint-dir=${encodeURIComponent(file)}`],
      ['POST', '/containers/create', { Image: PRESENT_IMAGE, HostConfig: { VolumesFrom: ['zz-none'] } }],
      ['POST', '/containers/create', { Image: PRESENT_IMAGE, HostConfig: { VolumesFrom: [`${target}:zz`] } }],
      ['POST', '/containers/create', { Image: PRESENT_IMAGE, HostConfig: { Binds: ['/zz/none/here:/x'] } }],
      ['POST', '/containers/create', { Image: PRESENT_IMAGE, HostConfig: { Memory: 2 ** 63 } }],
      ['POST', '/containers/create', { Image: PRESENT_IMAGE, StopTimeout: 2 ** 64 }],
      [
        'POST',
        '/containers/create',
        { Image: PRESENT_IMAGE, HostConfig: { PortBindings: { '80/tcp': [{ HostIp: 'not-an-ip' }] } } },
      ],
      [
        'POST',
        '/containers/create',
        { Image: PRESENT_IMAGE, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '99999' }] } } },
      ],
      [
        'POST',
        '/containers/create',
        { Image: PRESENT_IMAGE, HostConfig: { NetworkMode: 'container:zz-none' } },
      ],
      ['POST', '/containers/create', { Image: PRESENT_IMAGE, HostConfig: { Links: ['zz-none:alias'] } }],
      ['POST', '/containers/create', { Image: '..' }],
      ['POST', '/containers/create', { Image: '\ud800' }],
      ['POST', `/containers/create?name=${target}`, { Image: PRESENT_IMAGE }],
      ['DELETE', `/containers/${target}`],
    ];
    const failures: string[] = [];
    for (const [method, path, body] of cases) {
      const started = Date.now();
      const a = await call(connect, method, path, body);
      const problem = judge({ kind: 'directed', method, path, malformed: true }, a);
      if (problem !== undefined) failures.push(`${method} ${path} ${JSON.stringify(body) ?? ''}: ${problem}`);
      // a slow path, not a hang (REQUEST_TIMEOUT_MS catches those): 10 s leaves room for a loaded machine
      if (Date.now() - started > 10_000) failures.push(`${method} ${path}: took ${Date.now() - started} ms`);
    }
    assert.deepEqual(failures, []);
    const inspect = await call(connect, 'GET', `/containers/${target}/json`);
    assert.equal(
      (JSON.parse(inspect.body.toString()) as { State: { Running: boolean } }).State.Running,
      true,
    );
    assert.deepEqual(unhandled, []);
  });

  test('the server still works: ping, create, start, inspect, remove', async () => {
    assert.ok(server.server.listening);
    await stillWorks(connect, 'tsec2-after');
  });
});

describe('fuzz: the manager (its Docker endpoint and the lifeboat API), no hosts joined', () => {
  let root: string;
  let store: ClusterStore;
  let manager: Manager;
  let docker: Connect;
  let asClient: Connect;
  let asAgent: Connect;
  let apiAddress: { host: string; port: number };

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    root = mkdtempSync(join(tmpdir(), 'lifeboat-fuzz-manager-'));
    const ca = join(root, 'ca');
    await createClusterCa(ca);
    await issueToDirectory(ca, 'manager', 'm1', join(root, 'm1'), { ipAddresses: ['127.0.0.1'] });
    await issueToDirectory(ca, 'client', 'alice', join(root, 'alice'));
    await issueToDirectory(ca, 'agent', 'node-x', join(root, 'node-x'));
    store = await openStore('memory:');
    manager = await Manager.start({
      name: 'm1',
      store,
      listen: { host: '127.0.0.1', port: 0 },
      tls: await loadTlsBundle(join(root, 'm1')),
      docker: { host: '127.0.0.1', port: 0 },
      failureTimeoutMs: 2000,
      dockerCheckpointDir: join(root, 'docker-checkpoints'),
    });
    const api = new URL(manager.apiUrl);
    const dockerUrl = new URL(manager.dockerUrl.replace(/^tcp:/, 'http:'));
    docker = plainConnect(dockerUrl.hostname, Number(dockerUrl.port));
    const identity = async (dir: string): Promise<Connect> => {
      const b = await loadTlsBundle(join(root, dir));
      return tlsConnect(api.hostname, Number(api.port), { ca: b.caPem, cert: b.certPem, key: b.keyPem });
    };
    asClient = await identity('alice');
    asAgent = await identity('node-x');
    apiAddress = { host: api.hostname, port: Number(api.port) };
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    await manager?.stop();
    await store?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test(`up to ${MANAGER_REQUESTS} malformed requests to the manager's Docker endpoint (Swarm expressions included)`, async () => {
    const report = await barrage({
      connectFor: () => docker,
      count: MANAGER_REQUESTS,
      budgetMs: MANAGER_BUDGET_MS,
      next: (rng) =>
        dockerRequest(rng, {
          hugeBytes: 1024 * 1024,
          missingImage: MISSING_IMAGE,
          presentImage: PRESENT_IMAGE,
        }),
    });
    const text = summary("manager's Docker endpoint", report);
    process.stdout.write(text + '\n');
    assert.deepEqual(report.failures, [], text);
    assert.ok(
      report.sent >= Math.min(MANAGER_REQUESTS, 1000),
      `only ${report.sent} requests in the time budget`,
    );
  });

  test(`up to ${MANAGER_REQUESTS} malformed requests to the lifeboat API over mutual TLS`, async () => {
    const report = await barrage<LifeboatFuzzRequest>({
      connectFor: (req) => (req.caller === 'agent' ? asAgent : asClient),
      count: MANAGER_REQUESTS,
      budgetMs: MANAGER_BUDGET_MS,
      next: (rng) => lifeboatRequest(rng, { hugeBytes: 4 * 1024 * 1024 }),
    });
    const text = summary('lifeboat API', report);
    process.stdout.write(text + '\n');
    assert.deepEqual(report.failures, [], text);
    assert.ok(
      report.sent >= Math.min(MANAGER_REQUESTS, 400),
      `only ${report.sent} requests in the time budget`,
    );
    assert.deepEqual(unhandled, [], 'no unhandled rejection or exception');
  });

  test('without a certificate of the cluster CA, the lifeboat API answers only the join endpoints', async () => {
    const foreign = join(root, 'foreign-ca');
    await createClusterCa(foreign);
    await issueToDirectory(foreign, 'client', 'mallory', join(root, 'mallory'));
    const mallory = await loadTlsBundle(join(root, 'mallory'));
    const { caPem } = await loadTlsBundle(join(root, 'alice'));
    for (const opts of [{ ca: caPem }, { ca: caPem, cert: mallory.certPem, key: mallory.keyPem }]) {
      const as = tlsConnect(apiAddress.host, apiAddress.port, opts);
      // joining hosts have no certificate yet, so the handshake completes; every request is then checked
      for (const [method, path] of [
        ['GET', '/lifeboat/v1/nodes'],
        ['POST', '/lifeboat/v1/heartbeat'],
        ['POST', '/lifeboat/v1/join-tokens/agent'],
        ['GET', '/lifeboat/v1/leader'],
        ['GET', '/ui/'],
        ['GET', '/lifeboat/forward/docker/v1.41/containers/json'],
      ] as const) {
        const r = await call(as, method, path);
        assert.equal(r.status, 401, `${method} ${path} without a cluster certificate: ${r.status}`);
      }
      assert.equal((await call(as, 'GET', '/lifeboat/v1/join/ca')).status, 200);
      // this manager was started without --ca: it says so rather than signing anything
      const joined = await call(as, 'POST', '/lifeboat/v1/join', { token: 'x', csr: 'y' });
      assert.equal(joined.status, 503);
      assert.match(joined.body.toString(), /holds no CA key/);
    }
  });

  test('the manager still works: ping, leader, nodes', async () => {
    const ping = await call(docker, 'GET', '/_ping');
    assert.equal(ping.status, 200);
    const leader = await call(asClient, 'GET', '/lifeboat/v1/leader');
    assert.equal(leader.status, 200);
    assert.equal((JSON.parse(leader.body.toString()) as { self: string }).self, 'm1');
    const nodes = await call(asClient, 'GET', '/lifeboat/v1/nodes');
    assert.equal(nodes.status, 200);
    assert.deepEqual(JSON.parse(nodes.body.toString()), [], 'no malformed heartbeat registered a node');
  });
});
