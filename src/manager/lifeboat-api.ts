import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  parseHeartbeatRequest,
  HEARTBEAT_PATH,
  type HeartbeatResponse,
} from '../node-api/heartbeat-protocol.ts';
import { Router } from '../api/http/router.ts';
import type { RequestContext } from '../api/http/context.ts';
import type { Socket } from 'node:net';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import { authorizePeer, peerIdentity, type Role } from '../pki/index.ts';
import { ValidationError, errorMessage, LifeboatError } from '../util/errors.ts';
import type { Manager } from './manager.ts';
import { ContainerNotInClusterError } from './cluster-state.ts';
import { MigrationError } from './migrate.ts';
import { openApiDocument } from './openapi.ts';
import type { LeaderForwarder } from './leader-forward.ts';
import type { ClusterEvent } from './events.ts';
import { sendUiFile } from '../ui/static.ts';
import { JOIN_CA_PATH, JOIN_PATH } from '../join/client.ts';
import { parseJoinRequest } from '../join/service.ts';
import { DEFAULT_TOKEN_TTL_MS, parseJoinRole } from '../join/tokens.ts';
import { PkiError } from '../pki/errors.ts';
import { parseDuration } from '../policy/duration.ts';
import { parseBody } from '../util/schema.ts';
import { CheckpointBody, MigrateBody, RestoreBody, RevokeBody } from './api-bodies.ts';

/**
 * lifeboat's own API, beside the Docker one: what Docker's lacks (hosts,
 * migrate, checkpoint versions, events) and the agents' heartbeats. Served
 * over mutual TLS; heartbeats need an agent certificate, the rest a client
 * or manager certificate. Described in docs/api.md.
 */
export const API_PREFIX = '/lifeboat/v1';

function guard(
  roles: readonly Role[],
  fn: (ctx: RequestContext) => Promise<void>,
): (ctx: RequestContext) => Promise<void> {
  return async (ctx) => {
    if (!authorizePeer(ctx.req as IncomingMessage, ctx.res as ServerResponse, roles)) return;
    await fn(ctx);
  };
}

/**
 * A long operation's progress as NDJSON: 200 at once, the lines `run` emits
 * as it goes, then `{result}`, or `{error}` (with what `extra` adds) once
 * the status line is gone. Used by migrate, drain and rebalance.
 */
async function streamProgress(
  ctx: RequestContext,
  run: (line: (o: unknown) => void) => Promise<unknown>,
  extra: (err: unknown) => Record<string, unknown> = () => ({}),
): Promise<void> {
  const res = ctx.res as ServerResponse;
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  const line = (o: unknown): void => {
    res.write(JSON.stringify(o) + '\n');
  };
  try {
    line({ result: await run(line) });
  } catch (err) {
    const e = err instanceof LifeboatError ? err : undefined;
    line({
      error: {
        message: errorMessage(err),
        code: e?.code ?? 'internal',
        ...(e?.hint ? { hint: e.hint } : {}),
        ...extra(err),
      },
    });
  }
  res.end();
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
function nameParam(ctx: RequestContext, key: string): string {
  const v = ctx.param(key);
  if (!NAME_RE.test(v))
    throw new ValidationError(`invalid ${key} "${v}": use letters, digits, _ . - (at most 128)`);
  return v;
}

/** Paths a replica answers itself; everything else goes to the leader (see leader-forward.ts). */
export function answeredByAnyManager(path: string): boolean {
  // heartbeats go to the shared store from any replica; /leader says who answers
  return (
    path === HEARTBEAT_PATH ||
    path === JOIN_PATH ||
    path === JOIN_CA_PATH ||
    path === '/ui' ||
    path.startsWith('/ui/') ||
    [`${API_PREFIX}/leader`, `${API_PREFIX}/openapi.json`, ...OWN_PATHS].includes(path)
  );
}

const USERS: readonly Role[] = ['client', 'manager'];

/** What a caller without a certificate may ask: the CA it will pin, and to join with a token. */
const ANONYMOUS = new Set([JOIN_CA_PATH, JOIN_PATH]);

/**
 * Every request's first check, before any route, mount or forwarding: a
 * caller without a cluster certificate gets only the join endpoints, and a
 * certificate revoked by `lifeboat node rm` is refused on its next request.
 */
async function admit(m: Manager, req: IncomingMessage): Promise<void> {
  const peer = peerIdentity(req.socket);
  if (peer === undefined) {
    if (ANONYMOUS.has(new URL(req.url ?? '/', 'http://x').pathname)) return;
    throw new PkiError(
      'pki_peer_unauthenticated',
      'this endpoint requires a certificate issued by the cluster CA',
      {
        status: 401,
        hint: 'connect with a certificate from `lifeboat cert issue`, or get one with `lifeboat join --token`',
      },
    );
  }
  const refusal = await m.certificates.refusal(peer);
  if (refusal) throw refusal;
}

/** Each manager's own metrics and health, never forwarded to the leader. */
const OWN_PATHS = [`${API_PREFIX}/metrics`, `${API_PREFIX}/healthz`, `${API_PREFIX}/readyz`];

export function lifeboatApiRouter(m: Manager, forwarder?: LeaderForwarder): Router {
  const r = new Router({
    bodyLimitBytes: 4 << 20,
    guard: (req) => admit(m, req),
    // the caller's role is checked here, before its request leaves with this manager's certificate
    ...(forwarder
      ? {
          intercept: async (req, res, upgrade) =>
            answeredByAnyManager(new URL(req.url ?? '/', 'http://x').pathname)
              ? false
              : !authorizePeer(req, res, USERS) || (await forwarder.forward('', req, res, upgrade)),
        }
      : {}),
  });
  const users = USERS;

  r.post(HEARTBEAT_PATH, async (ctx) => {
    const peer = authorizePeer(ctx.req as IncomingMessage, ctx.res as ServerResponse, ['agent']);
    if (!peer) return;
    const hb = parseHeartbeatRequest(await ctx.json());
    // an agent speaks for its own host only: the certificate's CN is the node name
    if (hb.report.name !== peer.name)
      throw new LifeboatError(
        'heartbeat_name_mismatch',
        `agent certificate ${peer.name} sent a heartbeat for host ${hb.report.name}`,
        {
          status: 403,
          hint: 'issue the agent a certificate named after its host (lifeboat cert issue agent NAME)',
        },
      );
    // ...and at the address its certificate names: managers dial apiUrl and would refuse anyone else there anyway
    const apiHost = new URL(hb.apiUrl).hostname.replace(/^\[|\]$/g, '');
    const cert = (ctx.req.socket as TLSSocket).getPeerCertificate();
    if (checkServerIdentity(apiHost, cert) !== undefined)
      throw new LifeboatError(
        'heartbeat_address_mismatch',
        `agent certificate ${peer.name} names ${cert.subjectaltname ?? 'no address'}, but its heartbeat reports its node API at ${hb.apiUrl}`,
        {
          status: 403,
          hint: `start the agent with the --address its certificate names, or join again with --address ${apiHost}`,
        },
      );
    m.certificates.seen(peer).catch((err: unknown) =>
      m.log.warn('could not record the certificate a host presented', {
        host: peer.name,
        error: errorMessage(err),
      }),
    );
    const resp: HeartbeatResponse = await m.acceptHeartbeat(hb);
    ctx.send(200, resp);
  });

  registerHealthRoutes(r, m, API_PREFIX, (h) => guard(users, h));

  // joining (src/join): the CA a joining host pins against its token, then its certificate request
  r.get(JOIN_CA_PATH, async (ctx) => {
    const res = ctx.res as ServerResponse;
    const pem = m.joins.caPem ?? m.caPem;
    res.writeHead(200, {
      'Content-Type': 'application/x-pem-file',
      'Content-Length': Buffer.byteLength(pem),
    });
    res.end(pem);
  });
  r.post(JOIN_PATH, async (ctx) => {
    const req = parseJoinRequest(await ctx.json());
    ctx.send(200, await m.joins.join(req, ctx.req.socket.remoteAddress ?? 'unknown'));
  });
  r.get(
    `${API_PREFIX}/join-tokens`,
    guard(users, async (ctx) => ctx.send(200, await m.joinTokens.list())),
  );
  r.post(
    `${API_PREFIX}/join-tokens/{role}`,
    guard(users, async (ctx) => {
      const role = parseJoinRole(ctx.param('role'));
      const ttl = ctx.string('ttl');
      const by = peerIdentity(ctx.req.socket)?.name ?? 'unknown';
      ctx.send(
        200,
        await m.joinTokens.rotate(
          role,
          ttl === undefined ? DEFAULT_TOKEN_TTL_MS : parseDuration(ttl, 'ttl'),
          by,
        ),
      );
    }),
  );
  r.get(
    `${API_PREFIX}/certificates`,
    guard(users, async (ctx) =>
      ctx.send(200, { known: await m.certificates.known(), revoked: await m.certificates.listRevoked() }),
    ),
  );
  r.post(
    `${API_PREFIX}/certificates/revoke`,
    guard(users, async (ctx) => {
      const b = parseBody(RevokeBody, await ctx.json(), 'a revocation');
      const by = peerIdentity(ctx.req.socket)?.name ?? 'unknown';
      const rec = await m.certificates.revokeSerial(b.serial.replace(/:/g, ''), b.role, b.name, by);
      m.events.emit(
        'certificate.revoke',
        `revoked the certificate of ${b.role} ${b.name} (serial ${rec.serial})`,
        {
          level: 'warn',
          fields: { by },
        },
      );
      ctx.send(200, rec);
    }),
  );
  r.delete(
    `${API_PREFIX}/nodes/{name}`,
    guard(users, async (ctx) => {
      const by = peerIdentity(ctx.req.socket)?.name ?? 'unknown';
      ctx.send(200, await m.removeNode(nameParam(ctx, 'name'), { force: ctx.bool('force'), by }));
    }),
  );

  r.get(
    `${API_PREFIX}/nodes`,
    guard(users, async (ctx) => ctx.send(200, await m.nodeSummaries())),
  );

  // what this manager carried of the data plane: checkpoint archives it keeps for `docker checkpoint`, nothing else
  r.get(
    `${API_PREFIX}/data-plane`,
    guard(users, async (ctx) => ctx.send(200, { manager: m.name, archiveBytesRelayed: m.relayed.bytes })),
  );

  r.get(
    `${API_PREFIX}/containers`,
    guard(users, async (ctx) => ctx.send(200, await m.state.containers())),
  );

  r.get(
    `${API_PREFIX}/containers/{name}/checkpoints`,
    guard(users, async (ctx) => ctx.send(200, await m.checkpointVersions(nameParam(ctx, 'name')))),
  );

  // lifeboat node drain: progress as NDJSON lines ({event}), then {result} (or {error})
  r.post(
    `${API_PREFIX}/nodes/{name}/drain`,
    guard(users, async (ctx) => {
      const node = nameParam(ctx, 'name');
      const raw = ctx.string('parallel');
      const parallel = raw === undefined || raw === 'auto' ? undefined : Number(raw);
      if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1 || parallel > 16))
        throw new ValidationError(`parallel must be auto or 1 to 16, got "${raw}"`);
      const force = ctx.bool('force');
      const by = peerIdentity(ctx.req.socket as Socket)?.name;
      // errors before the first move (no such host) are an HTTP status, not a line
      if (!(await m.registry.all()).some((n) => n.report.name === node))
        throw new LifeboatError('no_such_node', `no host named ${node}`, {
          status: 404,
          hint: '`lifeboat node ls` lists the hosts',
        });
      await streamProgress(ctx, (line) =>
        m.drains.drain(
          node,
          { force, ...(parallel !== undefined ? { parallel } : {}), ...(by ? { by } : {}) },
          (event) => line({ event }),
        ),
      );
    }),
  );
  r.post(
    `${API_PREFIX}/nodes/{name}/activate`,
    guard(users, async (ctx) => ctx.send(200, await m.drains.activate(nameParam(ctx, 'name')))),
  );

  // lifeboat rebalance --pack|--spread: {plan}, then a {move} line per live move, then {result}
  r.post(
    `${API_PREFIX}/rebalance`,
    guard(users, async (ctx) => {
      const mode = ctx.string('mode');
      if (mode !== 'pack' && mode !== 'spread')
        throw new ValidationError(`mode must be pack or spread, got "${mode ?? ''}"`);
      const dryRun = ctx.bool('dryRun');
      await streamProgress(ctx, (line) => m.rebalance(mode, { dryRun }, line));
    }),
  );

  // the dashboard (src/ui): its files from any replica, its data from the leader
  // one route for /ui and /ui/ (the router ignores a trailing slash); the page's relative links need the slash
  r.get(
    '/ui',
    guard(users, async (ctx) => {
      if (!new URL(ctx.req.url ?? '/', 'http://x').pathname.endsWith('/')) {
        ctx.res.writeHead(308, { Location: '/ui/' });
        ctx.res.end();
        return;
      }
      await sendUiFile(ctx.res as ServerResponse, '');
    }),
  );
  r.get(
    '/ui/{file}',
    guard(users, async (ctx) => {
      if (!(await sendUiFile(ctx.res as ServerResponse, ctx.param('file'))))
        throw new LifeboatError('not_found', `no dashboard file ${ctx.param('file')}`, { status: 404 });
    }),
  );
  r.get(
    `${API_PREFIX}/overview`,
    guard(users, async (ctx) => ctx.send(200, await m.overview())),
  );
  // the event log as server-sent events: what happened after `since` (or Last-Event-ID), then live
  r.get(
    `${API_PREFIX}/events/stream`,
    guard(users, async (ctx) => {
      const last = Number(ctx.req.headers['last-event-id'] ?? NaN);
      const since = Number.isInteger(last) ? last : (ctx.int('since') ?? 0);
      const container = ctx.string('container');
      const res = ctx.res as ServerResponse;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache',
        'X-Accel-Buffering': 'no',
      });
      const send = (e: ClusterEvent): void => {
        if (container && e.container !== container) return;
        res.write(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      // replayed and subscribed in one turn of the event loop: nothing falls between
      let sent = since;
      for (const e of m.events.since(since)) {
        sent = Math.max(sent, e.seq);
        send(e);
      }
      const unsubscribe = m.events.subscribe((e) => {
        if (e.seq <= sent) return;
        sent = e.seq;
        send(e);
      });
      // a comment every 15 s keeps proxies and load balancers from closing an idle stream
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      await new Promise<void>((resolve) =>
        res.once('close', () => {
          clearInterval(keepAlive);
          unsubscribe();
          resolve();
        }),
      );
    }),
  );

  r.get(
    `${API_PREFIX}/events`,
    guard(users, async (ctx) => {
      const since = ctx.int('since') ?? 0;
      const container = ctx.string('container');
      ctx.send(200, m.events.since(since, container ? { container } : undefined));
    }),
  );

  r.post(
    `${API_PREFIX}/containers/{name}/checkpoint`,
    guard(users, async (ctx) => {
      const b = parseBody(CheckpointBody, (await ctx.json()) ?? {}, 'a checkpoint request');
      ctx.send(
        200,
        await m.checkpoints.checkpoint({
          ...b,
          container: nameParam(ctx, 'name'),
          leaveRunning: b.leaveRunning ?? false,
          preDump: b.preDump ?? false,
          trackMem: b.trackMem ?? false,
          tcpEstablished: b.tcpEstablished ?? true,
        }),
      );
    }),
  );
  r.post(
    `${API_PREFIX}/containers/{name}/restore`,
    guard(users, async (ctx) => {
      const b = parseBody(RestoreBody, (await ctx.json()) ?? {}, 'a restore request');
      ctx.send(
        200,
        await m.checkpoints.restore({ ...b, container: nameParam(ctx, 'name'), force: b.force ?? false }),
      );
    }),
  );

  r.get(`${API_PREFIX}/openapi.json`, (ctx) => ctx.send(200, openApiDocument));

  r.get(
    `${API_PREFIX}/leader`,
    guard(users, async (ctx) =>
      ctx.send(200, { leader: await m.leaderInfo(), self: m.name, isLeader: m.isLeader }),
    ),
  );

  // Progress as NDJSON: one line per step change, then {"result": ...} or {"error": ...}.
  r.post(
    `${API_PREFIX}/containers/{name}/migrate`,
    guard(users, async (ctx) => {
      const name = nameParam(ctx, 'name');
      const body = parseBody(MigrateBody, (await ctx.json()) ?? {}, 'a migration request');
      // answer 404 before the 200 of the progress stream
      if (!(await m.state.container(name))) throw new ContainerNotInClusterError(name);
      // query parameters (the CLI's) take precedence over the body
      const to = ctx.string('to') ?? body.to;
      if (to !== undefined && !NAME_RE.test(to)) throw new ValidationError(`invalid host name "${to}"`);
      const via = parseBody(MigrateBody.shape.via, ctx.string('via'), 'via') ?? body.via ?? 'stream';
      const compression =
        parseBody(MigrateBody.shape.compression, ctx.string('compression'), 'compression') ??
        body.compression;
      await streamProgress(
        ctx,
        (line) =>
          m.migrator.migrate(
            {
              container: name,
              ...(to ? { to } : {}),
              env: body.env ?? [],
              labels: body.labels ?? {},
              via,
              ...(compression ? { compression } : {}),
              ...(body.withNetwork === true || ctx.bool('withNetwork') ? { withNetwork: true } : {}),
              ...(body.keepConnections === true || ctx.bool('keepConnections')
                ? { keepConnections: true }
                : {}),
            },
            (step) => line({ step }),
          ),
        (err) =>
          err instanceof MigrationError
            ? { step: err.step, rolledBack: err.rolledBack, steps: err.steps }
            : {},
      );
    }),
  );
  return r;
}

/**
 * /metrics, /healthz and /readyz under `prefix`: on the manager API (behind
 * `wrap`, the client-certificate check) and on the plain loopback listener
 * (`--metrics-listen`, no prefix) for a local Prometheus or watchdog.
 */
export function registerHealthRoutes(
  r: Router,
  m: Manager,
  prefix: string,
  wrap: (h: (ctx: RequestContext) => Promise<void>) => (ctx: RequestContext) => Promise<void> = (h) => h,
): void {
  r.get(
    `${prefix}/metrics`,
    wrap(async (ctx) => {
      const text = await m.metrics.text();
      ctx.res.writeHead(200, { 'Content-Type': m.metrics.contentType });
      ctx.res.end(text);
    }),
  );
  r.get(
    `${prefix}/healthz`,
    wrap(async (ctx) => ctx.send(200, { status: 'ok', manager: m.name })),
  );
  r.get(
    `${prefix}/readyz`,
    wrap(async (ctx) => {
      const r = await m.readiness();
      ctx.send(r.ready ? 200 : 503, r);
    }),
  );
}
