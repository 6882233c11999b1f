import { randomBytes, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';

/**
 * `lifeboat dashboard`: a proxy on this machine's loopback between a
 * browser and the manager. The browser speaks plain HTTP to 127.0.0.1; the
 * proxy speaks to the manager over mutual TLS with the operator's client
 * certificate, so the browser needs neither the cluster CA nor a
 * certificate. Other local processes cannot use it: every request needs the
 * random token printed with the URL (a cookie once the URL was opened), a
 * Host header naming the proxy (against DNS rebinding) and, for changes, no
 * foreign Origin. It passes on only what the page uses.
 */
export interface ManagerUpstream {
  raw(
    method: string,
    path: string,
    headers: Record<string, string | number>,
    payload?: Buffer,
  ): Promise<IncomingMessage>;
}

/** Fault injection on a local cluster (`lifeboat node kill` and friends), when the context has one. */
export type LocalFaults = (host: string, action: 'kill' | 'partition' | 'heal' | 'reboot') => Promise<string>;

export interface DashboardProxyOptions {
  manager: ManagerUpstream;
  host?: string;
  port?: number;
  /** Default: 32 random bytes. */
  token?: string;
  local?: LocalFaults;
  logger: Logger;
}

export interface RunningDashboard {
  /** http://127.0.0.1:PORT/ui/ */
  url: string;
  /** The URL with the token: opening it logs the browser in. */
  loginUrl: string;
  token: string;
  close(): Promise<void>;
}

const COOKIE = 'lifeboat_dashboard';

/** What the page may ask of the manager through the proxy. */
const PASSED: { method: string; path: RegExp }[] = [
  { method: 'GET', path: /^\/ui(\/[a-z.]*)?$/ },
  { method: 'GET', path: /^\/lifeboat\/v1\/(overview|nodes|containers|events|events\/stream)$/ },
  { method: 'GET', path: /^\/lifeboat\/v1\/containers\/[A-Za-z0-9][A-Za-z0-9_.-]*\/checkpoints$/ },
  { method: 'POST', path: /^\/lifeboat\/v1\/containers\/[A-Za-z0-9][A-Za-z0-9_.-]*\/migrate$/ },
];

const FAULT = /^\/local\/nodes\/([A-Za-z0-9][A-Za-z0-9_.-]*)\/(kill|partition|heal|reboot)$/;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

function refuse(res: ServerResponse, status: number, message: string, hint: string): void {
  const body = JSON.stringify({ message, hint });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startDashboardProxy(o: DashboardProxyOptions): Promise<RunningDashboard> {
  const token = o.token ?? randomBytes(32).toString('base64url');
  const host = o.host ?? '127.0.0.1';
  let port = 0;
  const allowedHosts = (): Set<string> =>
    new Set([`${host}:${port}`, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = (req.method ?? 'GET').toUpperCase();
    if (!allowedHosts().has(req.headers.host ?? ''))
      return refuse(
        res,
        403,
        `Host "${req.headers.host ?? ''}" is not this dashboard`,
        `open http://${host}:${port}/`,
      );
    const origin = req.headers.origin;
    if (method !== 'GET' && origin !== undefined && origin !== `http://${req.headers.host}`)
      return refuse(res, 403, `requests from ${origin} are not allowed`, 'use the dashboard page itself');
    // the printed URL logs in: the token becomes an HttpOnly cookie and leaves the address bar
    const given = url.searchParams.get('token');
    if (given !== null && method === 'GET' && same(given, token)) {
      url.searchParams.delete('token');
      res.writeHead(303, {
        Location: url.pathname + (url.search || ''),
        'Set-Cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        'Cache-Control': 'no-store',
      });
      res.end();
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const presented = cookieToken(req) ?? bearer;
    if (presented === undefined || !same(presented, token))
      return refuse(
        res,
        401,
        'this dashboard needs its token',
        'open the URL `lifeboat dashboard` printed (it carries the token); the token changes with every start',
      );
    if (url.pathname === '/' && method === 'GET') {
      res.writeHead(302, { Location: '/ui/' });
      res.end();
      return;
    }
    const fault = FAULT.exec(url.pathname);
    const isLocal = (url.pathname === '/local' && method === 'GET') || (fault !== null && method === 'POST');
    if (isLocal && !o.local)
      return refuse(
        res,
        404,
        'not a local cluster: no fault buttons',
        'faults are for `lifeboat up` clusters',
      );
    if (url.pathname === '/local' && method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ local: true }));
      return;
    }
    if (fault && method === 'POST' && o.local) {
      const [, name, action] = fault;
      try {
        const message = await o.local(name!, action as 'kill' | 'partition' | 'heal' | 'reboot');
        o.logger.info('fault injected from the dashboard', { node: name!, action: action! });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message }));
      } catch (err) {
        refuse(res, 409, `${action} ${name}: ${errorMessage(err)}`, 'see `lifeboat node ls`');
      }
      return;
    }
    if (!PASSED.some((p) => p.method === method && p.path.test(url.pathname)))
      return refuse(res, 404, `${method} ${url.pathname} is not part of the dashboard`, 'open /ui/');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 64 << 10)
        return refuse(res, 413, 'request body too large', 'the dashboard sends small JSON bodies');
      chunks.push(c as Buffer);
    }
    const payload = chunks.length ? Buffer.concat(chunks) : undefined;
    const headers: Record<string, string | number> = {};
    for (const h of ['accept', 'content-type', 'last-event-id'])
      if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
    if (payload) headers['content-length'] = payload.length;
    const up = await o.manager.raw(method, url.pathname + url.search, headers, payload);
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers))
      if (v !== undefined && !['connection', 'keep-alive', 'transfer-encoding'].includes(k)) out[k] = v;
    res.writeHead(up.statusCode ?? 502, out);
    res.on('close', () => up.destroy());
    up.pipe(res);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.logger.warn('dashboard request failed', { path: req.url ?? '', error: errorMessage(err) });
      if (!res.headersSent)
        refuse(res, 502, `the manager did not answer: ${errorMessage(err)}`, 'is the cluster up?');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: `${base}/ui/`,
    loginUrl: `${base}/ui/?token=${token}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
