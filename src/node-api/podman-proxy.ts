import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { readJsonBody, readUpgradeBody } from '../api/http/body.ts';
import { LifeboatError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { decidePodmanRoute, type ProxyDecision } from './podman-allow-list.ts';
import { sendWireError } from './wire-errors.ts';

export interface PodmanProxyOptions {
  /** This host's Podman socket. */
  socketPath: string;
  /** Containers created through the proxy live under this host's cgroup parent. */
  cgroupParent: string;
  /** Largest container-create body accepted (the only body the proxy reads). */
  bodyLimitBytes: number;
  logger: Logger;
}

// RFC 9110 7.6.1: hop-by-hop headers describe one connection, not the message.
/** exec start bodies are a few dozen bytes. */
const MAX_UPGRADE_BODY = 64 * 1024;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/**
 * A streaming reverse proxy from `/podman/...` to the host's Podman socket
 * for the allow-listed routes (podman-allow-list.ts). Bodies both ways are
 * piped, never buffered (image archives, log follows, waits that last for
 * hours), except a container-create body, which gets this host's cgroup
 * parent. Attach upgrades are spliced socket to socket.
 */
export class PodmanProxy {
  private readonly opts: PodmanProxyOptions;

  constructor(opts: PodmanProxyOptions) {
    this.opts = opts;
  }

  /** The allow-list's decision for a route it passes; else answers 403 (with why) and returns undefined. */
  private allowed(
    res: ServerResponse,
    method: string,
    path: string,
    upgrade: boolean,
  ): Extract<ProxyDecision, { allow: true }> | undefined {
    const decision = decidePodmanRoute(method, path, upgrade);
    if (decision.allow) return decision;
    this.opts.logger.warn(upgrade ? 'refused a Podman upgrade' : 'refused a Podman route', {
      method,
      path,
      status: decision.status,
    });
    sendWireError(
      res,
      new LifeboatError('proxy_forbidden', decision.message, {
        status: decision.status,
        hint: decision.hint,
      }),
    );
    return undefined;
  }

  /** A plain request; `path` is the part after `/podman`, `search` the query string with its `?`. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, search: string): Promise<void> {
    const method = req.method ?? 'GET';
    const decision = this.allowed(res, method, path, false);
    if (!decision) return;
    const headers = endToEnd(req.headers);
    let body: Buffer | undefined;
    if (decision.setsCgroupParent) {
      try {
        body = await this.withCgroupParent(req);
      } catch (err) {
        if (err instanceof LifeboatError) return sendWireError(res, err);
        throw err;
      }
      headers['content-length'] = body.length;
    }
    const upstream = http.request({
      socketPath: this.opts.socketPath,
      method,
      path: path + search,
      headers: { ...headers, host: 'podman' },
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.on('response', (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.statusMessage, endToEnd(ures.headers));
      // Waits and log follows answer their status long before their body: pass it on at once.
      res.flushHeaders();
      pipeline(ures, res).catch(() => undefined);
    });
    upstream.on('error', (err) => this.upstreamFailed(res, err));
    if (body !== undefined) upstream.end(body);
    else pipeline(req, upstream).catch(() => upstream.destroy());
  }

  /**
   * An upgrade request (attach). `res` answers refusals on the raw socket;
   * once Podman upgrades, its status line and headers are relayed and the
   * two sockets piped both ways.
   */
  upgrade(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    res: ServerResponse,
    path: string,
    search: string,
  ): void {
    const method = req.method ?? 'GET';
    if (!this.allowed(res, method, path, true)) return;
    // exec start sends a body before the upgrade: Podman reads it first
    const length = Number(req.headers['content-length'] ?? 0);
    if (Number.isSafeInteger(length) && length > 0 && length <= MAX_UPGRADE_BODY) {
      readUpgradeBody(socket, head, length).then(
        ({ body, rest }) => this.upgradeWith(req, socket, rest, res, path + search, body),
        () => socket.destroy(),
      );
      return;
    }
    if (length > MAX_UPGRADE_BODY) {
      sendWireError(
        res,
        new LifeboatError(
          'body_too_large',
          `an upgrade request's body is at most ${MAX_UPGRADE_BODY} bytes`,
          { status: 413 },
        ),
      );
      return;
    }
    this.upgradeWith(req, socket, head, res, path + search, undefined);
  }

  private upgradeWith(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    res: ServerResponse,
    target: string,
    body: Buffer | undefined,
  ): void {
    const method = req.method ?? 'GET';
    const upstream = http.request({
      socketPath: this.opts.socketPath,
      method,
      path: target,
      headers: {
        ...endToEnd(req.headers),
        host: 'podman',
        connection: 'Upgrade',
        upgrade: req.headers.upgrade ?? 'tcp',
      },
    });
    const abort = (): void => {
      upstream.destroy();
    };
    socket.once('close', abort);
    upstream.on('upgrade', (ures, usocket, uhead) => {
      socket.off('close', abort);
      res.detachSocket(socket);
      const lines = [`HTTP/1.1 ${ures.statusCode ?? 101} ${ures.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i + 1 < ures.rawHeaders.length; i += 2)
        lines.push(`${ures.rawHeaders[i]}: ${ures.rawHeaders[i + 1]}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (uhead.length) socket.write(uhead);
      if (head.length) usocket.write(head);
      const close = (): void => {
        socket.destroy();
        usocket.destroy();
      };
      socket.on('error', close);
      usocket.on('error', close);
      socket.on('close', () => usocket.destroy());
      usocket.on('close', () => socket.end());
      socket.pipe(usocket);
      usocket.pipe(socket);
    });
    upstream.on('response', (ures) => {
      // Podman refused the upgrade (no such container, ...): relay its answer.
      res.writeHead(ures.statusCode ?? 502, ures.statusMessage, endToEnd(ures.headers));
      pipeline(ures, res).catch(() => undefined);
    });
    upstream.on('error', (err) => this.upstreamFailed(res, err));
    upstream.end(body);
  }

  private upstreamFailed(res: ServerResponse, err: NodeJS.ErrnoException): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const unreachable = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
    this.opts.logger.warn('Podman request failed', { error: err.message, socket: this.opts.socketPath });
    sendWireError(
      res,
      new LifeboatError(
        unreachable ? 'engine_unavailable' : 'proxy_error',
        unreachable
          ? `Podman service at ${this.opts.socketPath} is not reachable: ${err.message}`
          : `proxy to Podman failed: ${err.message}`,
        {
          status: unreachable ? 503 : 502,
          hint: 'is Podman running on this host? `lifeboat doctor` checks it',
        },
      ),
    );
  }

  private async withCgroupParent(req: IncomingMessage): Promise<Buffer> {
    const spec = await readJsonBody(req, this.opts.bodyLimitBytes);
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
      throw new LifeboatError('invalid_input', 'container create body must be a JSON object', {
        status: 400,
      });
    return Buffer.from(JSON.stringify({ ...spec, cgroup_parent: this.opts.cgroupParent }));
  }
}
