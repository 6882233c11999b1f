import { isHostFault, type FaultKind } from './chaos-schedule.ts';
import { percentile } from './stats.ts';

/**
 * The chaos bench's invariants, as pure checks over what the run recorded:
 * (a) no container runs on two hosts at once, (b) every restore-policy
 * container runs again within failure timeout + its restore time + slack
 * after its host's fault, (c) no acknowledged write older than the newest
 * checkpoint at the fault is lost, (d) the Docker API answers within a bound.
 * Each violation names the fault (index) it happened under, for replay.
 */

export type InvariantId = 'single-copy' | 'restore-deadline' | 'acked-writes' | 'api-latency' | 'settle';

export interface Violation {
  invariant: InvariantId;
  /** Index of the fault active (or last started) when it happened; null before the first fault. */
  faultIndex: number | null;
  /** Epoch ms. */
  at: number;
  container?: string;
  message: string;
}

/** One poll of every running host's Podman: container name -> hosts where it really runs. */
export interface PollRound {
  at: number;
  running: Record<string, string[]>;
  /** Hosts whose Podman did not answer in time: no evidence either way. */
  unknown?: string[];
}

/** A fault as it happened. */
export interface FaultRecord {
  index: number;
  kind: FaultKind;
  target: string;
  startedAt: number;
  endedAt: number;
}

export type RestorePolicy = 'checkpoint' | 'on-node-failure' | 'none';

/** The latest fault started at or before `t`: the one a violation at `t` is filed under. */
export function faultAt(faults: readonly FaultRecord[], t: number): number | null {
  let best: FaultRecord | undefined;
  for (const f of faults) if (f.startedAt <= t && (!best || f.startedAt >= best.startedAt)) best = f;
  return best ? best.index : null;
}

/**
 * (a) A container seen running on the same two (or more) hosts in two
 * consecutive rounds ran twice: each round polls every host after the
 * previous round ended, so a clean hand-over (stopped here, then started
 * there) can show in one round at most. One violation per episode.
 */
export function checkSingleCopy(rounds: readonly PollRound[], faults: readonly FaultRecord[]): Violation[] {
  const out: Violation[] = [];
  const open = new Map<string, { from: number; to: number; hosts: string[] }>();
  const close = (name: string): void => {
    const e = open.get(name);
    if (!e) return;
    open.delete(name);
    out.push({
      invariant: 'single-copy',
      faultIndex: faultAt(faults, e.from),
      at: e.from,
      container: name,
      message: `${name} ran on ${e.hosts.join(' and ')} at once for at least ${e.to - e.from} ms (two polls in a row)`,
    });
  };
  for (let i = 1; i < rounds.length; i++) {
    const prev = rounds[i - 1]!;
    const cur = rounds[i]!;
    const seen = new Set<string>();
    for (const [name, hosts] of Object.entries(cur.running)) {
      const both = hosts.filter((h) => prev.running[name]?.includes(h));
      if (both.length < 2) continue;
      seen.add(name);
      const e = open.get(name);
      if (e) e.to = cur.at;
      else open.set(name, { from: prev.at, to: cur.at, hosts: both.sort() });
    }
    for (const name of [...open.keys()]) if (!seen.has(name)) close(name);
  }
  for (const name of [...open.keys()]) close(name);
  return out;
}

export interface RestoreBudget {
  failureTimeoutMs: number;
  /** Stated allowance for a loaded, shared machine (polling, heartbeats, CPU). */
  slackMs: number;
  /** Extra time when a manager or etcd fault overlaps the window: a new leader has to be elected first. */
  controlPlaneMs: number;
  /** The container's restore (restore.start -> done/fresh) after `after`, from the managers' events. */
  restoreMs: (container: string, after: number) => number | undefined;
}

export interface RestoreOutcome {
  faultIndex: number;
  container: string;
  policy: RestorePolicy;
  /** ms from the fault until it ran again; undefined: it never stopped. */
  downMs?: number;
  budgetMs: number;
}

/**
 * (b) For each host fault: every restore-policy container running on that
 * host just before it must, if it stopped, run again (anywhere) within
 * failure timeout + its restore time + slack of the fault's start. A check
 * whose deadline lies after the last round is left out (the run ended).
 */
export function checkRestores(
  rounds: readonly PollRound[],
  faults: readonly FaultRecord[],
  policies: ReadonlyMap<string, RestorePolicy>,
  b: RestoreBudget,
): { violations: Violation[]; outcomes: RestoreOutcome[] } {
  const violations: Violation[] = [];
  const outcomes: RestoreOutcome[] = [];
  const last = rounds[rounds.length - 1]?.at ?? 0;
  for (const f of faults) {
    if (!isHostFault(f.kind)) continue;
    const before = [...rounds].reverse().find((r) => r.at < f.startedAt);
    if (!before) continue;
    const after = rounds.filter((r) => r.at >= f.startedAt);
    for (const [name, hosts] of Object.entries(before.running)) {
      const policy = policies.get(name) ?? 'none';
      if (policy === 'none' || !hosts.includes(f.target)) continue;
      // a stop is this fault's if it begins while the fault can still cause it (until a
      // failure timeout after it ended) and before a later fault hits the container's host
      const later = faults.find(
        (g) =>
          isHostFault(g.kind) &&
          g.startedAt > f.startedAt &&
          [...rounds]
            .reverse()
            .find((r) => r.at < g.startedAt)
            ?.running[name]?.includes(g.target),
      );
      const windowEnd = Math.min(f.endedAt + b.failureTimeoutMs, later?.startedAt ?? Infinity);
      // down = seen nowhere, while the host it was last seen on answered (a slow Podman proves nothing)
      let lastSeen = hosts;
      const downIdx = after.findIndex((r) => {
        const on = r.running[name] ?? [];
        if (on.length > 0) lastSeen = on;
        return r.at <= windowEnd && on.length === 0 && !lastSeen.some((h) => r.unknown?.includes(h));
      });
      const restore = b.restoreMs(name, f.startedAt) ?? 0;
      const controlPlane = faults.some(
        (g) =>
          !isHostFault(g.kind) &&
          g.startedAt <= f.startedAt + b.failureTimeoutMs + b.slackMs &&
          g.endedAt >= f.startedAt,
      );
      const budgetMs = b.failureTimeoutMs + restore + b.slackMs + (controlPlane ? b.controlPlaneMs : 0);
      if (downIdx < 0) {
        outcomes.push({ faultIndex: f.index, container: name, policy, budgetMs });
        continue;
      }
      const up = after.slice(downIdx).find((r) => (r.running[name]?.length ?? 0) > 0);
      const deadline = f.startedAt + budgetMs;
      if (!up && last < deadline) continue;
      const downMs = up ? up.at - f.startedAt : undefined;
      outcomes.push({ faultIndex: f.index, container: name, policy, budgetMs, ...(up ? { downMs } : {}) });
      if (!up || up.at > deadline)
        violations.push({
          invariant: 'restore-deadline',
          faultIndex: f.index,
          at: f.startedAt,
          container: name,
          message: up
            ? `${name} (${policy}) ran again ${downMs} ms after ${f.kind} of ${f.target}, budget ${budgetMs} ms`
            : `${name} (${policy}) did not run again after ${f.kind} of ${f.target} (budget ${budgetMs} ms, watched ${last - f.startedAt} ms)`,
        });
    }
  }
  return { violations, outcomes };
}

/** A checkpoint as the managers reported it (`checkpoint.done`). */
export interface CheckpointRecord {
  container: string;
  version: number;
  /** When the tick started: every write acknowledged before it is in the dump. */
  startedAt: number;
  /** When it was stored (the event's time). */
  doneAt: number;
}

export interface AckedWrite {
  key: string;
  at: number;
}

/**
 * (c) The writes a restore must keep: those acknowledged before the start of
 * the newest checkpoint stored by `refAt` (the instant the client lost the
 * container). Writes after it may be lost by design (thesis Algorithm 2).
 */
export function requiredWrites(
  acked: readonly AckedWrite[],
  checkpoints: readonly CheckpointRecord[],
  refAt: number,
): { checkpoint?: CheckpointRecord; required: AckedWrite[] } {
  let newest: CheckpointRecord | undefined;
  for (const c of checkpoints) if (c.doneAt <= refAt && (!newest || c.doneAt > newest.doneAt)) newest = c;
  if (!newest) return { required: [] };
  const cp = newest;
  return { checkpoint: cp, required: acked.filter((w) => w.at < cp.startedAt) };
}

/** What a writer found when it reached its container again after losing it. */
export interface WriteCheck {
  container: string;
  /** When the write that failed was sent. */
  refAt: number;
  /** When the container answered again and the keys were read. */
  checkedAt: number;
  checkpointVersion?: number;
  required: number;
  missing: number;
  /** Acked writes after the checkpoint that are gone: lost by design. */
  lostByDesign: number;
  /** A few of the missing keys, for the report. */
  missingSample: string[];
}

export function checkAckedWrites(checks: readonly WriteCheck[], faults: readonly FaultRecord[]): Violation[] {
  return checks
    .filter((c) => c.missing > 0)
    .map((c) => ({
      invariant: 'acked-writes' as const,
      faultIndex: faultAt(faults, c.refAt),
      at: c.refAt,
      container: c.container,
      message:
        `${c.container}: ${c.missing} of ${c.required} writes acknowledged before checkpoint ` +
        `v${c.checkpointVersion} started are missing after the restore (e.g. ${c.missingSample.join(', ')})`,
    }));
}

/** One Docker API call of the steady load. */
export interface ApiCall {
  at: number;
  op: string;
  ms: number;
  ok: boolean;
  /** A fault was active (or the cluster not settled yet after one) when the call started. */
  duringFault: boolean;
  error?: string;
}

export interface LatencySummary {
  calls: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

export { percentile };

export function latencySummary(calls: readonly ApiCall[]): LatencySummary {
  const ms = calls.map((c) => c.ms).sort((a, b) => a - b);
  return {
    calls: calls.length,
    errors: calls.filter((c) => !c.ok).length,
    p50: percentile(ms, 0.5),
    p99: percentile(ms, 0.99),
    max: ms.length ? ms[ms.length - 1]! : NaN,
  };
}

/**
 * (d) Every call crossing a host has a deadline (DESIGN.md): a Docker API
 * call that takes longer than `boundMs` hung somewhere. Failed calls are
 * counted and reported, not violations: a fault may legitimately refuse one.
 */
export function checkApiLatency(
  calls: readonly ApiCall[],
  faults: readonly FaultRecord[],
  boundMs: number,
): Violation[] {
  return calls
    .filter((c) => c.ms > boundMs)
    .map((c) => ({
      invariant: 'api-latency' as const,
      faultIndex: faultAt(faults, c.at),
      at: c.at,
      message: `docker ${c.op} took ${c.ms} ms (bound ${boundMs} ms)${c.ok ? '' : `: ${c.error ?? 'failed'}`}`,
    }));
}
