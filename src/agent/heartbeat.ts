import { fenceRecordPath, readContact, takeFenceRecord, writeContact } from './contact-file.ts';
import type { ClusterNetworkPlan } from '../network/cluster-network.ts';
import { normalizeSerial } from '../pki/serial.ts';
import type { NodeReport } from '../node-api/node-client.ts';
import { randomUUID } from 'node:crypto';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { readBody } from '../engine/unix-http.ts';
import { clientTlsOptions, type ClientTlsOptions, type TlsBundle } from '../pki/index.ts';
import { errorMessage, LifeboatError, ValidationError } from '../util/errors.ts';
import { createLogger, type Logger } from '../util/log.ts';
import { defaultFenceMarginMs, formatHostPort, type HostPort } from './agent-config.ts';
import { FenceMonitor, type FenceState } from './fencing.ts';
import {
  HEARTBEAT_PATH,
  HEARTBEAT_PROTOCOL,
  parseHeartbeatResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from '../node-api/heartbeat-protocol.ts';
import type { NodeClient } from '../node-api/node-client.ts';

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
export const DEFAULT_FAILURE_TIMEOUT_MS = 5000;
const FENCE_CHECK_MS = 100;
/** The same failure repeating every beat is logged again only after this long. */
const REPEAT_LOG_MS = 30_000;
const ANSWER_LIMIT_BYTES = 16 * 1024 * 1024;

export interface HeartbeatOptions {
  /** What is reported, fenced and reconciled: this host's NodeService. */
  node: Pick<NodeClient, 'name' | 'report' | 'fence' | 'reconcile'> & {
    heartbeatReport?: () => Promise<NodeReport>;
    /** The managers' cluster network plan, from every answer (applied in the background). */
    applyClusterNetwork?: (plan: ClusterNetworkPlan) => Promise<void>;
  };
  /**
   * Manager replicas, tried in turn until one accepts. None: static
   * discovery, where managers poll this agent (`pulled`/`answered`) and each
   * answered poll counts as contact.
   */
  managers: readonly HostPort[];
  /** The agent's identity (role agent) and the cluster CA. */
  tls: TlsBundle;
  /** Where managers reach this agent's node API. */
  apiUrl: string;
  intervalMs?: number;
  /** The managers' failure timeout until their first answer says otherwise. */
  failureTimeoutMs?: number;
  /** Fixed fencing margin; by default derived from the timeout and interval (agent-config.ts). */
  fenceMarginMs?: number;
  /** Per manager attempt; default min(max(interval, 1 s), 5 s). */
  requestTimeoutMs?: number;
  /**
   * Where the wall-clock time of the last accepted heartbeat is kept. An
   * agent started again (after a crash, a kill) counts its silence from
   * there, not from its own start: the managers may have declared the host
   * failed and restored its containers meanwhile, while they kept running
   * here with no agent to fence them (the chaos bench found both copies
   * running). Past the fence deadline it fences at once.
   */
  contactFile?: string;
  logger?: Logger;
}

/**
 * The agent's side of cluster membership: a heartbeat every `intervalMs`
 * to the first manager that accepts it, self-fencing when none has for the
 * managers' failure timeout minus a margin, and reconciliation (removing
 * copies the cluster restored elsewhere) before the node reports itself
 * healthy again.
 */
export class HeartbeatLoop {
  /** Random per start: managers see a restarted agent by a new boot id. */
  readonly bootId = randomUUID();
  private readonly opts: HeartbeatOptions;
  private readonly log: Logger;
  private readonly tls: ClientTlsOptions;
  private readonly agents: https.Agent[];
  private readonly intervalMs: number;
  private monitor: FenceMonitor | undefined;
  private failureTimeoutMs: number;
  private sequence = 0;
  private preferred = 0;
  private inContact: boolean | undefined;
  private leader: string | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private inflight: ClientRequest | undefined;
  private fencing: Promise<void> | undefined;
  private fenceFailedAt: number | undefined;
  private fencedNames: string[] = [];
  private reconcilePending = false;
  /** Certificates the managers revoked, as of their last answer: the node API refuses them. */
  private revokedSerials = new Set<string>();

  /** Whether a certificate serial (any case, leading zeros or not) was revoked, as of the last answer. */
  isRevoked(serial: string): boolean {
    return this.revokedSerials.size > 0 && this.revokedSerials.has(normalizeSerial(serial));
  }
  private last: { manager: string; response: HeartbeatResponse } | undefined;
  private readonly repeated = new Map<string, number>();
  /** Per pulled beat: the container names it listed and the fenced names it carried. */
  private readonly pulledBeats = new Map<
    number,
    { listed: ReadonlyMap<string, string>; fenced: readonly string[] }
  >();
  private answering: Promise<unknown> = Promise.resolve();

  constructor(opts: HeartbeatOptions) {
    this.opts = opts;
    this.log = opts.logger ?? createLogger(`agent/${opts.node.name}/heartbeat`);
    this.intervalMs = opts.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.failureTimeoutMs = opts.failureTimeoutMs ?? DEFAULT_FAILURE_TIMEOUT_MS;
    // Heartbeats go only to servers holding a manager certificate.
    this.tls = clientTlsOptions(opts.tls, { serverRoles: ['manager'] });
    this.agents = opts.managers.map(() => new https.Agent({ keepAlive: true, maxSockets: 1, ...this.tls }));
  }

  /** connected, fenced or reconciling (fencing.ts). */
  get state(): FenceState {
    return this.monitor?.current ?? 'connected';
  }

  /** ms since a manager last accepted a heartbeat (monotonic); undefined before the loop starts. */
  get sinceContactMs(): number | undefined {
    return this.monitor ? performance.now() - this.monitor.lastContactAt : undefined;
  }

  /** The last accepted answer and who gave it. */
  get lastAccepted(): { manager: string; response: HeartbeatResponse } | undefined {
    return this.last;
  }

  start(): void {
    if (this.loop) return;
    // A monotonic clock: a wall-clock jump must neither fence early nor late.
    this.monitor = new FenceMonitor(
      this.failureTimeoutMs,
      this.marginMs(),
      performance.now() - this.silentSincePredecessor(),
    );
    this.log.info('heartbeats start', {
      managers: this.opts.managers.map(formatHostPort).join(','),
      intervalMs: this.intervalMs,
      failureTimeoutMs: this.failureTimeoutMs,
      fenceAfterMs: this.monitor.fenceAfterMs,
      bootId: this.bootId,
    });
    // before the first beat: one answered at once must not hide a predecessor's silence
    this.checkFence();
    this.fenceTimer = setInterval(() => this.checkFence(), FENCE_CHECK_MS);
    if (this.opts.managers.length === 0) {
      this.log.info(
        'no manager to heartbeat to: waiting to be polled by managers whose --discovery lists this host',
      );
      this.loop = Promise.resolve();
    } else {
      this.loop = this.run();
    }
  }

  /**
   * Static discovery (a manager's `--discovery nodes://...`): the heartbeat
   * a manager pulls. Its answer comes back through `answered`.
   */
  async pulled(): Promise<HeartbeatRequest> {
    if (!this.monitor || this.stopped) throw new AgentNotReadyError();
    const request = await this.request();
    this.pulledBeats.set(request.sequence, { listed: listing(request), fenced: request.fenced });
    for (const k of this.pulledBeats.keys()) if (this.pulledBeats.size > 16) this.pulledBeats.delete(k);
    return request;
  }

  /** A polling manager's answer to the pulled heartbeat `sequence`: contact, as an accepted heartbeat. */
  async answered(manager: string, sequence: number, response: HeartbeatResponse): Promise<void> {
    if (!this.monitor || this.stopped) throw new AgentNotReadyError();
    const pulled = this.pulledBeats.get(sequence);
    if (!pulled)
      throw new ValidationError(
        `no pulled heartbeat ${sequence} to answer (this agent keeps the last 16)`,
        'poll GET /v1/heartbeat again and answer that one',
      );
    this.pulledBeats.delete(sequence);
    // two managers may poll at once: answers are handled one after another
    const turn = this.answering.then(() => this.accepted(manager, response, pulled.listed, pulled.fenced));
    this.answering = turn.catch(() => undefined);
    await turn;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.fenceTimer) clearInterval(this.fenceTimer);
    this.wake?.();
    this.inflight?.destroy(new Error('agent stopping'));
    await this.loop;
    await this.fencing;
    for (const a of this.agents) a.destroy();
    this.log.info('heartbeats stopped');
  }

  /** ms since the previous agent's last accepted heartbeat (0: none recorded, or in the future). */
  private silentSincePredecessor(): number {
    if (!this.opts.contactFile) return 0;
    const c = readContact(this.opts.contactFile);
    if (!c) return 0;
    const silent = Date.now() - c.at;
    if (!Number.isFinite(silent) || silent <= 0) return 0;
    this.log.info('the previous agent was last in contact with a manager', {
      silentMs: Math.round(silent),
    });
    return silent;
  }

  private noteContact(): void {
    if (!this.opts.contactFile) return;
    try {
      writeContact(this.opts.contactFile, { at: Date.now(), fenceAfterMs: this.monitor!.fenceAfterMs });
    } catch (err) {
      this.logRepeated('warn', 'contact-file', 'cannot record the last contact', {
        error: errorMessage(err),
      });
    }
  }

  private marginMs(): number {
    return this.opts.fenceMarginMs ?? defaultFenceMarginMs(this.failureTimeoutMs, this.intervalMs);
  }

  private get requestTimeoutMs(): number {
    return this.opts.requestTimeoutMs ?? Math.min(Math.max(this.intervalMs, 1000), 5000);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const started = performance.now();
      try {
        await this.beat();
      } catch (err) {
        this.log.error('heartbeat round failed', { error: errorMessage(err) });
      }
      const rest = this.intervalMs - (performance.now() - started);
      if (rest > 0 && !this.stopped) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, rest);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private async request(): Promise<HeartbeatRequest> {
    this.absorbGuardFence();
    return {
      protocol: HEARTBEAT_PROTOCOL,
      report: await (this.opts.node.heartbeatReport?.() ?? this.opts.node.report()),
      apiUrl: this.opts.apiUrl,
      bootId: this.bootId,
      sequence: ++this.sequence,
      state: this.monitor!.current,
      fenced: [...this.fencedNames],
      sentAt: new Date().toISOString(),
    };
  }

  private async beat(): Promise<void> {
    const monitor = this.monitor!;
    let request: HeartbeatRequest;
    try {
      request = await this.request();
    } catch (err) {
      // Without its own state the host cannot say it is healthy: no heartbeat (the timeout decides).
      this.logRepeated('warn', 'report', 'cannot read the host state; no heartbeat sent', {
        error: errorMessage(err),
      });
      return;
    }
    this.repeated.delete('report');
    const body = JSON.stringify(request);
    const n = this.opts.managers.length;
    const failures: string[] = [];
    for (let k = 0; k < n && !this.stopped; k++) {
      const i = (this.preferred + k) % n;
      const manager = formatHostPort(this.opts.managers[i]!);
      let response: HeartbeatResponse;
      try {
        response = await this.post(i, body);
      } catch (err) {
        failures.push(`${manager}: ${errorMessage(err)}`);
        continue;
      }
      if (i !== this.preferred)
        this.log.info('heartbeats go to another manager', { manager, failed: failures.join('; ') });
      this.preferred = i;
      await this.accepted(manager, response, listing(request), request.fenced);
      return;
    }
    if (this.stopped) return;
    if (this.inContact !== false) {
      this.log.warn('no manager accepted the heartbeat', {
        errors: failures.join('; '),
        fenceInMs: Math.max(
          0,
          Math.round(monitor.fenceAfterMs - (performance.now() - monitor.lastContactAt)),
        ),
      });
    } else {
      this.log.debug('no manager accepted the heartbeat', { errors: failures.join('; ') });
    }
    this.inContact = false;
  }

  private post(i: number, body: string): Promise<HeartbeatResponse> {
    const m = this.opts.managers[i]!;
    return new Promise((resolve, reject) => {
      const req = https.request({
        ...this.tls,
        host: m.host,
        port: m.port,
        method: 'POST',
        path: HEARTBEAT_PATH,
        agent: this.agents[i],
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      });
      this.inflight = req;
      const timer = setTimeout(
        () => req.destroy(new Error(`no answer within ${this.requestTimeoutMs} ms`)),
        this.requestTimeoutMs,
      );
      const done = (): void => {
        clearTimeout(timer);
        if (this.inflight === req) this.inflight = undefined;
      };
      req.on('response', (res) => {
        readBody(res, ANSWER_LIMIT_BYTES).then(
          (buf) => {
            done();
            const text = buf.toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              let message = text.trim().slice(0, 300);
              try {
                message = (JSON.parse(text) as { message?: string }).message ?? message;
              } catch {
                // not JSON: quoted as text
              }
              reject(new Error(`answered ${status}: ${message}`));
              return;
            }
            try {
              resolve(parseHeartbeatResponse(JSON.parse(text)));
            } catch (err) {
              reject(new Error(`unusable answer: ${errorMessage(err)}`));
            }
          },
          (err: unknown) => {
            done();
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      });
      req.on('error', (err) => {
        done();
        reject(err);
      });
      req.end(body);
    });
  }

  /**
   * `listed`: the containers the accepted beat reported (name to ID);
   * `reportedFenced`: the fenced names it carried (pushed or pulled alike).
   */
  private async accepted(
    manager: string,
    response: HeartbeatResponse,
    listed: ReadonlyMap<string, string>,
    reportedFenced: readonly string[],
  ): Promise<void> {
    const monitor = this.monitor!;
    this.last = { manager, response };
    if (response.revoked) this.revokedSerials = new Set(response.revoked);
    if (this.inContact !== true)
      this.log.info('a manager accepted the heartbeat', { manager, leader: response.leader });
    this.inContact = true;
    if (response.leader !== undefined && response.leader !== this.leader) {
      this.log.info('cluster leader', { leader: response.leader });
      this.leader = response.leader;
    }
    if (response.failureTimeoutMs !== this.failureTimeoutMs) {
      this.failureTimeoutMs = response.failureTimeoutMs;
      monitor.setTimeouts(this.failureTimeoutMs, this.marginMs());
      this.log.info('failure timeout set by the managers', {
        failureTimeoutMs: this.failureTimeoutMs,
        fenceAfterMs: monitor.fenceAfterMs,
      });
    }
    const decision = monitor.contact(performance.now());
    this.noteContact();
    const plan = response.clusterNetwork;
    if (plan && this.opts.node.applyClusterNetwork)
      this.opts.node
        .applyClusterNetwork(plan)
        .catch((err: unknown) =>
          this.log.warn('could not apply the cluster network plan', { error: errorMessage(err) }),
        );
    if (decision.reconcileNow) this.reconcilePending = true;
    if (this.reconcilePending) await this.reconcileAfterFence(response.elsewhere, listed, reportedFenced);
    else {
      // the guard fenced while this agent was still counting: a manager has now heard of it
      const named = this.fencedNames.filter((n) => reportedFenced.includes(n));
      if (monitor.current === 'connected' && named.length > 0) {
        this.log.info('a manager heard what the fence guard stopped', { fenced: named.join(',') });
        this.fencedNames = this.fencedNames.filter((n) => !named.includes(n));
      }
      // An answer may be older than the removal it asks for: act only on what this beat listed,
      // and only on the very copies it listed (one of the same name may have been created since)
      const here = response.elsewhere.filter((n) => listed.has(n));
      if (here.length > 0) await this.removeElsewhere(here, listed);
    }
  }

  /**
   * After a fence: remove what now runs elsewhere, then (only then) report
   * healthy again. Not before a manager accepted a beat that named what the
   * fence stopped: the beat that got through may have been built before the
   * fence, and a manager that never hears of the fence never restores those
   * containers (the chaos bench found them left dead).
   */
  private async reconcileAfterFence(
    elsewhere: string[],
    listed: ReadonlyMap<string, string>,
    reportedFenced: readonly string[],
  ): Promise<void> {
    // A fence still stopping containers finishes first: reconciling must see its result.
    await this.fencing;
    const fenceReported = this.fencedNames.every((n) => reportedFenced.includes(n));
    this.log.warn('contact is back after a fence: reconciling before reporting healthy', {
      elsewhere: elsewhere.join(','),
      fenced: this.fencedNames.join(','),
    });
    let removed: string[];
    try {
      // a copy the beat listed goes only if it is still that copy (same ID)
      removed = await this.opts.node.reconcile(new Set(elsewhere), listed);
    } catch (err) {
      this.log.error('reconcile failed; retrying with the next accepted heartbeat', {
        error: errorMessage(err),
      });
      return;
    }
    if (!fenceReported) {
      this.log.warn('the accepted beat predates the fence: naming what it stopped in the next one', {
        fenced: this.fencedNames.join(','),
      });
      return;
    }
    const stillHere = this.fencedNames.filter((n) => !removed.includes(n));
    this.log.info('reconciled; reporting healthy again', {
      removed: removed.join(','),
      stoppedHere: stillHere.join(','),
    });
    this.fencedNames = [];
    this.reconcilePending = false;
    this.monitor!.reconciled();
  }

  private async removeElsewhere(elsewhere: string[], listed: ReadonlyMap<string, string>): Promise<void> {
    this.log.warn('managers report containers here that run on other hosts: removing them', {
      elsewhere: elsewhere.join(','),
    });
    try {
      const removed = await this.opts.node.reconcile(new Set(elsewhere), listed);
      this.log.info('removed copies that run elsewhere', { removed: removed.join(',') });
    } catch (err) {
      this.log.error('removing copies that run elsewhere failed; retrying with the next answer', {
        error: errorMessage(err),
      });
    }
  }

  /**
   * What the fence guard stopped (contact-file.ts, takeFenceRecord) is named
   * as fenced, as the agent's own fence would: when the guard kills first, the
   * agent's fence finds nothing to stop, and a host back within the failure
   * timeout would otherwise leave those containers dead for good. Taken as
   * each beat is built, which then carries them.
   */
  private absorbGuardFence(): void {
    if (!this.opts.contactFile) return;
    const names = takeFenceRecord(fenceRecordPath(this.opts.contactFile));
    const fresh = names.filter((n) => !this.fencedNames.includes(n));
    if (fresh.length === 0) return;
    this.log.warn('the fence guard stopped containers: naming them to the managers as fenced', {
      fenced: fresh.join(','),
      state: this.state,
    });
    this.fencedNames.push(...fresh);
  }

  private checkFence(): void {
    const monitor = this.monitor;
    if (!monitor || this.stopped) return;
    const now = performance.now();
    const decision = monitor.tick(now);
    if (decision.fenceNow) {
      this.startFence(
        `no manager accepted a heartbeat for ${Math.round(now - monitor.lastContactAt)} ms ` +
          `(the managers declare this node failed after ${this.failureTimeoutMs} ms)`,
      );
    } else if (
      decision.state === 'fenced' &&
      this.fenceFailedAt !== undefined &&
      this.fencing === undefined &&
      now - this.fenceFailedAt >= this.intervalMs
    ) {
      this.startFence('retrying a failed fence');
    }
  }

  /** Logs a failure that repeats every beat once, then again only every REPEAT_LOG_MS (debug between). */
  private logRepeated(
    level: 'warn' | 'error',
    key: string,
    msg: string,
    fields: Record<string, string>,
  ): void {
    const now = performance.now();
    const last = this.repeated.get(key);
    if (last !== undefined && now - last < REPEAT_LOG_MS) {
      this.log.debug(msg, fields);
      return;
    }
    this.repeated.set(key, now);
    this.log[level](msg + (last === undefined ? '' : ' (still)'), fields);
  }

  private startFence(reason: string): void {
    if (this.fenceFailedAt === undefined)
      this.log.warn(
        'fencing: cut off from every manager, stopping containers that will be restored elsewhere',
        {
          reason,
        },
      );
    this.fencing = this.opts.node
      .fence(reason)
      .then(
        (stopped) => {
          this.fenceFailedAt = undefined;
          this.repeated.delete('fence');
          this.fencedNames.push(...stopped.filter((s) => !this.fencedNames.includes(s)));
          this.log.warn('fenced', { stopped: stopped.join(',') || '(none)' });
        },
        (err: unknown) => {
          this.fenceFailedAt = performance.now();
          this.logRepeated('error', 'fence', 'fencing failed; retrying every heartbeat interval', {
            error: errorMessage(err),
          });
        },
      )
      .finally(() => {
        this.fencing = undefined;
      });
  }
}

export class AgentNotReadyError extends LifeboatError {
  constructor() {
    super('agent_not_ready', 'the agent is starting or stopping: no heartbeat to pull', {
      status: 503,
      hint: 'poll again in a moment',
    });
  }
}

/** The containers a beat reported: name to ID. */
function listing(request: HeartbeatRequest): Map<string, string> {
  return new Map(request.report.containers.flatMap((c) => c.Names.map((n) => [n, c.Id] as const)));
}
