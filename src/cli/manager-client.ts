import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { clientTlsOptions, loadTlsBundle } from '../pki/index.ts';
import { LifeboatError } from '../util/errors.ts';
import type { CliContext } from './context.ts';

/** Errors that mean the request never reached a manager: another replica may be tried safely. */
const UNREACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'CONNECT_TIMEOUT']);

/** How long a manager may take to accept the connection before the next replica is tried. */
const CONNECT_TIMEOUT_MS = 2000;

/**
 * The lifeboat API over mutual TLS, as the CLI uses it. With several
 * manager replicas in the context, a request that cannot reach one (refused,
 * unreachable, no connection within 2 s) goes to the next; every replica
 * serves (replicas forward to the leader).
 */
export class ManagerClient {
  private current = 0;

  private constructor(
    private readonly bases: URL[],
    private readonly agent: https.Agent,
  ) {}

  static async open(ctx: CliContext): Promise<ManagerClient> {
    const bundle = await loadTlsBundle(ctx.pkiDir);
    const tls = clientTlsOptions(bundle, { serverRoles: ['manager'] });
    const urls = [ctx.managerUrl, ...(ctx.managerUrls ?? []).filter((u) => u !== ctx.managerUrl)];
    return new ManagerClient(
      urls.map((u) => new URL(u)),
      new https.Agent({ ...tls, keepAlive: false }),
    );
  }

  private get base(): URL {
    return this.bases[this.current]!;
  }

  /**
   * One request; `onLine` receives NDJSON lines as they arrive. Resolves with
   * the parsed body (or last line). Tries the next replica when this one
   * cannot be reached.
   */
  async request<T>(method: string, path: string, body?: unknown, onLine?: (o: unknown) => void): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = payload
      ? { 'Content-Type': 'application/json', 'Content-Length': payload.length }
      : {};
    return this.withFailover(async () =>
      readAnswer<T>(await this.open(method, path, headers, payload), onLine),
    );
  }

  /**
   * The manager's answer as it comes (status, headers, streamed body), for
   * callers that pass it on: the dashboard's local proxy. Fails over as
   * request() does.
   */
  async raw(
    method: string,
    path: string,
    headers: Record<string, string | number>,
    payload?: Buffer,
  ): Promise<IncomingMessage> {
    return this.withFailover(() => this.open(method, path, headers, payload));
  }

  /** Runs `fn` against the current replica, and the next ones while it cannot reach them. */
  private async withFailover<T>(fn: () => Promise<T>): Promise<T> {
    const failures: string[] = [];
    for (let tried = 0; tried < this.bases.length; tried++) {
      try {
        return await fn();
      } catch (err) {
        const code = (err as { reason?: string }).reason;
        if (
          !(err instanceof LifeboatError) ||
          err.code !== 'manager_unreachable' ||
          !code ||
          !UNREACHED.has(code)
        )
          throw err;
        failures.push(err.message);
        this.current = (this.current + 1) % this.bases.length;
      }
    }
    throw new LifeboatError('manager_unreachable', `no manager answered: ${failures.join('; ')}`, {
      hint: 'is the cluster up? `lifeboat up` starts a local one; `lifeboat node ls` needs one manager replica running',
    });
  }

  /** One request to the current replica: resolves with its answer once the status line is in. */
  private open(
    method: string,
    path: string,
    headers: Record<string, string | number>,
    payload?: Buffer,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: this.base.hostname, port: this.base.port, method, path, agent: this.agent, headers },
        resolve,
      );
      // a manager whose machine is gone answers nothing: give up on it after CONNECT_TIMEOUT_MS
      const connectTimer = setTimeout(() => {
        const e = new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`) as NodeJS.ErrnoException;
        e.code = 'CONNECT_TIMEOUT';
        req.destroy(e);
      }, CONNECT_TIMEOUT_MS);
      req.on('socket', (s) => {
        if (!s.connecting) clearTimeout(connectTimer);
        else s.once('connect', () => clearTimeout(connectTimer));
      });
      req.on('response', () => clearTimeout(connectTimer));
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        const e = new LifeboatError(
          'manager_unreachable',
          `cannot reach the manager at ${this.base.href}: ${err.message}`,
          {
            hint: 'is the cluster up? `lifeboat up` starts a local one',
          },
        );
        (e as LifeboatError & { reason?: string }).reason = err.code;
        reject(e);
      });
      req.end(payload);
    });
  }
}

/** Reads an answer whole (or line by line into `onLine`): its parsed body, or the last line; >= 400 rejects. */
function readAnswer<T>(res: IncomingMessage, onLine?: (o: unknown) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let last: unknown;
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      buf += d;
      if (!onLine) return;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) {
          last = JSON.parse(line);
          onLine(last);
        }
      }
    });
    res.on('end', () => {
      const status = res.statusCode ?? 0;
      let parsed: unknown = last;
      if (!onLine || buf.trim()) {
        try {
          parsed = buf ? JSON.parse(buf) : undefined;
        } catch {
          parsed = buf;
        }
      }
      if (status >= 400) {
        const p = parsed as { message?: string; hint?: string; code?: string } | undefined;
        reject(
          new LifeboatError(p?.code ?? 'manager_error', p?.message ?? `manager answered ${status}`, {
            status,
            ...(p?.hint ? { hint: p.hint } : {}),
          }),
        );
      } else resolve(parsed as T);
    });
    res.on('error', reject);
  });
}
