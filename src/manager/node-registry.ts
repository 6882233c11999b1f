import { randomBytes } from 'node:crypto';
import type { NodeClient, PeerRef } from '../node-api/node-client.ts';
import type { NodeReport } from '../node-api/node-client.ts';
import { LifeboatError } from '../util/errors.ts';
import type { ClusterState } from './cluster-state.ts';
import type { EventLog } from './events.ts';
import { FreshRead } from './fresh-read.ts';
import type { PrefixMirror } from '../store/prefix-mirror.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { NodeRecord } from './records.ts';

export class NoSuchNodeError extends LifeboatError {
  constructor(name: string, known: string[]) {
    super('no_such_node', `no host named ${name} in the cluster (known: ${known.join(', ') || 'none'})`, {
      status: 404,
      hint: '`lifeboat node ls` lists the hosts',
    });
  }
}

/**
 * A host that stopped heartbeating: calls to it end at once instead of
 * waiting on a connection nobody answers (classic Swarm showed "Host Down").
 */
export class HostDownError extends LifeboatError {
  readonly node: string;
  constructor(node: string, silentMs: number, failed: boolean) {
    super(
      'host_down',
      failed
        ? `host ${node} is down (declared failed; no heartbeat for ${Math.round(silentMs / 1000)} s)`
        : `host ${node} is not answering: no heartbeat for ${silentMs} ms`,
      {
        status: 503,
        hint: 'a host silent for the failure timeout is declared failed and its restore-policy containers come back elsewhere; `lifeboat node ls` shows the hosts',
      },
    );
    this.node = node;
  }
}

export interface NodeRegistryOptions {
  state: ClusterState;
  events: EventLog;
  /** A client for a host, from its record (in-process or HTTPS to its node API). */
  clientFor: (rec: NodeRecord) => NodeClient;
  /** No heartbeat for this long: the host is failed (Algorithm 2, line 3). */
  failureTimeoutMs: number;
  /** This manager's own clock for ages (default: monotonic); never compared with another machine's. */
  now?: () => number;
}

/**
 * Hosts as their heartbeats describe them, and the failure detector. Every
 * manager replica accepts heartbeats and writes them to the store; only the
 * leader runs `detect()`, so a failure is declared once.
 */
export class NodeRegistry implements NodeDirectory {
  private readonly clients = new Map<string, { apiUrl: string; client: NodeClient }>();
  private readonly now: () => number;
  /**
   * When this manager saw each host's heartbeat change, on its own clock.
   * A record's `lastHeartbeat` is stamped by whichever replica took the
   * heartbeat, with that machine's wall clock; comparing it with this
   * machine's would declare live hosts failed (and restore their containers
   * from older state) as soon as two managers' clocks disagree by the
   * failure timeout. A host's age is how long its heartbeat has not changed
   * as seen from here. Only a record written later than the one seen counts
   * (by the store's revision): the mirror may show an older record than a
   * read of the store did a moment ago, and taking that for a new heartbeat
   * would keep a dead host alive for as long as the mirror lags.
   */
  private readonly observed = new Map<string, { beat: string; at: number; revision: number }>();
  /** What the records said when last read, and when that was: liveness is judged without a store round trip. */
  private seen = new Map<string, { silentMs: number; failed: boolean }>();
  private seenAt = 0;
  /**
   * Every host's record as a watch keeps it (milliseconds behind the store,
   * this replica's own writes at once), for `docker ps`, placement, `lifeboat
   * node ls` and the failure detector: reading all records from the store
   * for each (~10 MB at 200 hosts x 50 containers, the detector 4 times a
   * second) made placement p99 913 ms (issue 22). A host is declared failed
   * only after its record, read from the store itself, confirms the silence.
   */
  private readonly nodeMirror: PrefixMirror<NodeRecord>;
  private readonly drainMarks = new FreshRead(() => this.opts.state.availabilities());

  constructor(private readonly opts: NodeRegistryOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.nodeMirror = opts.state.mirrorNodes();
  }

  /** Ends the watch behind the mirror of host records. */
  async close(): Promise<void> {
    await this.nodeMirror.close();
  }

  /** Notes a heartbeat that changed since the last read (`beat` is new with every heartbeat). */
  private observe(r: NodeRecord, revision: number): void {
    const beat = r.beat ?? `${r.bootId}:${r.lastHeartbeat}`;
    const o = this.observed.get(r.report.name);
    if (o && revision <= o.revision) return;
    if (!o || o.beat !== beat) this.observed.set(r.report.name, { beat, at: this.now(), revision });
    else o.revision = revision;
  }

  /** Every host record from the mirror, each heartbeat noted. */
  private async read(): Promise<NodeRecord[]> {
    const entries = await this.nodeMirror.entries();
    for (const e of entries) this.observe(e.value, e.revision);
    return entries.map((e) => e.value);
  }

  /** How long this manager has seen no new heartbeat from the host (0 for one it has not seen yet). */
  silentMs(name: string): number {
    const o = this.observed.get(name);
    return o ? this.now() - o.at : 0;
  }

  get failureTimeoutMs(): number {
    return this.opts.failureTimeoutMs;
  }

  /**
   * `fenced`: the agent says it stopped its restore-policy containers when it
   * lost contact. If that happened without the host being declared failed
   * (contact back between the agent's fence deadline and the failure
   * timeout), nobody restores them: it counts as a restart (the chaos bench
   * found fenced containers left dead for good).
   */
  async recordHeartbeat(
    report: NodeReport,
    apiUrl: string,
    bootId: string,
    opts: { fenced?: boolean; sentAt?: string } = {},
  ): Promise<NodeRecord> {
    const prev = await this.opts.state.node(report.name);
    const restarted =
      prev !== undefined && (prev.bootId !== bootId || opts.fenced === true) && prev.status === 'healthy';
    const restartedAt = restarted ? Date.now() : prev?.restartedAt;
    const rec: NodeRecord = {
      report,
      apiUrl,
      bootId,
      // wall clock, for people (`lifeboat node ls`); liveness goes by `beat` changing
      lastHeartbeat: Date.now(),
      beat: randomBytes(6).toString('hex'),
      // a failed host stays failed until the leader sees it back (detect), so its
      // containers' restores are not raced by a half-returned host
      status: prev?.status === 'failed' ? 'failed' : 'healthy',
      ...(prev?.failedAt !== undefined && prev.status === 'failed' ? { failedAt: prev.failedAt } : {}),
      ...(restartedAt !== undefined ? { restartedAt } : {}),
      ...clockOffset(opts.sentAt),
    };
    if (!prev)
      this.opts.events.emit('node.join', `host ${report.name} joined at ${report.address}`, {
        node: report.name,
      });
    else if (prev.bootId !== bootId)
      this.opts.events.emit('node.reboot', `host ${report.name} restarted (new agent)`, {
        node: report.name,
      });
    await this.opts.state.putNode(rec);
    return rec;
  }

  private isAlive(rec: NodeRecord): boolean {
    return this.silentMs(rec.report.name) < this.opts.failureTimeoutMs;
  }

  /** Every host, with an operator's drain mark merged in (`availability`). */
  async all(): Promise<NodeRecord[]> {
    const [nodes, drained] = await Promise.all([this.read(), this.drainMarks.get()]);
    const records = nodes
      .map((r) => (drained.has(r.report.name) ? { ...r, availability: 'drain' as const } : r))
      .sort((a, b) => a.report.name.localeCompare(b.report.name));
    this.remember(records);
    return records;
  }

  private remember(records: NodeRecord[]): void {
    const now = this.now();
    this.seen = new Map(
      records.map((r) => [
        r.report.name,
        { silentMs: this.silentMs(r.report.name), failed: r.status === 'failed' },
      ]),
    );
    this.seenAt = now;
  }

  /**
   * How long a host may be silent before a call waiting on it stops: two
   * heartbeats (1 s apart), at most half the failure timeout. A call is
   * ended for silence only after it has itself waited a second, so a live
   * host late on heartbeats (busy with a restore) still answers.
   */
  get staleAfterMs(): number {
    return Math.min(2000, this.opts.failureTimeoutMs / 2);
  }

  /**
   * A host's liveness for calls in flight to it: an error once it has been
   * silent for `staleAfterMs`, or for a patient call once it is declared
   * failed; judged from the records as last read (the leader reads them
   * every 250 ms). With no recent read nothing is judged, so a quiet
   * replica never cuts a live host's calls.
   */
  liveness(name: string): (patient: boolean) => HostDownError | undefined {
    return (patient) => {
      const now = this.now();
      if (now - this.seenAt > this.staleAfterMs) return undefined;
      const s = this.seen.get(name);
      if (!s) return undefined;
      const silent = s.silentMs + (now - this.seenAt);
      if (s.failed) return new HostDownError(name, silent, true);
      // a patient call (a dump, a migration, a streaming answer) waits for the failure detector's verdict
      return !patient && silent > this.staleAfterMs ? new HostDownError(name, silent, false) : undefined;
    };
  }

  async healthy(): Promise<NodeRecord[]> {
    const all = await this.all();
    // every replica (not only the leader) must reach the hosts it lists
    this.syncClients(all);
    return all.filter((r) => r.status === 'healthy' && this.isAlive(r));
  }

  client(name: string): NodeClient {
    const c = this.clients.get(name);
    if (c) return c.client;
    throw new NoSuchNodeError(name, [...this.clients.keys()]);
  }

  /** Where agents reach this host's node API themselves (agent-to-agent transfers). */
  peer(name: string): PeerRef {
    const c = this.clients.get(name);
    if (c) return { name, url: c.apiUrl };
    throw new NoSuchNodeError(name, [...this.clients.keys()]);
  }

  /** Refreshes clients from the records (call after heartbeats arrive). */
  async refreshClients(): Promise<void> {
    const records = await this.read();
    this.remember(records);
    this.syncClients(records);
  }

  private syncClients(records: NodeRecord[]): void {
    for (const rec of records) {
      const have = this.clients.get(rec.report.name);
      if (!have || have.apiUrl !== rec.apiUrl) {
        this.clients.set(rec.report.name, { apiUrl: rec.apiUrl, client: this.opts.clientFor(rec) });
      }
    }
  }

  /**
   * One pass of the failure detector (leader only): returns hosts that just
   * failed and hosts that just came back.
   */
  async detect(): Promise<{ failed: NodeRecord[]; recovered: NodeRecord[]; rebooted: NodeRecord[] }> {
    // one read of every record per pass (it was three with the leader's tick: at 200 hosts x 50
    // containers each read is ~10 MB, the scale bench's largest store load after heartbeats)
    const records = await this.read();
    this.remember(records);
    this.syncClients(records);
    const failed: NodeRecord[] = [];
    const recovered: NodeRecord[] = [];
    const rebooted: NodeRecord[] = [];
    for (const rec of records) {
      const alive = this.isAlive(rec);
      if (rec.restartedAt !== undefined) {
        const cleared: NodeRecord = { ...rec };
        delete cleared.restartedAt;
        await this.opts.state.putNode(cleared);
        // back within the failure timeout (a quick power cycle): no silence to detect, yet
        // what ran there may have died with the previous boot (the chaos bench found it)
        if (rec.status === 'healthy' && alive) {
          this.opts.events.emit(
            'node.restarted',
            `host ${rec.report.name} came back within the failure timeout (a new agent, or fenced while cut off): restore-policy containers it no longer runs are restored elsewhere`,
            { node: rec.report.name, level: 'warn' },
          );
          rebooted.push(cleared);
          continue;
        }
      }
      if (rec.status === 'healthy' && !alive) {
        // the mirror may lag the store: a verdict rests on the record as the store has it now
        const entry = await this.opts.state.nodeEntry(rec.report.name);
        if (!entry) continue;
        const fresh = entry.record;
        this.observe(fresh, entry.revision);
        if (fresh.status !== 'healthy' || this.isAlive(fresh)) continue;
        const next: NodeRecord = { ...fresh, status: 'failed', failedAt: Date.now() };
        await this.opts.state.putNode(next);
        const silentMs = Math.round(this.silentMs(rec.report.name));
        this.opts.events.emit(
          'node.failed',
          `host ${rec.report.name} failed: no heartbeat for ${silentMs} ms (timeout ${this.opts.failureTimeoutMs} ms)`,
          {
            node: rec.report.name,
            level: 'warn',
          },
        );
        failed.push(next);
      } else if (rec.status === 'failed' && alive) {
        const next: NodeRecord = { ...rec, status: 'healthy' };
        delete next.failedAt;
        await this.opts.state.putNode(next);
        this.opts.events.emit('node.recovered', `host ${rec.report.name} is back`, { node: rec.report.name });
        recovered.push(next);
      }
    }
    // liveness judges by the verdicts just reached, not the ones before them
    const changed = new Map([...failed, ...recovered].map((r) => [r.report.name, r]));
    this.remember(records.map((r) => changed.get(r.report.name) ?? r));
    return { failed, recovered, rebooted };
  }
}

/**
 * The agent's clock against the manager's that took its heartbeat: the
 * agent's send time minus the receive time (so it includes the one-way
 * network delay, milliseconds on a LAN). For display and warnings only:
 * failure detection never compares clocks.
 */
export function clockOffset(sentAt: string | undefined, now = Date.now()): { clockOffsetMs?: number } {
  const t = sentAt === undefined ? NaN : Date.parse(sentAt);
  return Number.isFinite(t) ? { clockOffsetMs: t - now } : {};
}
