import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { clientTlsOptions, type TlsBundle } from '../../pki/index.ts';

export { percentile } from '../stats.ts';

export interface ProcSample {
  /** user + system CPU time, seconds. */
  cpuSeconds: number;
  rssBytes: number;
}

const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** /proc/<pid>/stat's utime, stime (fields 14, 15) and rss (24); the command name may hold spaces. */
export function parseProcStat(text: string): ProcSample {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state)
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const rss = Number(rest[21]);
  return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssBytes: rss * PAGE_BYTES };
}

export function procSample(pid: number): ProcSample | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Sums of Prometheus text-format samples by metric name (labels summed over). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + v);
  }
  return out;
}

/** What the bench reads from an etcd member's /metrics. */
export interface EtcdSample {
  at: number;
  /** Puts, deletes and transactions applied (MVCC), cumulative. */
  writes: number;
  /** Bytes clients sent to this member over gRPC, cumulative. */
  receivedBytes: number;
  /** Bytes this member sent to clients, cumulative. */
  sentBytes: number;
  /** Backend database file size (grows until compaction and defragmentation). */
  dbBytes: number;
  /** Keys' revisions kept (MVCC history, until compaction). */
  keys: number;
}

export function etcdSampleOf(m: Map<string, number>, at: number): EtcdSample {
  const g = (k: string): number => m.get(k) ?? 0;
  return {
    at,
    writes:
      g('etcd_mvcc_put_total') + g('etcd_mvcc_delete_total') + g('etcd_mvcc_txn_total') ||
      g('etcd_debugging_mvcc_put_total') + g('etcd_debugging_mvcc_delete_total'),
    receivedBytes: g('etcd_network_client_grpc_received_bytes_total'),
    sentBytes: g('etcd_network_client_grpc_sent_bytes_total'),
    dbBytes: g('etcd_mvcc_db_total_size_in_bytes') || g('etcd_debugging_mvcc_db_total_size_in_bytes'),
    keys: g('etcd_debugging_mvcc_keys_total'),
  };
}

async function memberSample(endpoint: string): Promise<EtcdSample> {
  const res = await fetch(`http://${endpoint}/metrics`, { signal: AbortSignal.timeout(5000) });
  return etcdSampleOf(parsePrometheus(await res.text()), performance.now());
}

/**
 * The cluster's view: writes, database size and keys as the first member
 * applied them (every member applies every write), client bytes summed over
 * the members (a client talks to whichever it picked).
 */
export async function etcdSample(endpoints: readonly string[]): Promise<EtcdSample> {
  const all = await Promise.all(endpoints.map((e) => memberSample(e)));
  const first = all[0]!;
  return {
    ...first,
    receivedBytes: all.reduce((n, m) => n + m.receivedBytes, 0),
    sentBytes: all.reduce((n, m) => n + m.sentBytes, 0),
  };
}

export interface Timed<T> {
  ms: number;
  status: number;
  body: T;
}

/** HTTP(S) GET/POST returning the parsed JSON and the wall time to the last byte. */
export function request<T>(
  o: {
    port: number;
    path: string;
    method?: string;
    body?: unknown;
    tls?: TlsBundle;
    agent?: http.Agent;
    timeoutMs?: number;
  },
  host = '127.0.0.1',
): Promise<Timed<T>> {
  const started = performance.now();
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const opts: https.RequestOptions = {
      host,
      port: o.port,
      path: o.path,
      method: o.method ?? 'GET',
      ...(o.agent ? { agent: o.agent } : {}),
      headers: payload
        ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
        : {},
      ...(o.tls ? clientTlsOptions(o.tls, { serverRoles: ['manager'] }) : {}),
    };
    const req = (o.tls ? https : http).request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: the text
        }
        resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, body: body as T });
      });
      res.on('error', reject);
    });
    req.setTimeout(o.timeoutMs ?? 30_000, () =>
      req.destroy(new Error(`no answer within ${o.timeoutMs ?? 30_000} ms`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}
