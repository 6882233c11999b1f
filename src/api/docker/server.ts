import { readFileSync } from 'node:fs';
import { Router, type Interceptor } from '../http/router.ts';
import { serve, type RunningServer } from '../http/serve.ts';
import { createLogger, type Logger } from '../../util/log.ts';
import type { DockerBackend } from './backend.ts';
import { registerCheckpointRoutes } from './checkpoints.ts';
import { registerContainerRoutes } from './containers.ts';
import { registerDailyRoutes } from './daily.ts';
import { registerNetworkVolumeRoutes } from './networks-volumes.ts';
import { registerEventRoutes } from './events.ts';
import { registerExecRoutes } from './exec.ts';
import { registerImageRoutes } from './images.ts';
import type { IncomingMessage } from 'node:http';
import { checkDockerListen, refuseBrowserRequests, refuseBrowserRequestsOnSocket } from './listen-guard.ts';
import { claimSocketPath, restrictSocket } from './unix-socket.ts';
import { registerSystemRoutes } from './system.ts';

/** The newest Docker Engine API spoken; the docker CLI uses min(this, its own). */
export const DOCKER_API_VERSION = '1.47';
/** The oldest accepted, as dockerd 28 (checkpoints need 1.25). */
export const DOCKER_MIN_API_VERSION = '1.24';

export const LIFEBOAT_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface DockerApiOptions {
  backend: DockerBackend;
  logger?: Logger;
  /** Largest JSON body accepted (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Sees each request first (a manager replica forwarding to its leader). */
  intercept?: Interceptor;
  /** Refuses requests before anything else (the clear-text listener refuses browsers). */
  guard?: (req: IncomingMessage) => void;
  /** Each request's route, status and seconds (metrics). */
  observe?: (route: string, status: number, seconds: number) => void;
}

/** Every route of the Docker-compatible API over `backend`. */
export function createDockerApiRouter(opts: DockerApiOptions): Router {
  const router = new Router({
    logger: opts.logger ?? createLogger('docker-api'),
    apiVersions: { min: DOCKER_MIN_API_VERSION, max: DOCKER_API_VERSION },
    ...(opts.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: opts.bodyLimitBytes }),
    ...(opts.intercept === undefined ? {} : { intercept: opts.intercept }),
    ...(opts.guard === undefined ? {} : { guard: opts.guard }),
    ...(opts.observe === undefined ? {} : { observe: opts.observe }),
    // The docker CLI reads these from /_ping; `Docker-Experimental: true` is what enables `docker checkpoint`.
    headers: {
      'Api-Version': DOCKER_API_VERSION,
      'Docker-Experimental': 'true',
      Ostype: 'linux',
      Server: `lifeboat/${LIFEBOAT_VERSION}`,
    },
  });
  registerSystemRoutes(router, opts.backend, {
    version: LIFEBOAT_VERSION,
    apiVersion: DOCKER_API_VERSION,
    minApiVersion: DOCKER_MIN_API_VERSION,
  });
  registerContainerRoutes(router, opts.backend);
  registerExecRoutes(router, opts.backend);
  registerDailyRoutes(router, opts.backend);
  registerNetworkVolumeRoutes(router, opts.backend);
  registerEventRoutes(router, opts.backend);
  registerCheckpointRoutes(router, opts.backend);
  registerImageRoutes(router, opts.backend);
  return router;
}

/**
 * Serves the Docker-compatible API in clear text: on a unix socket
 * (`socketPath`; 0660, root and the `lifeboat` group, as dockerd's), or on
 * host:port (port 0: any free port), loopback only, else
 * InsecureListenError: use startDockerApiTlsServer (tls-server.ts) for
 * anything reachable. Either way a web page's requests are refused.
 */
export async function startDockerApiServer(
  opts: DockerApiOptions & { host?: string; port?: number; socketPath?: string },
): Promise<RunningServer> {
  if (opts.socketPath) {
    await claimSocketPath(opts.socketPath);
    const running = await serve(createDockerApiRouter({ ...opts, guard: refuseBrowserRequestsOnSocket }), {
      socketPath: opts.socketPath,
    });
    restrictSocket(opts.socketPath);
    return running;
  }
  checkDockerListen({ host: opts.host ?? '127.0.0.1', tls: false });
  return serve(createDockerApiRouter({ ...opts, guard: refuseBrowserRequests }), {
    ...(opts.host === undefined ? {} : { host: opts.host }),
    ...(opts.port === undefined ? {} : { port: opts.port }),
  });
}
