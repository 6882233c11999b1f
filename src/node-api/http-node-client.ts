import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import type { CheckpointGroup, CheckpointManifest, CheckpointRef } from '../checkpoint/store/index.ts';
import { PodmanClient } from '../engine/podman-client.ts';
import type { CheckpointOptions, ContainerCreateSpec } from '../engine/types.ts';
import { httpsTransport, type QueryValue } from '../engine/unix-http.ts';
import { clientTlsOptions, type TlsBundle } from '../pki/index.ts';
import { errorMessage, LifeboatError } from '../util/errors.ts';
import { ndjson } from '../util/ndjson.ts';
import { idleTimeout, NodeApiCaller, type CallOptions } from './api-call.ts';
import {
  parseHeartbeatRequest,
  PULL_HEARTBEAT_PATH,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from './heartbeat-protocol.ts';
import type {
  MigrationOutcome,
  MigrationProgress,
  NodeClient,
  NodeReport,
  PeerRef,
  PreparedMigration,
  PrepareMigrationRequest,
  RestoreOutcome,
  RestoreInPlaceOptions,
  RestoreRequest,
  TransferGrant,
} from './node-client.ts';
import { PodmanNode } from './podman-node.ts';
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
  /** Counts archive bytes that pass through this process (a manager keeping `docker checkpoint` archives). */
  relayed?: RelayCounter;
  /** The host's liveness as the manager judges it from heartbeats: calls to a silent host end at once. */
  liveness?: (patient: boolean) => Error | undefined;
  /** Told of each call that may change the host (not GET or HEAD); returns what to call when it is over. */
  onChange?: (method: string) => () => void;
}

/** Archive bytes a manager carried itself; migrations, restores from the store and image moves add none. */
export interface RelayCounter {
  bytes: number;
}

function counted(stream: Readable, counter: RelayCounter | undefined): Readable {
  if (!counter) return stream;
  const out = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      counter.bytes += chunk.length;
      done(null, chunk);
    },
  });
  stream.on('error', (err) => out.destroy(err));
  return stream.pipe(out);
}

/** A target that sends no progress line for this long during a migration is given up on. */
const MIGRATION_IDLE_MS = 15_000;

function enc(s: string): string {
  return encodeURIComponent(s);
}

/**
 * NodeClient over a host's node API (mutual TLS; the server must hold an
 * `agent` certificate). Container operations go through the agent's Podman
 * proxy with the ordinary PodmanClient; checkpoints, restores, the store,
 * images and fencing through /v1. Archives stream both ways, never buffered.
 */
export class HttpNodeClient extends PodmanNode implements NodeClient {
  readonly name: string;
  readonly url: string;
  /** This host's Podman, through the agent's allow-listed proxy. */
  readonly podman: PodmanClient;
  private readonly api: NodeApiCaller;
  private readonly relayed: RelayCounter | undefined;

  constructor(opts: HttpNodeClientOptions) {
    super();
    this.name = opts.name;
    this.url = opts.url.replace(/\/+$/, '');
    const tls = clientTlsOptions(opts.tls, {
      serverRoles: ['agent'],
      ...(opts.servername === undefined ? {} : { servername: opts.servername }),
      ...(opts.pinName ? { serverIdentity: opts.name } : {}),
    });
    this.api = new NodeApiCaller(
      this.name,
      httpsTransport({
        baseUrl: this.url,
        tls,
        ...(opts.liveness ? { liveness: opts.liveness } : {}),
        ...(opts.onChange ? { onChange: opts.onChange } : {}),
      }),
      opts.timeoutMs ?? 120_000,
    );
    this.podman = PodmanClient.overHttps({
      baseUrl: `${this.url}/podman`,
      tls,
      ...(opts.liveness ? { liveness: opts.liveness } : {}),
      ...(opts.onChange ? { onChange: opts.onChange } : {}),
    });
    this.relayed = opts.relayed;
  }

  /** Releases kept-alive connections. */
  close(): void {
    this.api.transport.close();
    this.podman.close();
  }

  private call(method: string, path: string, opts: CallOptions = {}): Promise<IncomingMessage> {
    return this.api.call(method, path, opts);
  }

  private json<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    return this.api.json<T>(method, path, opts);
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

  /** The archive streams as the node sends it; a failure before the first byte is a typed error. */
  async checkpointStream(name: string, opts: CheckpointOptions): Promise<Readable> {
    const query: Record<string, QueryValue> = {};
    for (const [k, v] of Object.entries(opts)) if (typeof v === 'boolean') query[k] = v;
    const res = await this.call('POST', `/v1/containers/${enc(name)}/checkpoint`, { query, timeoutMs: 0 });
    return counted(res, this.relayed);
  }

  async restoreFromStream(input: Readable, opts: RestoreRequest = {}): Promise<RestoreOutcome> {
    return this.json('POST', '/v1/restore', {
      body: counted(input, this.relayed),
      timeoutMs: 0,
      query: {
        name: opts.name,
        tcpEstablished: opts.tcpEstablished,
        ignoreStaticIp: opts.ignoreStaticIp,
        ignoreStaticMac: opts.ignoreStaticMac,
      },
    });
  }

  async restoreInPlace(name: string, opts: RestoreInPlaceOptions = {}): Promise<void> {
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

  async grantTransfer(grant: TransferGrant): Promise<void> {
    await this.json('POST', '/v1/transfers', { json: grant });
  }

  async prepareMigration(req: PrepareMigrationRequest): Promise<PreparedMigration> {
    return this.json('POST', '/v1/migrations', { json: req, timeoutMs: 120_000 });
  }

  /**
   * The target reports as it goes (NDJSON, a line at least every second);
   * a target that goes silent for MIGRATION_IDLE_MS is given up on, and
   * aborting `signal` hangs up, which calls the migration off there.
   */
  async completeMigration(
    grant: string,
    opts: { onProgress?: (p: MigrationProgress) => void; signal?: AbortSignal } = {},
  ): Promise<MigrationOutcome> {
    const res = idleTimeout(
      await this.call('POST', `/v1/migrations/${grant}/complete`, {
        timeoutMs: 30_000,
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
      MIGRATION_IDLE_MS,
      `migration on ${this.name}`,
    );
    try {
      for await (const line of ndjson(res)) {
        const msg = line as {
          phase?: string;
          result?: MigrationOutcome;
          error?: unknown;
          status?: number;
        };
        if (msg.result) return msg.result;
        if (msg.error !== undefined)
          throw reviveError(this.name, msg.status ?? 500, Buffer.from(JSON.stringify(msg.error)));
        if (msg.phase === 'dumped' || msg.phase === 'received') opts.onProgress?.(msg as MigrationProgress);
      }
    } catch (err) {
      if (err instanceof LifeboatError) throw err;
      throw new LifeboatError(
        'migration_cut',
        `${this.name} stopped answering during the migration (${errorMessage(err)})`,
        { status: 502, cause: err },
      );
    }
    throw new LifeboatError('migration_cut', `${this.name} ended the migration answer without a result`, {
      status: 502,
    });
  }

  async discardMigration(grant: string): Promise<void> {
    await this.json('DELETE', `/v1/migrations/${grant}`);
  }

  async pullImage(req: { grant: string; source: PeerRef; image: string }): Promise<{ names: string[] }> {
    return this.json('POST', '/v1/images/pull', { json: req, timeoutMs: 0 });
  }

  async fence(reason: string): Promise<string[]> {
    const r = await this.json<{ stopped: string[] }>('POST', '/v1/fence', { json: { reason } });
    return r.stopped;
  }

  async reconcile(elsewhere: ReadonlySet<string>, seen?: ReadonlyMap<string, string>): Promise<string[]> {
    const r = await this.json<{ removed: string[] }>('POST', '/v1/reconcile', {
      json: { elsewhere: [...elsewhere], ...(seen ? { seen: Object.fromEntries(seen) } : {}) },
    });
    return r.removed;
  }
}
