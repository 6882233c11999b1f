import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { NodeService } from '../../src/agent/node-service.ts';
import type { NodeReport } from '../../src/node-api/node-client.ts';
import { generateClusterKey, Keyring } from '../../src/checkpoint/crypto/index.ts';
import { CheckpointStore } from '../../src/checkpoint/store/index.ts';
import { probeHostCapabilities } from '../../src/engine/capabilities.ts';
import { ClusterState } from '../../src/manager/cluster-state.ts';
import { EventLog } from '../../src/manager/events.ts';
import { Migrator } from '../../src/manager/migrate.ts';
import { NodeRegistry } from '../../src/manager/node-registry.ts';
import { createInCluster } from '../../src/manager/placement.ts';
import { Rescheduler } from '../../src/manager/rescheduler.ts';
import { TickerService } from '../../src/manager/tickers.ts';
import { removeTree } from '../../src/devcluster/remove-tree.ts';
import { Scheduler } from '../../src/scheduler/index.ts';
import { EmbeddedStore } from '../../src/store/index.ts';
import { cleanupTestNetwork, startTestHost, TEST_ROOT, type TestHost } from './podman-host.ts';

/**
 * A cluster for manager tests: real hosts (Podman + CRIU in their own
 * namespaces), each with its agent's NodeService called in-process, a real
 * cluster store, and heartbeats pumped through the same registry code path
 * agents use. Silencing a host's heartbeats is how these tests "lose" it.
 */
export interface Harness {
  hosts: TestHost[];
  services: Map<string, NodeService>;
  state: ClusterState;
  events: EventLog;
  registry: NodeRegistry;
  scheduler: Scheduler;
  migrator: Migrator;
  checkpointRoot: string;
  /** Checkpoint tickers (Algorithm 1); containers are armed by the test. */
  tickers: TickerService;
  /** Restore rescheduling (Algorithm 2); driven by the failure detector when started with `ha`. */
  rescheduler: Rescheduler;
  host(name: string): TestHost;
  silence(name: string): void;
  /** Host failure: its heartbeats stop and its containers are killed, so a restore elsewhere cannot collide. */
  kill(name: string): Promise<void>;
  /** The host heartbeats again (its Podman state as the kill left it). */
  revive(name: string): void;
  heartbeatsNow(): Promise<void>;
  run(
    name: string,
    image: string,
    opts?: {
      env?: string[];
      labels?: Record<string, string>;
      command?: string[];
      ports?: [number, number][];
    },
  ): Promise<string>;
  destroy(): Promise<void>;
}

export async function startHarness(
  prefix: string,
  count: number,
  firstIndex: number,
  opts: {
    failureTimeoutMs?: number;
    /** Run the leader's failure detector: failed hosts go to the rescheduler, returning ones are reconciled. */
    ha?: boolean;
  } = {},
): Promise<Harness> {
  const hosts: TestHost[] = [];
  const root = `${TEST_ROOT}/${prefix}-shared`;
  await removeTree(root);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const key = await generateClusterKey(`${root}/cluster.key`);
  const store = new CheckpointStore({ root: `${root}/checkpoints`, keyring: new Keyring(key) });
  const caps = await probeHostCapabilities({ selfTest: false });
  const services = new Map<string, NodeService>();
  try {
    for (let i = 0; i < count; i++) hosts.push(await startTestHost(`${prefix}${i + 1}`, firstIndex + i));
  } catch (err) {
    for (const h of hosts) await h.destroy();
    throw err;
  }
  for (const h of hosts) {
    services.set(
      h.name,
      new NodeService({
        name: h.name,
        address: h.address,
        podman: h.podman,
        hostPaths: {
          runroot: h.service.runroot,
          graphroot: h.service.graphroot,
          cgroupParent: h.service.cgroupParent,
        },
        store,
        spoolDir: `${TEST_ROOT}/${h.name}/spool`,
        capabilities: caps,
        // agents reach each other in-process here: the caller is this host, as its certificate would say
        peers: (ref) => services.get(ref.name)!.peer(h.name),
        inHost: (cmd, args) => ['nsenter', [...h.sandbox.nsenterArgs(), cmd, ...args]],
      }),
    );
  }
  const kv = await EmbeddedStore.open({});
  const state = new ClusterState(kv);
  const events = new EventLog();
  const registry = new NodeRegistry({
    state,
    events,
    failureTimeoutMs: opts.failureTimeoutMs ?? 3000,
    clientFor: (rec) => {
      const s = services.get(rec.report.name);
      if (!s) throw new Error(`no service ${rec.report.name}`);
      return s;
    },
  });
  const scheduler = new Scheduler();
  const migrator = new Migrator({ state, nodes: registry, scheduler, events });
  const tickers = new TickerService({ state, nodes: registry, events });
  const rescheduler = new Rescheduler({ state, nodes: registry, scheduler, events, tickers });
  const silenced = new Set<string>();
  const bootIds = new Map(hosts.map((h) => [h.name, randomUUID()]));
  const heartbeatsNow = async (): Promise<void> => {
    for (const [name, svc] of services) {
      if (silenced.has(name)) continue;
      try {
        await registry.recordHeartbeat(await svc.report(), `local://${name}`, bootIds.get(name)!);
      } catch {
        // a host whose Podman is down sends no heartbeat, as its agent would
      }
    }
    await registry.refreshClients();
  };
  await heartbeatsNow();
  let pumping = true;
  // With `ha`, each host heartbeats on its own, as agents do, and its
  // heartbeat does not wait on Podman: while a host checkpoints or restores,
  // listing its containers takes seconds (the container locks are held),
  // which with a 2 s failure timeout would fail a host that is alive.
  const latest = new Map<string, NodeReport>();
  const hostPump = async (name: string, svc: NodeService): Promise<void> => {
    const refresh = (async () => {
      while (pumping) {
        if (!silenced.has(name)) {
          const t = Date.now();
          try {
            latest.set(name, await svc.report());
          } catch {
            // a host whose Podman is down sends no heartbeat, as its agent would
            latest.delete(name);
          }
          if (Date.now() - t > 1000)
            events.emit('harness.slow-report', `host ${name} took ${Date.now() - t} ms to list its state`, {
              node: name,
            });
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    while (pumping) {
      await new Promise((r) => setTimeout(r, 300));
      const report = latest.get(name);
      if (!pumping || silenced.has(name) || !report) continue;
      await registry.recordHeartbeat(report, `local://${name}`, bootIds.get(name)!).catch(() => undefined);
    }
    await refresh;
  };
  const pump = opts.ha
    ? Promise.all([...services].map(([name, svc]) => hostPump(name, svc)))
    : (async () => {
        while (pumping) {
          await new Promise((r) => setTimeout(r, 300));
          if (pumping) await heartbeatsNow();
        }
      })();
  const dispatched = new Set<Promise<unknown>>();
  const detector = opts.ha
    ? (async () => {
        while (pumping) {
          await new Promise((r) => setTimeout(r, 250));
          if (!pumping) break;
          const { failed, recovered } = await registry.detect().catch(() => ({ failed: [], recovered: [] }));
          const work = [
            ...failed.map((f) => rescheduler.onHostFailed(f)),
            ...recovered.map((r) => rescheduler.reconcileReturningHost(r)),
          ];
          for (const w of work) {
            const p = w.catch(() => undefined).finally(() => dispatched.delete(p));
            dispatched.add(p);
          }
        }
      })()
    : Promise.resolve();
  return {
    hosts,
    services,
    state,
    events,
    registry,
    scheduler,
    migrator,
    checkpointRoot: `${root}/checkpoints`,
    tickers,
    rescheduler,
    host: (name) => hosts.find((h) => h.name === name)!,
    silence: (name) => silenced.add(name),
    async kill(name) {
      silenced.add(name);
      const podman = services.get(name)!.podman;
      for (const c of await podman.listContainers({ all: false }))
        await podman.killContainer(c.Names[0] ?? c.Id).catch(() => undefined);
    },
    revive: (name) => silenced.delete(name),
    heartbeatsNow,
    async run(name, image, o = {}) {
      const { record } = await createInCluster(
        { state, nodes: registry, scheduler, events },
        {
          name,
          image,
          env: o.env ?? [],
          labels: o.labels ?? {},
          rest: {
            ...(o.command ? { command: o.command } : {}),
            portMappings: (o.ports ?? []).map(([hostPort, containerPort]) => ({ hostPort, containerPort })),
          },
        },
      );
      await services.get(record.node)!.start(name);
      await state.updateContainer(name, (r) => ({ ...r, phase: 'running' }));
      await heartbeatsNow();
      return record.node;
    },
    async destroy() {
      pumping = false;
      await tickers.stopAll();
      await pump;
      await detector;
      await Promise.all([...dispatched]);
      await kv.close();
      for (const h of hosts) await h.destroy();
      await removeTree(root);
      await cleanupTestNetwork();
    },
  };
}
