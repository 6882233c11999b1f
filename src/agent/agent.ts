import type { TlsBundle } from '../pki/index.ts';
import { createLogger, type Logger } from '../util/log.ts';
import { httpsUrl, type HostPort } from './agent-config.ts';
import { AgentNotReadyError, HeartbeatLoop } from './heartbeat.ts';
import { startNodeApi, type RunningNodeApi } from '../node-api/server.ts';
import { FrozenWatch } from './frozen-watch.ts';
import { HealthDriver } from './health-driver.ts';
import type { NodeService } from './node-service.ts';
import { AgentMetrics } from './agent-metrics.ts';
import { Router } from '../api/http/router.ts';
import { serve, type RunningServer } from '../api/http/serve.ts';

export interface AgentOptions {
  service: NodeService;
  /** The agent's identity (role agent, CN = node name) and the cluster CA. */
  tls: TlsBundle;
  /** Where the node API listens; port 0 picks a free one. */
  listen: HostPort;
  /** URL managers use to reach the node API; default from `listen` (or the node's address for 0.0.0.0). */
  advertiseUrl?: string;
  /** Managers to heartbeat to; none: wait to be polled by managers with static discovery. */
  managers: readonly HostPort[];
  heartbeatIntervalMs?: number;
  /** The managers' failure timeout until their first answer says otherwise. */
  failureTimeoutMs?: number;
  fenceMarginMs?: number;
  /** Keeps the time of the last accepted heartbeat across agent restarts (HeartbeatOptions.contactFile). */
  contactFile?: string;
  /** A plain loopback listener for /metrics, /healthz and /readyz (a local Prometheus or watchdog). */
  metricsListen?: HostPort;
  /**
   * Who runs containers' health checks: the agent (default; for hosts without
   * systemd, where Podman 4 runs none by itself) or Podman's systemd timers.
   */
  healthChecks?: 'agent' | 'podman';
  logger?: Logger;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::', '']);

/**
 * One host's agent: its NodeService served on the node API (mutual TLS,
 * managers only) and a heartbeat loop that keeps the host in the cluster
 * and fences it when cut off.
 */
export class Agent {
  readonly service: NodeService;
  readonly api: RunningNodeApi;
  readonly heartbeat: HeartbeatLoop;
  /** Thaws containers an interrupted checkpoint left frozen. */
  readonly frozenWatch: FrozenWatch;
  /** Runs containers' health checks (undefined: Podman's systemd timers do). */
  healthDriver: HealthDriver | undefined;
  /** The node API's URL as managers see it. */
  readonly url: string;
  private readonly log: Logger;
  private metricsServer: RunningServer | undefined;

  private constructor(
    service: NodeService,
    api: RunningNodeApi,
    heartbeat: HeartbeatLoop,
    url: string,
    log: Logger,
  ) {
    this.service = service;
    this.api = api;
    this.heartbeat = heartbeat;
    this.url = url;
    this.log = log;
    this.frozenWatch = new FrozenWatch(
      service.hostPaths.cgroupParent,
      () => service.dumpActivity(),
      log,
      undefined,
      () => service.pausedContainers(),
    );
    this.frozenWatch.start();
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const log = opts.logger ?? createLogger(`agent/${opts.service.name}`);
    // the node API starts first (its port is in the heartbeat); pulled heartbeats wait for the loop
    const started: { loop?: HeartbeatLoop } = {};
    const service = opts.service;
    service.metrics = new AgentMetrics({
      contactState: () => started.loop?.state,
      sinceContactMs: () => started.loop?.sinceContactMs,
      containers: async () => {
        const all = await service.podman.listContainers({ all: true });
        return { all: all.length, running: all.filter((c) => c.State === 'running').length };
      },
    });
    const api = await startNodeApi({
      service: opts.service,
      membership: {
        pulled: () => started.loop?.pulled() ?? Promise.reject(new AgentNotReadyError()),
        answered: (m, seq, r) =>
          started.loop?.answered(m, seq, r) ?? Promise.reject(new AgentNotReadyError()),
      },
      tls: opts.tls,
      host: opts.listen.host,
      port: opts.listen.port,
      revoked: (serial) => started.loop?.isRevoked(serial) ?? false,
      logger: log.child('api'),
    });
    const url =
      opts.advertiseUrl ??
      httpsUrl({
        host: UNSPECIFIED.has(opts.listen.host) ? opts.service.address : opts.listen.host,
        port: api.port,
      });
    let heartbeat: HeartbeatLoop;
    try {
      heartbeat = new HeartbeatLoop({
        node: opts.service,
        managers: opts.managers,
        tls: opts.tls,
        apiUrl: url,
        logger: log.child('heartbeat'),
        ...(opts.heartbeatIntervalMs === undefined ? {} : { intervalMs: opts.heartbeatIntervalMs }),
        ...(opts.failureTimeoutMs === undefined ? {} : { failureTimeoutMs: opts.failureTimeoutMs }),
        ...(opts.fenceMarginMs === undefined ? {} : { fenceMarginMs: opts.fenceMarginMs }),
        ...(opts.contactFile === undefined ? {} : { contactFile: opts.contactFile }),
      });
    } catch (err) {
      await api.close();
      throw err;
    }
    heartbeat.start();
    started.loop = heartbeat;
    let metricsServer: RunningServer | undefined;
    if (opts.metricsListen) {
      const plain = new Router({ logger: log.child('metrics') });
      plain.get('/metrics', async (ctx) => {
        const text = await service.metrics!.text();
        ctx.res.writeHead(200, { 'Content-Type': service.metrics!.contentType });
        ctx.res.end(text);
      });
      plain.get('/healthz', (ctx) => ctx.send(200, { status: 'ok', node: service.name }));
      plain.get('/readyz', async (ctx) => {
        const r = await service.readiness();
        ctx.send(r.ready ? 200 : 503, r);
      });
      metricsServer = await serve(plain, opts.metricsListen);
      log.info('metrics and health on loopback', {
        listen: `${opts.metricsListen.host}:${metricsServer.port}`,
      });
    }
    log.info('agent started', { node: opts.service.name, url });
    const agent = new Agent(opts.service, api, heartbeat, url, log);
    agent.metricsServer = metricsServer;
    if ((opts.healthChecks ?? 'agent') === 'agent') {
      const podman = opts.service.podman;
      agent.healthDriver = new HealthDriver(
        {
          running: async () =>
            (await podman.listContainers({ all: false })).map((c) => ({
              id: c.Id,
              name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
              startedAt: c.StartedAt,
            })),
          healthConfig: async (id) => (await podman.inspectContainer(id)).Config.Healthcheck ?? undefined,
          runHealthcheck: (id) => podman.runHealthcheck(id),
        },
        log.child('health'),
      );
      agent.healthDriver.start();
    }
    return agent;
  }

  /** Stops heartbeats (a fence in progress finishes), then the node API with every open connection. */
  async stop(): Promise<void> {
    this.frozenWatch.stop();
    await this.healthDriver?.stop();
    await this.metricsServer?.close();
    await this.heartbeat.stop();
    await this.api.close();
    this.log.info('agent stopped');
  }
}
