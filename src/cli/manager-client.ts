import https from 'node:https';
import { clientTlsOptions, loadTlsBundle } from '../pki/index.ts';
import { LifeboatError } from '../util/errors.ts';
import type { CliContext } from './context.ts';

/** The lifeboat API over mutual TLS, as the CLI uses it. */
export class ManagerClient {
  private constructor(
    private readonly base: URL,
    private readonly agent: https.Agent,
  ) {}

  static async open(ctx: CliContext): Promise<ManagerClient> {
    const bundle = await loadTlsBundle(ctx.pkiDir);
    const tls = clientTlsOptions(bundle, { serverRoles: ['manager'] });
    return new ManagerClient(new URL(ctx.managerUrl), new https.Agent({ ...tls, keepAlive: false }));
  }

  /** One request; `onLine` receives NDJSON lines as they arrive. Resolves with the parsed body (or last line). */
  request<T>(method: string, path: string, body?: unknown, onLine?: (o: unknown) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = https.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
        },
        (res) => {
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
        },
      );
      req.on('error', (err) =>
        reject(
          new LifeboatError(
            'manager_unreachable',
            `cannot reach the manager at ${this.base.href}: ${err.message}`,
            {
              hint: 'is the cluster up? `lifeboat up` starts a local one',
            },
          ),
        ),
      );
      req.end(payload);
    });
  }
}
