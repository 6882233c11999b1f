import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { HeartbeatLoop } from '../../agent/heartbeat.ts';
import type { NodeService } from '../../agent/node-service.ts';
import type { HostPort } from '../../agent/agent-config.ts';
import { listenTracked } from '../../api/http/serve.ts';
import { nodeApiRouter } from '../../node-api/server.ts';
import { authorizePeer, serverTlsOptions, type TlsBundle } from '../../pki/index.ts';
import type { CheckpointManifest } from '../../checkpoint/store/index.ts';
import { errorMessage } from '../../util/errors.ts';
import { createLogger, type Logger } from '../../util/log.ts';
import { hollowContainer, HollowPodman } from './hollow-podman.ts';
import { DEFAULT_HOLLOW_TIMINGS, HollowService, type HollowTimings } from './hollow-service.ts';

export interface HollowHostOptions {
  /** Node name; must be the CN of `tls`'s agent certificate. */
  name: string;
  /** An agent certificate of the cluster CA (role agent). */
  tls: TlsBundle;
  managers: readonly HostPort[];
  /** Containers it reports from the start (running, names `<name>-c<i>`). */
  containers: number;
  /** Labels of those containers (e.g. a restore policy). */
  containerLabels?: (i: number) => Record<string, string>;
  heartbeatIntervalMs?: number;
  failureTimeoutMs?: number;
  timings?: HollowTimings;
  /** The simulated checkpoint store, shared by the fleet (a restore elsewhere finds the manifests). */
  checkpoints?: Map<string, CheckpointManifest[]>;
  /** Simulated Podman work per create and start, ms. */
  opDelayMs?: number;
  logger?: Logger;
}

/**
 * A simulated host (kubemark's "hollow node"): the agent's own heartbeat
 * loop (src/agent/heartbeat.ts) and the node API's own routes
 * (src/node-api/server.ts) in front of a HollowService instead of Podman
 * and CRIU. Managers cannot tell it from an agent but by its label
 * `simulator=hollow`; it runs no container. Listens on 127.0.0.1, port
 * chosen by the OS.
 */
export class HollowHost {
  readonly name: string;
  readonly service: HollowService;
  readonly heartbeat: HeartbeatLoop;
  readonly url: string;
  /** Heartbeat round trips (report taken to answer accepted), ms, since the last `takeDelays`. */
  private delays: number[] = [];
  private readonly close: () => Promise<void>;
  private readonly server: https.Server;
  private watcher: NodeJS.Timeout | undefined;
  private dead = false;

  private constructor(
    name: string,
    service: HollowService,
    heartbeat: HeartbeatLoop,
    url: string,
    server: https.Server,
    close: () => Promise<void>,
  ) {
    this.name = name;
    this.service = service;
    this.heartbeat = heartbeat;
    this.url = url;
    this.server = server;
    this.close = close;
  }

  static async start(o: HollowHostOptions): Promise<HollowHost> {
    const log = o.logger ?? createLogger(`hollow/${o.name}`);
    const podman = new HollowPodman('127.0.0.1', o.opDelayMs ?? 0);
    for (let i = 0; i < o.containers; i++) {
      const c = hollowContainer(`${o.name}-c${i}`, o.containerLabels?.(i) ?? {});
      podman.containers.set(c.name, c);
    }
    const service = new HollowService(
      o.name,
      '127.0.0.1',
      podman,
      o.timings ?? DEFAULT_HOLLOW_TIMINGS,
      o.checkpoints,
    );
    // the real routes, so a change of the wire format reaches the simulator too; they call only
    // what HollowService implements (the rest answers 501 through HollowUnsupportedError)
    const router = nodeApiRouter(service as unknown as NodeService, { logger: log.child('api') });
    const server = https.createServer(serverTlsOptions(o.tls));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (authorizePeer(req, res, ['manager']) === undefined) return;
      const url = new URL(req.url ?? '/', 'https://node');
      if (url.pathname.startsWith('/podman/')) {
        podman.handle(req, res, url.pathname.slice('/podman'.length), url.search).catch((err: unknown) => {
          log.warn('hollow podman failed', { error: errorMessage(err) });
          if (!res.headersSent) res.writeHead(500).end();
        });
        return;
      }
      void router.handle(req, res, undefined);
    });
    const { port, close } = await listenTracked(server, { host: '127.0.0.1', port: 0 });
    const url = `https://127.0.0.1:${port}`;
    const sent: number[] = [];
    const heartbeat = new HeartbeatLoop({
      node: {
        name: o.name,
        report: async () => {
          sent.push(performance.now());
          if (sent.length > 8) sent.shift();
          return service.report();
        },
        fence: () => service.fence(),
        reconcile: (e) => service.reconcile(e),
      },
      managers: o.managers,
      tls: o.tls,
      apiUrl: url,
      logger: log.child('heartbeat'),
      ...(o.heartbeatIntervalMs !== undefined ? { intervalMs: o.heartbeatIntervalMs } : {}),
      ...(o.failureTimeoutMs !== undefined ? { failureTimeoutMs: o.failureTimeoutMs } : {}),
    });
    const host = new HollowHost(o.name, service, heartbeat, url, server, close);
    // an accepted beat replaces `lastAccepted`: its delay is from the latest report taken
    let last = heartbeat.lastAccepted;
    host.watcher = setInterval(() => {
      const now = heartbeat.lastAccepted;
      if (now !== last && sent.length > 0) host.delays.push(performance.now() - sent[sent.length - 1]!);
      last = now;
    }, 5);
    host.watcher.unref();
    heartbeat.start();
    return host;
  }

  /** Heartbeat round trips since the last call (5 ms resolution), ms. */
  takeDelays(): number[] {
    const d = this.delays;
    this.delays = [];
    return d;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Dies as a host does: heartbeats stop and the node API refuses connections at once. */
  async kill(): Promise<void> {
    if (this.dead) return;
    this.dead = true;
    if (this.watcher) clearInterval(this.watcher);
    this.server.closeAllConnections();
    await Promise.all([this.heartbeat.stop(), this.close()]);
  }
}
