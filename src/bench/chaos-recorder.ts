import { readFileSync } from 'node:fs';
import type { ManagerClient } from '../cli/manager-client.ts';
import type { LocalCluster } from '../devcluster/local-cluster.ts';
import { isAlive } from '../devcluster/processes.ts';
import type { ClusterEvent } from '../manager/events.ts';
import { errorMessage } from '../util/errors.ts';
import type { DockerEndpoint } from './bench-cluster.ts';
import type { ApiCall, CheckpointRecord, PollRound } from './chaos-invariants.ts';
import { withTimeout } from './with-timeout.ts';

export { withTimeout };

/**
 * What the chaos bench watches while faults come and go, each in its own
 * loop: every running host's Podman, asked directly (the truth about where
 * a container runs, not the manager's view); a steady Docker API load
 * through the managers' endpoint; the managers' events (checkpoints and
 * restores). Everything is kept for the invariant checks at the end.
 */
const POLL_MS = 500;
const HOST_TIMEOUT_MS = 4_000;
const API_PAUSE_MS = 100;
export const API_TIMEOUT_MS = 30_000;
const EVENTS_MS = 2_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A container's process really runs: alive, not a zombie, and in the container's own cgroup. */
function reallyRuns(pid: number, id: string): boolean {
  if (!pid || !isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(id);
  } catch {
    return false;
  }
}

export class ChaosRecorder {
  readonly rounds: PollRound[] = [];
  readonly calls: ApiCall[] = [];
  readonly checkpoints = new Map<string, CheckpointRecord>();
  readonly restoreEvents = new Map<string, ClusterEvent>();
  /** Hosts whose Podman did not answer a poll in time, counted per host. */
  readonly pollMisses = new Map<string, number>();
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly local: LocalCluster,
    private readonly dockers: readonly DockerEndpoint[],
    private readonly apis: readonly ManagerClient[],
    /** Containers the API load inspects and reads logs of (changes as plain ones are replaced). */
    private readonly names: () => string[],
    /** Whether a fault is active right now. */
    private readonly faultActive: () => boolean,
  ) {}

  start(): void {
    this.loops.push(this.pollLoop(), this.apiLoop(), this.eventLoop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await this.fetchEvents();
  }

  /** The latest round: where each container runs now. */
  get latest(): PollRound | undefined {
    return this.rounds[this.rounds.length - 1];
  }

  /** Waits for the next complete poll round. */
  async nextRound(): Promise<PollRound> {
    const n = this.rounds.length;
    while (this.rounds.length === n) await sleep(50);
    return this.rounds[this.rounds.length - 1]!;
  }

  /** ms from the container's first restore.start after `after` to its restore.done / restore.fresh. */
  restoreMs(container: string, after: number): number | undefined {
    const evs = [...this.restoreEvents.values()]
      .filter((e) => e.container === container && Date.parse(e.time) >= after)
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    const start = evs.find((e) => e.type === 'restore.start');
    if (!start) return undefined;
    const end = evs.find(
      (e) =>
        (e.type === 'restore.done' || e.type === 'restore.fresh') &&
        Date.parse(e.time) >= Date.parse(start.time),
    );
    return end ? Date.parse(end.time) - Date.parse(start.time) : undefined;
  }

  /** Restores the managers reported (done from a checkpoint, or fresh). */
  restoreCounts(): { fromCheckpoint: number; fresh: number } {
    let fromCheckpoint = 0;
    let fresh = 0;
    for (const e of this.restoreEvents.values()) {
      if (e.type === 'restore.done') fromCheckpoint++;
      if (e.type === 'restore.fresh') fresh++;
    }
    return { fromCheckpoint, fresh };
  }

  private async pollOnce(): Promise<PollRound> {
    const running: Record<string, string[]> = {};
    const unknown: string[] = [];
    await Promise.all(
      this.local.hosts
        .filter((h) => h.power === 'running')
        .map(async (h) => {
          try {
            const list = await withTimeout(
              h.podman.listContainers({ all: false }),
              HOST_TIMEOUT_MS,
              'podman ps',
            );
            for (const c of list) {
              const name = c.Names[0];
              if (!name || c.State !== 'running' || !reallyRuns(c.Pid, c.Id)) continue;
              (running[name] ??= []).push(h.name);
            }
          } catch {
            // no answer: no evidence either way (counted, stated in the report)
            this.pollMisses.set(h.name, (this.pollMisses.get(h.name) ?? 0) + 1);
            unknown.push(h.name);
          }
        }),
    );
    // sorted, so that two rounds with the same placements read the same
    const sorted: Record<string, string[]> = {};
    for (const name of Object.keys(running).sort()) sorted[name] = running[name]!.sort();
    return { at: Date.now(), running: sorted, ...(unknown.length ? { unknown: unknown.sort() } : {}) };
  }

  private async pollLoop(): Promise<void> {
    while (!this.stopped) {
      const t0 = Date.now();
      this.rounds.push(await this.pollOnce());
      await sleep(Math.max(0, POLL_MS - (Date.now() - t0)));
    }
  }

  /** One Docker API call through the first manager that takes the connection. */
  private async dockerCall(path: string): Promise<void> {
    let last: unknown;
    for (const d of this.dockers) {
      try {
        await d.request('GET', path, undefined, { timeoutMs: API_TIMEOUT_MS });
        return;
      } catch (err) {
        last = err;
        // a refused connection means this replica is down: the next one; any other answer counts
        if (!/ECONNREFUSED|ECONNRESET|socket hang up/.test(errorMessage(err))) throw err;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  private async apiLoop(): Promise<void> {
    const ops = ['ps', 'inspect', 'logs'] as const;
    for (let i = 0; !this.stopped; i++) {
      const op = ops[i % ops.length]!;
      const names = this.names();
      const name = encodeURIComponent(
        names[Math.floor(i / ops.length) % Math.max(1, names.length)] ?? 'none',
      );
      const path =
        op === 'ps'
          ? '/containers/json?all=1'
          : op === 'inspect'
            ? `/containers/${name}/json`
            : `/containers/${name}/logs?stdout=1&stderr=1&tail=5`;
      const during = this.faultActive();
      const t0 = Date.now();
      try {
        await this.dockerCall(path);
        this.calls.push({ at: t0, op, ms: Date.now() - t0, ok: true, duringFault: during });
      } catch (err) {
        this.calls.push({
          at: t0,
          op,
          ms: Date.now() - t0,
          ok: false,
          duringFault: during,
          error: errorMessage(err).split('\n')[0]!,
        });
      }
      await sleep(API_PAUSE_MS);
    }
  }

  /** Events live in each manager's memory: asked of every replica and merged, often enough that none scrolls away. */
  async fetchEvents(): Promise<void> {
    await Promise.all(
      this.apis.map(async (api) => {
        try {
          const evs = await withTimeout(
            api.request<ClusterEvent[]>('GET', '/lifeboat/v1/events'),
            5_000,
            'events',
          );
          for (const e of evs) this.noteEvent(e);
        } catch {
          // this replica is down or busy: the other one answers, or the next round
        }
      }),
    );
  }

  private noteEvent(e: ClusterEvent): void {
    if (!e.container) return;
    const f = e.fields ?? {};
    if (e.type === 'checkpoint.done') {
      const version = Number(f['version']);
      const startedAt = Date.parse(String(f['startedAt']));
      if (!Number.isFinite(version) || !Number.isFinite(startedAt)) return;
      // a version number is reused after its group is deleted only by a new leader's resume, never within one container's run
      const key = `${e.container}\u0000${version}\u0000${startedAt}`;
      if (!this.checkpoints.has(key))
        this.checkpoints.set(key, { container: e.container, version, startedAt, doneAt: Date.parse(e.time) });
    } else if (e.type === 'restore.start' || e.type === 'restore.done' || e.type === 'restore.fresh') {
      this.restoreEvents.set(`${e.type}\u0000${e.container}\u0000${e.time}`, e);
    }
  }

  /** Checkpoints of one container, as far as reported so far. */
  checkpointsOf(container: string): CheckpointRecord[] {
    return [...this.checkpoints.values()].filter((c) => c.container === container);
  }

  private async eventLoop(): Promise<void> {
    while (!this.stopped) {
      await this.fetchEvents();
      for (let t = 0; t < EVENTS_MS && !this.stopped; t += 100) await sleep(100);
    }
  }
}
