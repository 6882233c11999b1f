import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../util/process-metrics.ts';
import type { ClusterEvent, EventLog } from './events.ts';
import type { NodeRecord } from './records.ts';

/** What the manager knows at scrape time. */
export interface ManagerView {
  name: string;
  isLeader: () => boolean;
  nodes: () => Promise<NodeRecord[]>;
  /** How long this manager has heard nothing from a host, on its own clock. */
  silentMs: (host: string) => number;
}

/** Checkpoint failure messages in a few bounded kinds (a label per message would grow without end). */
export function failureKind(reason: string): string {
  const r = reason.toLowerCase();
  if (/quota/.test(r)) return 'quota_exceeded';
  if (/store .* has .* free|store_full|no room/.test(r)) return 'store_full';
  if (/spool/.test(r)) return 'spool_full';
  if (/host .* (is down|not answering)|no heartbeat|econnrefused|ehostunreach|timed? ?out/.test(r))
    return 'host_unreachable';
  if (/criu|dump|checkpoint failed|runc/.test(r)) return 'criu';
  if (/no such container|not running/.test(r)) return 'container_gone';
  return 'other';
}

const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

/**
 * The manager's Prometheus metrics. Most come from its event log (every
 * decision is an event), the rest are read from the cluster state when
 * scraped. docs/metrics.md lists them.
 */
export class ManagerMetrics {
  readonly registry = new Registry();
  private readonly lastGood = new Map<string, number>();

  readonly checkpointSeconds = new Histogram({
    name: 'lifeboat_checkpoint_duration_seconds',
    help: 'Ticker checkpoints: dump plus store, per completed version',
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly frozenSeconds = new Histogram({
    name: 'lifeboat_checkpoint_frozen_seconds',
    help: "Time a container's processes were frozen by CRIU for a checkpoint (ticker checkpoints and migrations)",
    labelNames: ['kind'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly archiveBytes = new Histogram({
    name: 'lifeboat_checkpoint_archive_bytes',
    help: 'Size of each stored checkpoint version',
    buckets: [1e6, 1e7, 5e7, 1e8, 5e8, 1e9, 4e9],
    registers: [this.registry],
  });
  readonly storeSeconds = new Histogram({
    name: 'lifeboat_store_request_duration_seconds',
    help: 'Cluster store (etcd) requests made by this manager, by operation and outcome',
    labelNames: ['op', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly migrationPhaseSeconds = new Histogram({
    name: 'lifeboat_migration_phase_duration_seconds',
    help: "Successful live migrations' phases (thesis Figure 4.1): create, preDump, checkpoint, transfer, restore, remove",
    labelNames: ['phase'],
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly checkpointFailures = new Counter({
    name: 'lifeboat_checkpoint_failures_total',
    help: 'Ticker checkpoints that failed, by kind of failure',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly migrations = new Counter({
    name: 'lifeboat_migrations_total',
    help: 'Live migrations by outcome (done, failed)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly migrationSeconds = new Histogram({
    name: 'lifeboat_migration_duration_seconds',
    help: 'Total time of each successful live migration',
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly restores = new Counter({
    name: 'lifeboat_restores_total',
    help: 'Containers brought back after a host failure, by outcome (restored from a checkpoint, fresh without state, failed, none)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly restoreSeconds = new Histogram({
    name: 'lifeboat_restore_duration_seconds',
    help: 'From the start of a restore after a host failure to the container running again',
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly detectionSeconds = new Histogram({
    name: 'lifeboat_failure_detection_seconds',
    help: 'Silence of a host when it was declared failed (against the failure timeout)',
    buckets: [1, 2, 3, 5, 7.5, 10, 15, 30, 60],
    registers: [this.registry],
  });
  readonly placementSeconds = new Histogram({
    name: 'lifeboat_placement_decision_seconds',
    help: "Placing a new container: from the create request to the host chosen (the host's own create not included)",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly hostEvents = new Counter({
    name: 'lifeboat_host_events_total',
    help: 'Host membership changes: join, failed, recovered, reboot',
    labelNames: ['event'],
    registers: [this.registry],
  });
  readonly elections = new Counter({
    name: 'lifeboat_leader_elections_total',
    help: 'Times this manager became the leader',
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'lifeboat_docker_api_requests_total',
    help: 'Docker API requests by route and status class',
    labelNames: ['route', 'code'],
    registers: [this.registry],
  });
  readonly apiSeconds = new Histogram({
    name: 'lifeboat_docker_api_request_duration_seconds',
    help: 'Docker API request latency by route (until the answer ends; streams excluded)',
    labelNames: ['route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });

  constructor(
    private readonly view: ManagerView,
    events: EventLog,
  ) {
    collectProcessMetrics(this.registry, 'lifeboat_manager_');
    events.subscribe((e) => this.onEvent(e));
    const hosts = async (): Promise<NodeRecord[]> => view.nodes().catch(() => []);
    new Gauge({
      name: 'lifeboat_hosts',
      help: 'Hosts by state (healthy, failed)',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const all = await hosts();
        this.reset();
        for (const state of ['healthy', 'failed'])
          this.set({ state }, all.filter((n) => n.status === state).length);
      },
    });
    new Gauge({
      name: 'lifeboat_host_heartbeat_age_seconds',
      help: 'Time since the last heartbeat of each host, on this manager’s clock',
      labelNames: ['host'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const n of await hosts()) this.set({ host: n.report.name }, view.silentMs(n.report.name) / 1000);
      },
    });
    new Gauge({
      name: 'lifeboat_host_containers',
      help: 'Containers on each host by state (running, other), as the host last reported',
      labelNames: ['host', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const n of await hosts()) {
          const running = n.report.containers.filter((c) => c.State === 'running').length;
          this.set({ host: n.report.name, state: 'running' }, running);
          this.set({ host: n.report.name, state: 'other' }, n.report.containers.length - running);
        }
      },
    });
    const lastGood = this.lastGood;
    new Gauge({
      name: 'lifeboat_recovery_point_seconds',
      help: "Age of each protected container's newest good checkpoint: the state it would lose if its host died now",
      labelNames: ['container'],
      registers: [this.registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const [container, at] of lastGood) this.set({ container }, (now - at) / 1000);
      },
    });
    new Gauge({
      name: 'lifeboat_leader',
      help: '1 when this manager leads the cluster',
      labelNames: ['manager'],
      registers: [this.registry],
      collect() {
        this.set({ manager: view.name }, view.isLeader() ? 1 : 0);
      },
    });
  }

  private onEvent(e: ClusterEvent): void {
    const f = e.fields ?? {};
    const num = (k: string): number | undefined => (typeof f[k] === 'number' ? (f[k] as number) : undefined);
    switch (e.type) {
      case 'checkpoint.done': {
        const ms = num('durationMs');
        if (ms !== undefined) this.checkpointSeconds.observe(ms / 1000);
        const frozen = num('frozenTimeUs');
        if (frozen !== undefined) this.frozenSeconds.observe({ kind: 'checkpoint' }, frozen / 1e6);
        const bytes = num('bytes');
        if (bytes !== undefined) this.archiveBytes.observe(bytes);
        if (e.container) this.lastGood.set(e.container, Date.parse(e.time));
        break;
      }
      case 'checkpoint.failed':
        this.checkpointFailures.inc({ kind: failureKind(String(f['reason'] ?? e.message)) });
        break;
      case 'migrate.done': {
        this.migrations.inc({ outcome: 'done' });
        const ms = num('totalMs');
        if (ms !== undefined) this.migrationSeconds.observe(ms / 1000);
        const frozen = num('frozenTimeUs');
        if (frozen !== undefined) this.frozenSeconds.observe({ kind: 'migration' }, frozen / 1e6);
        for (const phase of ['create', 'preDump', 'checkpoint', 'transfer', 'restore', 'remove']) {
          const v = num(`${phase}Ms`);
          if (v !== undefined) this.migrationPhaseSeconds.observe({ phase }, v / 1000);
        }
        break;
      }
      case 'migrate.failed':
        this.migrations.inc({ outcome: 'failed' });
        break;
      case 'restore.done': {
        this.restores.inc({ outcome: 'restored' });
        const ms = num('durationMs');
        if (ms !== undefined) this.restoreSeconds.observe(ms / 1000);
        break;
      }
      case 'restore.fresh':
        this.restores.inc({ outcome: 'fresh' });
        break;
      case 'restore.failed':
        this.restores.inc({ outcome: 'failed' });
        break;
      case 'restore.none':
        this.restores.inc({ outcome: 'none' });
        break;
      case 'node.failed': {
        this.hostEvents.inc({ event: 'failed' });
        const silent = /no heartbeat for (\d+) ms/.exec(e.message)?.[1];
        if (silent) this.detectionSeconds.observe(Number(silent) / 1000);
        break;
      }
      case 'container.create': {
        const ms = num('decisionMs');
        if (ms !== undefined) this.placementSeconds.observe(ms / 1000);
        break;
      }
      case 'node.join':
      case 'node.recovered':
      case 'node.reboot':
        this.hostEvents.inc({ event: e.type.slice('node.'.length) });
        break;
      case 'manager.leader':
        this.elections.inc();
        break;
      case 'container.remove':
      case 'ticker.disarmed':
        if (e.container) this.lastGood.delete(e.container);
        break;
    }
  }

  /** Records one Docker API request (route pattern, not the path: labels stay bounded). */
  observeRequest(route: string, status: number, seconds: number): void {
    this.apiRequests.inc({ route, code: `${Math.floor(status / 100)}xx` });
    this.apiSeconds.observe({ route }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
