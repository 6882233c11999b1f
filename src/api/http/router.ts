import http, { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createLogger, type Logger } from '../../util/log.ts';
import { DEFAULT_BODY_LIMIT_BYTES } from './body.ts';
import { answerClientError } from './client-error.ts';
import { RequestContext, type UpgradeRequest } from './context.ts';
import {
  ApiVersionError,
  errorAnswer,
  InvalidRequestTargetError,
  MethodNotAllowedError,
  RouteNotFoundError,
} from './errors.ts';

export type Handler = (ctx: RequestContext) => Promise<void> | void;

/**
 * Sees a request before routing. Returns true when it answered the request
 * itself (e.g. forwarded it to another server), false to route it here.
 */
export type Interceptor = (
  req: IncomingMessage,
  res: ServerResponse,
  upgrade: UpgradeRequest | undefined,
) => Promise<boolean>;

export interface RouterOptions {
  /** Largest JSON body accepted; 413 beyond. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Headers every answer carries (also 101 upgrades). */
  headers?: Record<string, string>;
  /** Accepted range for `/vX.Y/...` paths; unversioned paths always pass. */
  apiVersions?: { min: string; max: string };
  /** Runs before routing (a manager replica forwarding to its leader). */
  intercept?: Interceptor;
  /** Sees every request first; throwing (or rejecting) refuses it with that error (e.g. browser requests). */
  guard?: (req: IncomingMessage) => void | Promise<void>;
  /** Told each routed request's route pattern, status and seconds once its answer ended (not hijacked streams). */
  observe?: (route: string, status: number, seconds: number) => void;
  logger?: Logger;
}

interface Route {
  method: string;
  pattern: string;
  /** `{name*}` (rest) takes one or more segments: image names have slashes (`/images/{name*}/json`). */
  segments: ({ literal: string } | { param: string; rest?: true })[];
  handler: Handler;
}

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

/**
 * A small router on node:http: `{param}` path segments, Docker's `/vX.Y`
 * prefix, HEAD answered by GET routes, upgrade requests routed like any
 * other (a handler may hijack them), every error as `{"message"}`.
 */
export class Router {
  private readonly routes: Route[] = [];
  private readonly mounts: { prefix: string; handler: Interceptor }[] = [];
  private readonly intercept: Interceptor | undefined;
  private readonly guard: RouterOptions['guard'];
  private readonly bodyLimitBytes: number;
  private readonly headers: Record<string, string>;
  private readonly apiVersions: { min: string; max: string } | undefined;
  private readonly log: Logger;

  private readonly observe: RouterOptions['observe'];
  constructor(opts: RouterOptions = {}) {
    this.bodyLimitBytes = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
    this.headers = opts.headers ?? {};
    this.apiVersions = opts.apiVersions;
    this.intercept = opts.intercept;
    this.guard = opts.guard;
    this.observe = opts.observe;
    this.log = opts.logger ?? createLogger('http');
  }

  /** The routes, for documentation checks (e.g. an OpenAPI document must list them all). */
  list(): { method: string; pattern: string }[] {
    return this.routes.map((r) => ({ method: r.method, pattern: r.pattern }));
  }

  add(method: string, pattern: string, handler: Handler): this {
    const segments: Route['segments'] = pattern
      .split('/')
      .filter((s) => s !== '')
      .map((s): Route['segments'][number] => {
        const m = /^\{(\w+)(\*?)\}$/.exec(s);
        if (!m?.[1]) return { literal: s };
        return m[2] ? { param: m[1], rest: true as const } : { param: m[1] };
      });
    if (segments.filter((s) => 'rest' in s).length > 1)
      throw new Error(`route ${pattern}: at most one {param*}`);
    this.routes.push({ method: method.toUpperCase(), pattern, segments, handler });
    return this;
  }

  /**
   * Hands every request under `prefix` (a literal path, no parameters) to
   * `handler` with the prefix removed from `req.url`; the handler answers it
   * entirely (its return value is ignored).
   */
  mount(prefix: string, handler: Interceptor): this {
    this.mounts.push({ prefix: prefix.replace(/\/+$/, ''), handler });
    return this;
  }

  get(pattern: string, handler: Handler): this {
    return this.add('GET', pattern, handler);
  }
  head(pattern: string, handler: Handler): this {
    return this.add('HEAD', pattern, handler);
  }
  post(pattern: string, handler: Handler): this {
    return this.add('POST', pattern, handler);
  }
  put(pattern: string, handler: Handler): this {
    return this.add('PUT', pattern, handler);
  }
  delete(pattern: string, handler: Handler): this {
    return this.add('DELETE', pattern, handler);
  }

  /** Serves `server`'s plain requests and its upgrade requests (attach); requests Node cannot parse get a JSON 4xx. */
  attachTo(server: http.Server): void {
    server.on('clientError', answerClientError);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res, undefined);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.on('error', (err) => this.log.debug('upgraded connection error', { error: err.message }));
      // A response object on the raw socket lets error answers take the ordinary path.
      const res = new ServerResponse(req);
      res.assignSocket(socket);
      res.shouldKeepAlive = false;
      res.on('finish', () => socket.end());
      void this.handle(req, res, { socket, head });
    });
  }

  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    upgrade: UpgradeRequest | undefined,
  ): Promise<void> {
    const started = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL | undefined;
    let ctx: RequestContext | undefined;
    for (const [k, v] of Object.entries(this.headers)) res.setHeader(k, v);
    let pattern: string | undefined;
    res.on('close', () => {
      if (this.observe && pattern && !ctx?.connection)
        this.observe(`${method} ${pattern}`, res.statusCode, (Date.now() - started) / 1000);
      this.log.debug('request', {
        method,
        path: url?.pathname ?? req.url,
        status: ctx?.connection ? 'hijacked' : res.statusCode,
        ms: Date.now() - started,
      });
    });
    try {
      await this.guard?.(req);
      url = parseTarget(req.url);
      const mounted = this.mounts.find(
        (m) => url!.pathname === m.prefix || url!.pathname.startsWith(`${m.prefix}/`),
      );
      if (mounted) {
        req.url = `${url.pathname.slice(mounted.prefix.length) || '/'}${url.search}`;
        await mounted.handler(req, res, upgrade);
        return;
      }
      if (this.intercept && (await this.intercept(req, res, upgrade))) return;
      const { path, apiVersion } = this.splitVersion(url.pathname);
      const { route, params } = this.match(method, path);
      pattern = route.pattern;
      ctx = new RequestContext({
        req,
        res,
        path,
        apiVersion,
        params,
        query: url.searchParams,
        upgrade,
        bodyLimitBytes: this.bodyLimitBytes,
        headers: this.headers,
      });
      await route.handler(ctx);
    } catch (err) {
      this.fail(req, res, ctx, err);
    }
  }

  private fail(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext | undefined,
    err: unknown,
  ): void {
    const { status, message, hint, expected } = errorAnswer(err);
    const where = { method: req.method, path: req.url, status };
    if (!expected) {
      this.log.error(
        `unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        where,
      );
    } else if (status >= 500) {
      this.log.warn(message, where);
    }
    if (ctx?.connection || res.headersSent) {
      // The status line is gone: the only honest signal left is a broken connection.
      if (expected) this.log.warn(`error after the answer started: ${message}`, where);
      if (ctx?.connection) ctx.connection.destroy();
      else res.destroy();
      return;
    }
    // docker clients read `message`; lifeboat's CLI and `lifeboat join` also show what to do
    const text = JSON.stringify(hint ? { message, hint } : { message }) + '\n';
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    };
    if (err instanceof MethodNotAllowedError) headers['Allow'] = err.allowed.join(', ');
    // A body we refused may still be arriving: close rather than parse it as the next request.
    if (status === 413) headers['Connection'] = 'close';
    res.writeHead(status, headers);
    res.end(text);
  }

  private splitVersion(pathname: string): { path: string; apiVersion: string | undefined } {
    const m = VERSION_PREFIX.exec(pathname);
    if (!m?.[1] || !m[2]) return { path: pathname, apiVersion: undefined };
    const version = m[1];
    if (this.apiVersions) {
      const { min, max } = this.apiVersions;
      if (compareVersions(version, max) > 0)
        throw new ApiVersionError(
          `client version ${version} is too new. Maximum supported API version is ${max}`,
        );
      if (compareVersions(version, min) < 0)
        throw new ApiVersionError(
          `client version ${version} is too old. Minimum supported API version is ${min}, please upgrade your client to a newer version`,
        );
    }
    return { path: m[2], apiVersion: version };
  }

  private match(method: string, path: string): { route: Route; params: Record<string, string> } {
    const parts = path.split('/').filter((s) => s !== '');
    const candidates: { route: Route; params: Record<string, string> }[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route, parts);
      if (params) candidates.push({ route, params });
    }
    if (candidates.length === 0) throw new RouteNotFoundError();
    // `/containers/json` beats `/containers/{id}`: the most literal route wins
    candidates.sort((x, y) => literalCount(y.route) - literalCount(x.route));
    const exact = candidates.find((c) => c.route.method === method);
    if (exact) return exact;
    if (method === 'HEAD') {
      const get = candidates.find((c) => c.route.method === 'GET');
      if (get) return get;
    }
    throw new MethodNotAllowedError(method, path, [...new Set(candidates.map((c) => c.route.method))]);
  }
}

/**
 * The request target as a URL. An absolute-form target that is no valid URL
 * (`GET http://[/ HTTP/1.1`) is the client's fault: a 400, not a throw
 * outside every handler.
 */
function parseTarget(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    throw new InvalidRequestTargetError(target ?? '');
  }
}

function matchSegments(route: Route, parts: string[]): Record<string, string> | undefined {
  const n = route.segments.length;
  const restAt = route.segments.findIndex((s) => 'rest' in s);
  if (restAt < 0 ? n !== parts.length : parts.length < n) return undefined;
  // the segments after a rest parameter match the last parts
  const extra = restAt < 0 ? 0 : parts.length - n;
  const params: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const seg = route.segments[i]!;
    const at = restAt >= 0 && i > restAt ? i + extra : i;
    const part = parts[at]!;
    if ('literal' in seg) {
      if (seg.literal !== part) return undefined;
    } else if ('rest' in seg) {
      params[seg.param] = parts
        .slice(i, i + extra + 1)
        .map(decodeSegment)
        .join('/');
    } else {
      params[seg.param] = decodeSegment(part);
    }
  }
  return params;
}

function literalCount(route: Route): number {
  return route.segments.filter((s) => 'literal' in s).length;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Compares dotted numeric versions ("1.41" < "1.47" < "1.100"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
