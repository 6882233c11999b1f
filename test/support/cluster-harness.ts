import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { NodeService } from '../../src/agent/node-service.ts';
import { generateClusterKey, Keyring } from '../../src/checkpoint/crypto/index.ts';
import { CheckpointStore } from '../../src/checkpoint/store/index.ts';
import { probeHostCapabilities } from '../../src/engine/capabilities.ts';
import { ClusterState } from '../../src/manager/cluster-state.ts';
import { EventLog } from '../../src/manager/events.ts';
import { Migrator } from '../../src/manager/migrate.ts';
import { NodeRegistry } from '../../src/manager/node-registry.ts';
import { createInCluster } from '../../src/manager/placement.ts';
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
  host(name: string): TestHost;
  silence(name: string): void;
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
  opts: { failureTimeoutMs?: number } = {},
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
  const pump = (async () => {
    while (pumping) {
      await new Promise((r) => setTimeout(r, 300));
      if (pumping) await heartbeatsNow();
    }
  })();
  return {
    hosts,
    services,
    state,
    events,
    registry,
    scheduler,
    migrator,
    checkpointRoot: `${root}/checkpoints`,
    host: (name) => hosts.find((h) => h.name === name)!,
    silence: (name) => silenced.add(name),
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
      await pump;
      await kv.close();
      for (const h of hosts) await h.destroy();
      await removeTree(root);
      await cleanupTestNetwork();
    },
  };
}
