import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../util/process-metrics.ts';

/** What the agent knows at scrape time. */
export interface AgentView {
  /** connected, fenced or reconciling; undefined before heartbeats start. */
  contactState: () => string | undefined;
  /** ms since a manager last accepted a heartbeat (on the agent's monotonic clock). */
  sinceContactMs: () => number | undefined;
  containers: () => Promise<{ running: number; all: number }>;
}

/**
 * A host agent's Prometheus metrics: its contact with the managers, its
 * containers, the checkpoints it dumped and the bytes it moved. Scraped by
 * managers over the node API's mutual TLS (`GET /v1/metrics`) or on the
 * agent's loopback `--metrics-listen`. docs/metrics.md lists them.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;

  readonly fences = new Counter({
    name: 'lifeboat_agent_fences_total',
    help: 'Times this agent fenced its host (killed its restore-policy containers) after losing every manager',
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: 'lifeboat_agent_bytes_total',
    help: 'Bytes this agent moved on the data plane, by direction and kind (checkpoint and image streams to peers or managers, migrations received)',
    labelNames: ['direction', 'kind'],
    registers: [this.registry],
  });
  readonly dumps = new Counter({
    name: 'lifeboat_agent_checkpoints_total',
    help: 'Checkpoints this host dumped into the store, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly dumpSeconds = new Histogram({
    name: 'lifeboat_agent_checkpoint_dump_seconds',
    help: 'CRIU dump time of each checkpoint written to the store',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });

  constructor(view: AgentView) {
    collectProcessMetrics(this.registry, 'lifeboat_agent_');
    new Gauge({
      name: 'lifeboat_agent_contact_state',
      help: "1 for the agent's current contact state with the managers (connected, fenced, reconciling)",
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const now = view.contactState();
        for (const s of ['connected', 'fenced', 'reconciling']) this.set({ state: s }, s === now ? 1 : 0);
      },
    });
    new Gauge({
      name: 'lifeboat_agent_seconds_since_contact',
      help: 'Seconds since a manager last accepted a heartbeat from this agent',
      registers: [this.registry],
      collect() {
        const ms = view.sinceContactMs();
        if (ms !== undefined) this.set(ms / 1000);
      },
    });
    new Gauge({
      name: 'lifeboat_agent_containers',
      help: "Containers on this host's Podman, running and all",
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const c = await view.containers().catch(() => undefined);
        if (!c) return;
        this.set({ state: 'running' }, c.running);
        this.set({ state: 'all' }, c.all);
      },
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
