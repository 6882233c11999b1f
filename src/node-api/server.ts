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
  dumpQuery,
  fenceBody,
  grantId,
  index,
  prepareMigrationBody,
  pullImageBody,
  reconcileBody,
  restoreFromStoreBody,
  restoreInPlaceBody,
  restoreRequestFromQuery,
  toPreparationWire,
  transferGrantBody,
} from './api-input.ts';
import type { NodeService } from '../agent/node-service.ts';
import { PodmanProxy } from './podman-proxy.ts';
import { sendWireError, toWireError } from './wire-errors.ts';

export const DEFAULT_NODE_API_PORT = 7443;
export const DEFAULT_JSON_LIMIT_BYTES = 1024 * 1024;

export interface NodeApiOptions {
  service: NodeService;
  /** The agent's own identity (role agent) and the cluster CA. */
  tls: TlsBundle;
  /** Default 127.0.0.1; port 0 picks a free one. */
  host?: string;
  port?: number;
  /** Default: the service's Podman socket. */
  podmanSocket?: string;
  /** Who may call /v1 and /podman; default managers only. `/v1/peer/...` is for agents holding a grant. */
  allowedRoles?: readonly Role[];
  /** Largest JSON request body (413 beyond). */
  bodyLimitBytes?: number;
  /** Heartbeats pulled by managers with static discovery (`--discovery nodes://...`). */
  membership?: PulledMembership;
  /** Whether the managers revoked a certificate serial (as of their last heartbeat answer). */
  revoked?: (serial: string) => boolean;
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

/** The request body as a stream this handler owns: a consumer that stops early does not reset the connection. */
function bodyStream(req: IncomingMessage): Readable {
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  req.pipe(body);
  req.on('aborted', () => body.destroy(new Error('the client went away during the upload')));
  return body;
}

async function streamOut(
  ctx: RequestContext,
  source: Readable,
  log: Logger,
  what: string,
  headers: Record<string, string> = {},
  count?: (bytes: number) => void,
): Promise<void> {
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar', ...headers });
  ctx.res.flushHeaders();
  try {
    if (count)
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const c of chunks) {
            count(c.length);
            yield c;
          }
        },
        ctx.res,
      );
    else await pipeline(source, ctx.res);
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
        sendWireError(ctx.res, err, ctx.req);
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
  router.get(
    '/v1/metrics',
    v1(async (ctx) => {
      if (!service.metrics)
        throw new LifeboatError('no_metrics', 'this node API has no metrics', { status: 404 });
      const text = await service.metrics.text();
      ctx.res.writeHead(200, { 'Content-Type': service.metrics.contentType });
      ctx.res.end(text);
    }),
  );
  router.get(
    '/v1/healthz',
    v1(async (ctx) => ctx.send(200, { status: 'ok', node: service.name })),
  );
  router.get(
    '/v1/readyz',
    v1(async (ctx) => {
      const r = await service.readiness();
      ctx.send(r.ready ? 200 : 503, r);
    }),
  );
  router.post(
    '/v1/containers/{name}/checkpoint',
    v1(async (ctx) => {
      const name = containerName(ctx.param('name'));
      const archive = await service.checkpointStream(name, checkpointOptionsFromQuery(ctx.query));
      await streamOut(ctx, archive, log, `checkpoint of ${name}`, {}, (n) =>
        service.metrics?.bytes.inc({ direction: 'sent', kind: 'checkpoint' }, n),
      );
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
  router.post(
    '/v1/images/pull',
    v1(async (ctx) => ctx.send(200, await service.pullImage(pullImageBody(await ctx.json())))),
  );
  router.post(
    '/v1/transfers',
    v1(async (ctx) => {
      await service.grantTransfer(transferGrantBody(await ctx.json()));
      ctx.send(204);
    }),
  );
  router.post(
    '/v1/migrations',
    v1(async (ctx) => ctx.send(200, await service.prepareMigration(prepareMigrationBody(await ctx.json())))),
  );
  router.delete(
    '/v1/migrations/{grant}',
    v1(async (ctx) => {
      await service.discardMigration(grantId(ctx.param('grant')));
      ctx.send(204);
    }),
  );
  // NDJSON: progress lines, a line every second while nothing happens, then {result} or {error, status}.
  // The manager hanging up calls the migration off.
  router.post(
    '/v1/migrations/{grant}/complete',
    v1(async (ctx) => {
      const grant = grantId(ctx.param('grant'));
      const res = ctx.res;
      const calledOff = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) calledOff.abort();
      });
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.flushHeaders();
      const line = (o: unknown): void => void res.write(JSON.stringify(o) + '\n');
      const alive = setInterval(() => line({ phase: 'alive' }), 1000);
      try {
        line({
          result: await service.completeMigration(grant, { onProgress: line, signal: calledOff.signal }),
        });
      } catch (err) {
        const e = err instanceof LifeboatError ? err : new LifeboatError('internal_error', errorMessage(err));
        line({ error: toWireError(e), status: e.status });
      } finally {
        clearInterval(alive);
        res.end();
      }
    }),
  );
  // --- agent to agent: a peer holding a grant (the router's caller is checked for role agent)
  const caller = (ctx: RequestContext): string => peerIdentity(ctx.req.socket as Socket)?.name ?? '';
  router.post(
    '/v1/peer/{grant}/prepare',
    v1(async (ctx) => {
      const prep = await service.peer(caller(ctx)).prepareCheckpoint(grantId(ctx.param('grant')));
      ctx.send(200, toPreparationWire(prep));
    }),
  );
  router.post(
    '/v1/peer/{grant}/dump',
    v1(async (ctx) => {
      const opts = dumpQuery(ctx.query);
      const peer = service.peer(caller(ctx));
      const { archive, dumpMs } = await peer.dumpCheckpoint(grantId(ctx.param('grant')), opts);
      await streamOut(
        ctx,
        archive,
        log,
        'checkpoint for a peer',
        {
          'X-Lifeboat-Dump-Ms': String(dumpMs),
          ...(opts.compression === 'gzip' ? { 'Content-Type': 'application/gzip' } : {}),
        },
        (n) => service.metrics?.bytes.inc({ direction: 'sent', kind: 'migration' }, n),
      );
    }),
  );
  router.get(
    '/v1/peer/{grant}/image',
    v1(async (ctx) => {
      const archive = await service.peer(caller(ctx)).imageArchive(grantId(ctx.param('grant')));
      await streamOut(ctx, archive, log, 'image for a peer', {}, (n) =>
        service.metrics?.bytes.inc({ direction: 'sent', kind: 'image' }, n),
      );
    }),
  );
  router.get(
    '/v1/peer/{grant}/probe',
    v1(async (ctx) => {
      const bytes = Number(ctx.query.get('bytes') ?? 0);
      if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 64 << 20)
        throw new ValidationError('bytes must be 1 .. 64 MiB');
      const data = await service.peer(caller(ctx)).probe(grantId(ctx.param('grant')), bytes);
      await streamOut(ctx, data, log, 'link probe', { 'Content-Type': 'application/octet-stream' });
    }),
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
      const { elsewhere, seen } = reconcileBody(await ctx.json());
      ctx.send(200, { removed: await service.reconcile(new Set(elsewhere), seen) });
    }),
  );
  return router;
}

const PODMAN_PREFIX = '/podman';
const PEER_PREFIX = '/v1/peer/';
const PEER_ROLES: readonly Role[] = ['agent'];

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

  // half-open: a client's end of stdin on an exec or attach must not end the output coming back
  const server = https.createServer({ ...serverTlsOptions(opts.tls), allowHalfOpen: true });
  server.on('tlsClientError', (err, socket) => {
    log.warn('refused a TLS handshake', { remote: socket.remoteAddress, error: err.message });
  });
  const rolesFor = (req: IncomingMessage): readonly Role[] =>
    (req.url ?? '').startsWith(PEER_PREFIX) ? PEER_ROLES : roles;
  /** The caller's role, then whether the managers revoked its certificate; answers a refusal itself. */
  const admitted = (req: IncomingMessage, res: ServerResponse): boolean => {
    const peer = authorizePeer(req, res, rolesFor(req));
    if (peer === undefined) return false;
    if (!opts.revoked?.(peer.serialNumber)) return true;
    log.warn('refused a revoked certificate', {
      peer: peer.name,
      role: peer.role,
      serial: peer.serialNumber,
    });
    sendWireError(
      res,
      new LifeboatError(
        'pki_certificate_revoked',
        `the certificate of ${peer.role} ${peer.name} (serial ${peer.serialNumber}) was revoked`,
        {
          status: 403,
          hint: 'a removed host or manager comes back by joining again: lifeboat join --token TOKEN MANAGER',
        },
      ),
    );
    return false;
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!admitted(req, res)) return;
    const podman = podmanPath(req);
    if (podman === undefined) {
      void router.handle(req, res, undefined);
      return;
    }
    proxy.handle(req, res, podman.path, podman.search).catch((err: unknown) => {
      log.error('proxy failed', { error: errorMessage(err), url: req.url });
      sendWireError(res, new LifeboatError('internal_error', 'internal error', { status: 500 }));
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', (err) => log.debug('upgraded connection error', { error: err.message }));
    // A response on the raw socket lets refusals take the ordinary path.
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    if (!admitted(req, res)) return;
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
