import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Interceptor } from '../api/http/router.ts';
import type { UpgradeRequest } from '../api/http/context.ts';
import { clientTlsOptions, type TlsBundle } from '../pki/index.ts';
import { errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';

/** Where a leader serves the Docker API to replicas forwarding to it (manager API, mutual TLS, manager role). */
export const DOCKER_FORWARD_PREFIX = '/lifeboat/forward/docker';
/** Response header naming the manager that answered a forwarded request. */
export const FORWARDED_BY_HEADER = 'X-Lifeboat-Answered-By';

export interface LeaderRef {
  name: string;
  apiUrl: string;
}

export interface LeaderForwardOptions {
  self: string;
  isLeader: () => boolean;
  leader: () => Promise<LeaderRef | undefined>;
  tls: TlsBundle;
  log: Logger;
  /** How long a looked-up leader is trusted before asking the store again (default 500 ms). */
  cacheMs?: number;
}

/**
 * Thesis 3.4.3: replicas answer clients by forwarding to the leader, so that
 * every change goes through one manager (one lock per container, one ticker
 * set). The forwarded request travels over the manager API's mutual TLS
 * with this replica's manager certificate.
 *
 * While no leader is known (an election in progress) a replica answers from
 * the shared store itself rather than refusing: reads are consistent there
 * and writes are compare-and-swap. A known leader that cannot be reached is
 * a 503 naming it: the client retries, and the lease of a dead leader runs
 * out within seconds.
 */
export class LeaderForwarder {
  private cached: { at: number; leader: LeaderRef | undefined } | undefined;

  constructor(private readonly o: LeaderForwardOptions) {}

  /** Interceptor for the Docker endpoint: forwards to `DOCKER_FORWARD_PREFIX` on the leader. */
  docker(): Interceptor {
    return (req, res, upgrade) => this.forward(DOCKER_FORWARD_PREFIX, req, res, upgrade);
  }

  private async currentLeader(): Promise<LeaderRef | undefined> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.o.cacheMs ?? 500)) return this.cached.leader;
    const leader = await this.o.leader().catch(() => undefined);
    this.cached = { at: now, leader };
    return leader;
  }

  /**
   * Forwards to `prefix` + the request's path on the leader and answers the
   * client; false when this manager leads or no other leader is known (the
   * caller answers itself). The caller has checked the client's role.
   */
  async forward(
    prefix: string,
    req: IncomingMessage,
    res: ServerResponse,
    upgrade: UpgradeRequest | undefined,
  ): Promise<boolean> {
    if (this.o.isLeader()) return false;
    const leader = await this.currentLeader();
    if (!leader || leader.name === this.o.self) {
      this.o.log.debug('no other leader known: answering from the shared store', { path: req.url });
      return false;
    }
    const target = new URL(leader.apiUrl);
    const headers: OutgoingHttpHeaders = {
      ...(upgrade ? req.headers : withoutHopByHop(req.headers)),
      host: target.host,
    };
    headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress]
      .filter(Boolean)
      .join(', ');
    headers['x-lifeboat-forwarded-by'] = this.o.self;
    const out = https.request({
      ...clientTlsOptions(this.o.tls, { serverRoles: ['manager'] }),
      host: target.hostname,
      port: Number(target.port),
      method: req.method,
      path: `${prefix}${req.url ?? '/'}`,
      headers,
      agent: false,
    });
    await new Promise<void>((resolve) => {
      let answered = false;
      const done = (): void => {
        answered = true;
        resolve();
      };
      // the client went away: so does the forwarded request (follows, waits, attaches)
      res.on('close', () => out.destroy());
      out.on('response', (lres) => {
        const h = withoutHopByHop(lres.headers);
        h[FORWARDED_BY_HEADER.toLowerCase()] ??= leader.name;
        res.writeHead(lres.statusCode ?? 502, h);
        // `docker run` waits for wait's headers before it starts the container: pass them on at once
        res.flushHeaders();
        lres.pipe(res);
        lres.on('error', () => res.destroy());
        done();
      });
      out.on('upgrade', (lres, lsocket, lhead) => {
        if (!upgrade) {
          lsocket.destroy();
          res.destroy();
          return done();
        }
        spliceUpgrade(upgrade, lres, lsocket, lhead, leader.name);
        done();
      });
      out.on('error', (err) => {
        if (answered || res.headersSent) {
          res.destroy();
          return;
        }
        this.cached = undefined;
        this.o.log.warn('leader unreachable: request not forwarded', {
          leader: leader.name,
          url: leader.apiUrl,
          path: req.url,
          error: errorMessage(err),
        });
        const text =
          JSON.stringify({
            message: `manager ${this.o.self} is a replica and the leader ${leader.name} (${leader.apiUrl}) is unreachable: ${errorMessage(err)}; retry in a few seconds (a dead leader is replaced when its lease expires) or use the leader's endpoint`,
          }) + '\n';
        res.writeHead(503, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(text),
          'Retry-After': '2',
        });
        res.end(text);
        done();
      });
      if (upgrade) {
        out.end();
      } else {
        req.pipe(out);
      }
    });
    return true;
  }
}

// Connection-level headers belong to one hop; body framing is redone by Node on each side.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];

function withoutHopByHop(h: IncomingHttpHeaders): IncomingHttpHeaders {
  const out = { ...h };
  for (const k of HOP_BY_HOP) delete out[k];
  return out;
}

/** Joins the client's upgraded socket to the leader's: the 101 answer, then bytes both ways. */
function spliceUpgrade(
  upgrade: UpgradeRequest,
  lres: IncomingMessage,
  lsocket: Socket,
  lhead: Buffer,
  leaderName: string,
): void {
  const client = upgrade.socket;
  const lines = [`HTTP/1.1 ${lres.statusCode ?? 101} ${lres.statusMessage ?? 'Switching Protocols'}`];
  for (let i = 0; i < lres.rawHeaders.length; i += 2)
    lines.push(`${lres.rawHeaders[i]}: ${lres.rawHeaders[i + 1]}`);
  lines.push(`${FORWARDED_BY_HEADER}: ${leaderName}`);
  client.write(lines.join('\r\n') + '\r\n\r\n');
  if (lhead.length) client.write(lhead);
  if (upgrade.head.length) lsocket.write(upgrade.head);
  lsocket.pipe(client);
  client.pipe(lsocket);
  const close = (): void => {
    lsocket.destroy();
    client.destroy();
  };
  lsocket.on('error', close).on('close', close);
  client.on('error', close).on('close', close);
}
