import { listenTracked } from '../api/http/serve.ts';
import https from 'node:https';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RequestContext } from '../api/http/context.ts';
import { Router, type Handler } from '../api/http/router.ts';
import { authorizePeer, peerIdentity, serverTlsOptions, type Role, type TlsBundle } from '../pki/index.ts';
import { errorMessage, LifeboatError, ValidationError } from '../util/errors.ts';
import {
  parseHeartbeatResponse,
  PULL_HEARTBEAT_PATH,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from './heartbeat-protocol.ts';
import { createLogger, type Logger } from '../util/log.ts';
import {
  checkpointKey,
  checkpointOptionsFromQuery,
  checkpointToStoreBody,
  containerName,
  fenceBody,
  imageRef,
  index,
  reconcileBody,
  restoreFromStoreBody,
  restoreInPlaceBody,
  restoreRequestFromQuery,
} from './api-input.ts';
import type { NodeService } from '../agent/node-service.ts';
import { PodmanProxy, sendJsonError } from './podman-proxy.ts';
import { toWireError } from './wire-errors.ts';

export const DEFAULT_NODE_API_PORT = 7443;
export const DEFAULT_JSON_LIMIT_BYTES = 1024 * 1024;
/** How long a refused upload may go on being drained before its connection is cut. */
const DRAIN_GRACE_MS = 10_000;

export interface NodeApiOptions {
  service: NodeService;
  /** The agent's own identity (role agent) and the cluster CA. */
  tls: TlsBundle;
  /** Default 127.0.0.1; port 0 picks a free one. */
  host?: string;
  port?: number;
  /** Default: the service's Podman socket. */
  podmanSocket?: string;
  /** Default: managers only. */
  allowedRoles?: readonly Role[];
  /** Largest JSON request body (413 beyond). */
  bodyLimitBytes?: number;
  /** Heartbeats pulled by managers with static discovery (`--discovery nodes://...`). */
  membership?: PulledMembership;
  logger?: Logger;
}

/** The agent's heartbeat, pulled: a manager GETs it and POSTs its answer (see HeartbeatLoop). */
export interface PulledMembership {
  pulled(): Promise<HeartbeatRequest>;
  answered(manager: string, sequence: number, response: HeartbeatResponse): Promise<void>;
}

export interface RunningNodeApi {
  server: https.Server;
  host: string;
  port: number;
  /** Stops listening and cuts every connection (log follows, attaches, waits). */
  close(): Promise<void>;
}

/**
 * Answers a LifeboatError as `{message, code, hint, ...}` with its status.
 * A request body still arriving (a refused archive) is drained for a while
 * rather than reset, so the caller reads the answer instead of ECONNRESET.
 */
function answerError(req: IncomingMessage, res: ServerResponse, err: LifeboatError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(toWireError(err)) + '\n';
  res.writeHead(err.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
  if (!req.complete) {
    req.unpipe();
    req.resume();
    const timer = setTimeout(() => req.socket.destroy(), DRAIN_GRACE_MS);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
  }
}

/** The request body as a stream this handler owns: a consumer that stops early does not reset the connection. */
function bodyStream(req: IncomingMessage): Readable {
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  req.pipe(body);
  req.on('aborted', () => body.destroy(new Error('the client went away during the upload')));
  return body;
}

async function streamOut(ctx: RequestContext, source: Readable, log: Logger, what: string): Promise<void> {
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  ctx.res.flushHeaders();
  try {
    await pipeline(source, ctx.res);
  } catch (err) {
    // The status line is gone: a cut connection is the only signal left (the archive is incomplete).
    log.warn(`${what} stream broke off`, { error: errorMessage(err) });
  }
}

/** The /v1 routes: NodeService operations as JSON endpoints and tar streams. */
export function nodeApiRouter(
  service: NodeService,
  opts: { bodyLimitBytes?: number; logger?: Logger; membership?: PulledMembership } = {},
): Router {
  const log = opts.logger ?? createLogger(`agent/${service.name}/api`);
  const router = new Router({ bodyLimitBytes: opts.bodyLimitBytes ?? DEFAULT_JSON_LIMIT_BYTES, logger: log });
  const v1 =
    (fn: (ctx: RequestContext) => Promise<void>): Handler =>
    async (ctx) => {
      try {
        await fn(ctx);
      } catch (err) {
        // Anything else is a bug: the router logs it and answers a generic 500.
        if (!(err instanceof LifeboatError)) throw err;
        if (err.status >= 500) log.warn(err.message, { method: ctx.method, path: ctx.path, code: err.code });
        answerError(ctx.req, ctx.res, err);
      }
    };

  const { membership } = opts;
  if (membership) {
    router.get(
      PULL_HEARTBEAT_PATH,
      v1(async (ctx) => ctx.send(200, await membership.pulled())),
    );
    router.post(
      `${PULL_HEARTBEAT_PATH}/answer`,
      v1(async (ctx) => {
        const body = (await ctx.json()) as { sequence?: unknown; response?: unknown } | null;
        const sequence = body?.sequence;
        if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1)
          throw new ValidationError('sequence must be the positive integer of a pulled heartbeat');
        let response: HeartbeatResponse;
        try {
          response = parseHeartbeatResponse(body?.response);
        } catch (err) {
          throw new ValidationError(`unusable heartbeat answer: ${errorMessage(err)}`);
        }
        const manager = peerIdentity(ctx.req.socket as Socket)?.name ?? 'a manager';
        await membership.answered(manager, sequence, response);
        ctx.send(204);
      }),
    );
  }
  router.get(
    '/v1/report',
    v1(async (ctx) => ctx.send(200, await service.report())),
  );
  router.post(
    '/v1/containers/{name}/checkpoint',
    v1(async (ctx) => {
      const name = containerName(ctx.param('name'));
      const archive = await service.checkpointStream(name, checkpointOptionsFromQuery(ctx.query));
      await streamOut(ctx, archive, log, `checkpoint of ${name}`);
    }),
  );
  router.post(
    '/v1/containers/{name}/checkpoint-to-store',
    v1(async (ctx) => {
      const name = containerName(ctx.param('name'));
      const body = checkpointToStoreBody(await ctx.json());
      ctx.send(200, await service.checkpointToStore(name, body.key, body.ref, body.options));
    }),
  );
  router.post(
    '/v1/containers/{name}/restore-in-place',
    v1(async (ctx) => {
      const name = containerName(ctx.param('name'));
      await service.restoreInPlace(name, restoreInPlaceBody(await ctx.json()));
      ctx.send(204);
    }),
  );
  router.post(
    '/v1/containers/{name}/pre-dump',
    v1(async (ctx) => {
      await service.preDump(containerName(ctx.param('name')));
      ctx.send(204);
    }),
  );
  router.post(
    '/v1/restore',
    v1(async (ctx) => {
      const opts = restoreRequestFromQuery(ctx.query);
      ctx.send(200, await service.restoreFromStream(bodyStream(ctx.req), opts));
    }),
  );
  router.post(
    '/v1/restore-from-store',
    v1(async (ctx) => {
      const body = restoreFromStoreBody(await ctx.json());
      ctx.send(200, await service.restoreFromStore(body.key, body.ref, body.restore));
    }),
  );
  router.get(
    '/v1/checkpoints/{key}',
    v1(async (ctx) => ctx.send(200, await service.listCheckpoints(checkpointKey(ctx.param('key'))))),
  );
  router.delete(
    '/v1/checkpoints/{key}',
    v1(async (ctx) => {
      await service.deleteCheckpoints(checkpointKey(ctx.param('key')));
      ctx.send(204);
    }),
  );
  router.delete(
    '/v1/checkpoints/{key}/{group}',
    v1(async (ctx) => {
      await service.deleteCheckpointGroup(
        checkpointKey(ctx.param('key')),
        index(ctx.param('group'), 'group'),
      );
      ctx.send(204);
    }),
  );
  router.get(
    '/v1/images/{ref}/exists',
    v1(async (ctx) => ctx.send(200, { exists: await service.imageExists(imageRef(ctx.param('ref'))) })),
  );
  router.get(
    '/v1/images/{ref}/archive',
    v1(async (ctx) => {
      const ref = imageRef(ctx.param('ref'));
      await streamOut(ctx, await service.imageArchive(ref), log, `image archive of ${ref}`);
    }),
  );
  router.post(
    '/v1/images/load',
    v1(async (ctx) => ctx.send(200, { names: await service.loadImage(bodyStream(ctx.req)) })),
  );
  router.post(
    '/v1/fence',
    v1(async (ctx) => {
      const { reason } = fenceBody(await ctx.json());
      log.warn('fencing on request of a manager', { reason });
      ctx.send(200, { stopped: await service.fence(reason) });
    }),
  );
  router.post(
    '/v1/reconcile',
    v1(async (ctx) => {
      const { elsewhere } = reconcileBody(await ctx.json());
      ctx.send(200, { removed: await service.reconcile(new Set(elsewhere)) });
    }),
  );
  return router;
}

const PODMAN_PREFIX = '/podman';

/**
 * The node API: HTTPS with mutual TLS, certificates of the cluster CA only
 * (others fail at the handshake), role `manager` only (others get 403).
 * `/podman/...` is the allow-listed Podman proxy, `/v1/...` the NodeService
 * operations (see README.md).
 */
export async function startNodeApi(opts: NodeApiOptions): Promise<RunningNodeApi> {
  const { service } = opts;
  const log = opts.logger ?? createLogger(`agent/${service.name}/api`);
  const roles = opts.allowedRoles ?? ['manager'];
  const bodyLimitBytes = opts.bodyLimitBytes ?? DEFAULT_JSON_LIMIT_BYTES;
  const router = nodeApiRouter(service, {
    bodyLimitBytes,
    logger: log,
    ...(opts.membership ? { membership: opts.membership } : {}),
  });
  const proxy = new PodmanProxy({
    socketPath: opts.podmanSocket ?? service.podman.socketPath,
    cgroupParent: service.hostPaths.cgroupParent,
    bodyLimitBytes,
    logger: log.child('podman'),
  });

  const podmanPath = (req: IncomingMessage): { path: string; search: string } | undefined => {
    // WHATWG parsing resolves dot segments (also %2e): the allow-list sees what Podman will see.
    const url = new URL(req.url ?? '/', 'https://node');
    if (url.pathname !== PODMAN_PREFIX && !url.pathname.startsWith(PODMAN_PREFIX + '/')) return undefined;
    return { path: url.pathname.slice(PODMAN_PREFIX.length), search: url.search };
  };

  const server = https.createServer(serverTlsOptions(opts.tls));
  server.on('tlsClientError', (err, socket) => {
    log.warn('refused a TLS handshake', { remote: socket.remoteAddress, error: err.message });
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (authorizePeer(req, res, roles) === undefined) return;
    const podman = podmanPath(req);
    if (podman === undefined) {
      void router.handle(req, res, undefined);
      return;
    }
    proxy.handle(req, res, podman.path, podman.search).catch((err: unknown) => {
      log.error('proxy failed', { error: errorMessage(err), url: req.url });
      sendJsonError(res, new LifeboatError('internal_error', 'internal error', { status: 500 }));
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', (err) => log.debug('upgraded connection error', { error: err.message }));
    // A response on the raw socket lets refusals take the ordinary path.
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    if (authorizePeer(req, res, roles) === undefined) return;
    const podman = podmanPath(req);
    if (podman === undefined) void router.handle(req, res, { socket, head });
    else proxy.upgrade(req, socket, head, res, podman.path, podman.search);
  });

  const { host, port, close } = await listenTracked(server, opts);
  log.info('node API listening', { address: `${host}:${port}`, roles: roles.join(',') });
  return {
    server,
    host,
    port,
    close,
  };
}
