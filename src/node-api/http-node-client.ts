import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { CheckpointGroup, CheckpointManifest, CheckpointRef } from '../checkpoint/store/index.ts';
import { PodmanClient } from '../engine/podman-client.ts';
import type { CheckpointOptions, ContainerCreateSpec, ContainerInspect } from '../engine/types.ts';
import { httpsTransport, readBody, type QueryValue, type Transport } from '../engine/unix-http.ts';
import { sendRequest } from '../engine/unix-http.ts';
import { clientTlsOptions, type TlsBundle } from '../pki/index.ts';
import type { NodeClient, RestoreRequest } from './node-client.ts';
import {
  parseHeartbeatRequest,
  PULL_HEARTBEAT_PATH,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from './heartbeat-protocol.ts';
import type { NodeReport, RestoreOutcome } from './node-client.ts';
import { reviveError } from './wire-errors.ts';

export interface HttpNodeClientOptions {
  /** The node's name (its certificate's CN). */
  name: string;
  /** The agent's node API, e.g. `https://10.99.0.11:7443`. */
  url: string;
  /** The manager's identity (role manager) and the cluster CA. */
  tls: TlsBundle;
  /** Name to verify the agent's certificate against, when `url` holds another. */
  servername?: string;
  /** Refuse an agent whose certificate names another node than `name` (static discovery pins it). */
  pinName?: boolean;
  /** Limit for short calls (JSON in, JSON out) until the answer's status line; default 120 s. */
  timeoutMs?: number;
}

const JSON_LIMIT = 64 * 1024 * 1024;

function enc(s: string): string {
  return encodeURIComponent(s);
}

/**
 * NodeClient over a host's node API (mutual TLS; the server must hold an
 * `agent` certificate). Container operations go through the agent's Podman
 * proxy with the ordinary PodmanClient; checkpoints, restores, the store,
 * images and fencing through /v1. Archives stream both ways, never buffered.
 */
export class HttpNodeClient implements NodeClient {
  readonly name: string;
  readonly url: string;
  /** This host's Podman, through the agent's allow-listed proxy. */
  readonly podman: PodmanClient;
  private readonly api: Transport;
  private readonly timeoutMs: number;

  constructor(opts: HttpNodeClientOptions) {
    this.name = opts.name;
    this.url = opts.url.replace(/\/+$/, '');
    const tls = clientTlsOptions(opts.tls, {
      serverRoles: ['agent'],
      ...(opts.servername === undefined ? {} : { servername: opts.servername }),
      ...(opts.pinName ? { serverIdentity: opts.name } : {}),
    });
    this.api = httpsTransport({ baseUrl: this.url, tls });
    this.podman = PodmanClient.overHttps({ baseUrl: `${this.url}/podman`, tls });
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /** Releases kept-alive connections. */
  close(): void {
    this.api.close();
    this.podman.close();
  }

  private async call(
    method: string,
    path: string,
    opts: { query?: Record<string, QueryValue>; json?: unknown; body?: Readable; timeoutMs?: number } = {},
  ): Promise<IncomingMessage> {
    const headers: Record<string, string> = {};
    let body: Readable | string | undefined;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/x-tar';
      body = opts.body;
    }
    // An upload the node refuses early is cut here, so the connection is not left half-sent.
    const upload = opts.body === undefined ? undefined : new AbortController();
    let res: IncomingMessage;
    try {
      res = await sendRequest(this.api, {
        method,
        path,
        headers,
        timeoutMs: opts.timeoutMs ?? this.timeoutMs,
        ...(opts.query ? { query: opts.query } : {}),
        ...(body === undefined ? {} : { body }),
        ...(upload ? { signal: upload.signal } : {}),
      });
    } catch (err) {
      opts.body?.destroy();
      throw err;
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const text = await readBody(res, JSON_LIMIT).catch(() => Buffer.alloc(0));
    // The node refused an upload early (a hostile archive): stop sending, and release the source.
    opts.body?.destroy();
    upload?.abort();
    throw reviveError(this.name, status, text);
  }

  private async json<T>(
    method: string,
    path: string,
    opts: { query?: Record<string, QueryValue>; json?: unknown; body?: Readable; timeoutMs?: number } = {},
  ): Promise<T> {
    const res = await this.call(method, path, opts);
    const text = await readBody(res, JSON_LIMIT);
    return (text.length === 0 ? undefined : JSON.parse(text.toString('utf8'))) as T;
  }

  async report(): Promise<NodeReport> {
    return this.json('GET', '/v1/report');
  }

  /** Static discovery: the agent's heartbeat, pulled by a manager. */
  async pullHeartbeat(timeoutMs: number): Promise<HeartbeatRequest> {
    return parseHeartbeatRequest(await this.json('GET', PULL_HEARTBEAT_PATH, { timeoutMs }));
  }

  /** Static discovery: the manager's answer to a pulled heartbeat (contact, elsewhere, leader). */
  async answerHeartbeat(sequence: number, response: HeartbeatResponse, timeoutMs: number): Promise<void> {
    await this.json('POST', `${PULL_HEARTBEAT_PATH}/answer`, { json: { sequence, response }, timeoutMs });
  }

  /** Created through the proxy, which puts the container under this host's cgroup parent. */
  async create(spec: ContainerCreateSpec): Promise<string> {
    const { cgroupParent: _ignored, ...rest } = spec;
    return this.podman.createContainer(rest);
  }

  async start(name: string): Promise<void> {
    await this.podman.startContainer(name);
  }

  async stop(name: string, timeoutSeconds = 10): Promise<void> {
    await this.podman.stopContainer(name, timeoutSeconds);
  }

  async kill(name: string, signal = 'SIGKILL'): Promise<void> {
    await this.podman.killContainer(name, signal);
  }

  async remove(name: string, force = false): Promise<void> {
    await this.podman.removeContainer(name, { force, volumes: true });
  }

  async inspect(name: string): Promise<ContainerInspect> {
    return this.podman.inspectContainer(name);
  }

  async logs(
    name: string,
    opts: { follow?: boolean; tail?: number | 'all'; timestamps?: boolean },
  ): Promise<Readable> {
    return this.podman.logs(name, opts);
  }

  async wait(name: string, condition = 'stopped'): Promise<number> {
    return this.podman.wait(name, condition);
  }

  /** The archive streams as the node sends it; a failure before the first byte is a typed error. */
  async checkpointStream(name: string, opts: CheckpointOptions): Promise<Readable> {
    const query: Record<string, QueryValue> = {};
    for (const [k, v] of Object.entries(opts)) if (typeof v === 'boolean') query[k] = v;
    return this.call('POST', `/v1/containers/${enc(name)}/checkpoint`, { query, timeoutMs: 0 });
  }

  async restoreFromStream(input: Readable, opts: RestoreRequest = {}): Promise<RestoreOutcome> {
    return this.json('POST', '/v1/restore', {
      body: input,
      timeoutMs: 0,
      query: {
        name: opts.name,
        tcpEstablished: opts.tcpEstablished,
        ignoreStaticIp: opts.ignoreStaticIp,
        ignoreStaticMac: opts.ignoreStaticMac,
      },
    });
  }

  async restoreInPlace(name: string, opts: { tcpEstablished?: boolean } = {}): Promise<void> {
    await this.json('POST', `/v1/containers/${enc(name)}/restore-in-place`, { json: opts, timeoutMs: 0 });
  }

  async preDump(name: string): Promise<void> {
    await this.json('POST', `/v1/containers/${enc(name)}/pre-dump`, { timeoutMs: 0 });
  }

  async checkpointToStore(
    name: string,
    key: string,
    ref: CheckpointRef,
    opts: CheckpointOptions,
  ): Promise<{ manifest: CheckpointManifest; timings: { dumpMs: number; storeMs: number } }> {
    return this.json('POST', `/v1/containers/${enc(name)}/checkpoint-to-store`, {
      json: { key, group: ref.group, version: ref.version, options: opts },
      timeoutMs: 0,
    });
  }

  async restoreFromStore(
    key: string,
    ref: CheckpointRef,
    opts: RestoreRequest = {},
  ): Promise<RestoreOutcome> {
    return this.json('POST', '/v1/restore-from-store', {
      json: { key, group: ref.group, version: ref.version, ...opts },
      timeoutMs: 0,
    });
  }

  async listCheckpoints(key: string): Promise<CheckpointGroup[]> {
    return this.json('GET', `/v1/checkpoints/${enc(key)}`);
  }

  async deleteCheckpointGroup(key: string, group: number): Promise<void> {
    await this.json('DELETE', `/v1/checkpoints/${enc(key)}/${group}`);
  }

  async deleteCheckpoints(key: string): Promise<void> {
    await this.json('DELETE', `/v1/checkpoints/${enc(key)}`);
  }

  async imageExists(ref: string): Promise<boolean> {
    const r = await this.json<{ exists: boolean }>('GET', `/v1/images/${enc(ref)}/exists`);
    return r.exists;
  }

  async imageArchive(ref: string): Promise<Readable> {
    return this.call('GET', `/v1/images/${enc(ref)}/archive`, { timeoutMs: 0 });
  }

  async loadImage(archive: Readable): Promise<string[]> {
    const r = await this.json<{ names: string[] }>('POST', '/v1/images/load', {
      body: archive,
      timeoutMs: 0,
    });
    return r.names;
  }

  async fence(reason: string): Promise<string[]> {
    const r = await this.json<{ stopped: string[] }>('POST', '/v1/fence', { json: { reason } });
    return r.stopped;
  }

  async reconcile(elsewhere: ReadonlySet<string>): Promise<string[]> {
    const r = await this.json<{ removed: string[] }>('POST', '/v1/reconcile', {
      json: { elsewhere: [...elsewhere] },
    });
    return r.removed;
  }
}
