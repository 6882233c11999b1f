import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { copyClusterLogs } from '../devcluster/cluster-logs.ts';
import { BUSYBOX_IMAGE, REDIS_IMAGE } from '../images/test-images.ts';
import { LABEL_INTERVAL, LABEL_RESCHEDULE } from '../policy/labels.ts';
import { errorMessage } from '../util/errors.ts';
import type { Bench, BenchOptions } from './bench.ts';
import {
  benchInterrupted,
  benchNodes,
  withBenchCluster,
  type BenchCluster,
  type BenchClusterSpec,
  type DockerEndpoint,
} from './bench-cluster.ts';
import {
  FaultInjector,
  SLOW_DISK_BPS,
  SLOW_DISK_IOPS,
  unsupportedFaults,
  type Undo,
} from './chaos-faults.ts';
import {
  checkAckedWrites,
  checkApiLatency,
  checkRestores,
  checkSingleCopy,
  latencySummary,
  type FaultRecord,
  type RestorePolicy,
  type Violation,
} from './chaos-invariants.ts';
import { API_TIMEOUT_MS, ChaosRecorder, sleep, withTimeout } from './chaos-recorder.ts';
import {
  FAULT_KINDS,
  HOLD_MS,
  isHostFault,
  planChaos,
  plannedFaults,
  prng,
  type ChaosStep,
  type PlannedFault,
} from './chaos-schedule.ts';
import { ChaosWriter } from './chaos-writer.ts';
import { fileStamp, type BenchOutcome, type Sample } from './results.ts';

/**
 * `lifeboat bench chaos`: its own cluster of 3 (quick) or 5 hosts and two
 * managers on etcd, a mix of containers (checkpointed Redis under
 * continuous acknowledged writes, Swarm `reschedule:on-node-failure`, plain),
 * a steady Docker API load, and faults drawn from a seeded PRNG one or two
 * at a time. Invariants: one copy of every container at any time, restores
 * within their budget, no acknowledged write older than the newest
 * checkpoint at the fault lost, Docker API calls answered within a bound.
 */
export const CHAOS_SPEC: BenchClusterSpec = {
  root: '/var/tmp/lifeboat-chaos',
  tmpfsRoot: '/dev/shm/lifeboat-chaos',
  cluster: { bridge: 'lbchaos0', subnet: '10.89.0.0/24', namePrefix: 'c' },
  managerPort: 7430,
  dockerPort: 23710,
  etcdBasePort: 23720,
};

/** `lifeboat up`'s default failure detection. */
export const CHAOS_FAILURE_TIMEOUT_MS = 5_000;
const CHECKPOINT_INTERVAL = '2s';
/** Invariant (b)'s slack on top of failure timeout + restore time: polls, heartbeats, a shared 2-core machine. */
export const RESTORE_SLACK_MS = 15_000;
/** Invariant (b)'s extra time when a manager or etcd fault overlaps: a leader lease (3 s) and a full failure timeout again. */
export const CONTROL_PLANE_MS = 10_000;
/** Invariant (d): a Docker API call taking longer than this hung somewhere. */
export const API_BOUND_MS = 15_000;
/** Waiting for the cluster to settle after a step before calling it a violation. */
const SETTLE_TIMEOUT_MS = 90_000;
/** Steps in a row after which the cluster did not settle before the run gives up. */
const MAX_UNSETTLED = 3;
const QUICK_FAULTS = 24;
const FULL_FAULTS = 200;
const REDIS_PORT_BASE = 6700;

interface Workload {
  name: string;
  policy: RestorePolicy;
  image: string;
  port?: number;
  node: string;
}

function workloadPlan(hosts: readonly string[], quick: boolean): Workload[] {
  const per = quick ? 2 : 3;
  const out: Workload[] = [];
  const on = (i: number): string => hosts[i % hosts.length]!;
  for (let i = 0; i < per; i++)
    out.push({
      name: `chaos-cp-${i + 1}`,
      policy: 'checkpoint',
      image: REDIS_IMAGE,
      port: REDIS_PORT_BASE + i,
      node: on(i),
    });
  // Redis, whose image's own command keeps running: the Docker endpoint records only part of a
  // create request (no Cmd), so a busybox started anew by the rescheduler would run plain `sh` and exit
  for (let i = 0; i < per; i++)
    out.push({ name: `chaos-sw-${i + 1}`, policy: 'on-node-failure', image: REDIS_IMAGE, node: on(i + 1) });
  for (let i = 0; i < per; i++)
    out.push({ name: `chaos-plain-${i + 1}`, policy: 'none', image: BUSYBOX_IMAGE, node: on(i + 2) });
  return out;
}

const TICKER = ['sh', '-c', 'while true; do echo tick; sleep 1; done'];

/** The first manager replica that takes the connection (one may be down: a fault). */
async function onAnyManager<T>(c: BenchCluster, fn: (d: DockerEndpoint) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const d of c.dockers) {
    try {
      return await fn(d);
    } catch (err) {
      last = err;
      if (!/ECONNREFUSED|ECONNRESET|socket hang up/.test(errorMessage(err))) throw err;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

async function runWorkload(c: BenchCluster, w: Workload): Promise<void> {
  await onAnyManager(c, (d) =>
    d.run({
      name: w.name,
      image: w.image,
      node: w.node,
      ...(w.port ? { port: 6379, hostPort: w.port } : {}),
      labels:
        w.policy === 'checkpoint'
          ? { [LABEL_RESCHEDULE]: 'checkpoint', [LABEL_INTERVAL]: CHECKPOINT_INTERVAL }
          : {},
      env: w.policy === 'on-node-failure' ? ['reschedule:on-node-failure'] : [],
      ...(w.image === BUSYBOX_IMAGE ? { cmd: TICKER } : {}),
    }),
  );
}

interface Run {
  c: BenchCluster;
  o: BenchOptions;
  seed: number;
  quick: boolean;
  workloads: Workload[];
  policies: Map<string, RestorePolicy>;
  faults: FaultRecord[];
  active: Set<number>;
  violations: Violation[];
  settleMs: number[];
  recorder: ChaosRecorder;
  injector: FaultInjector;
  stoppedEarly: boolean;
  /** From a step's first fault until the cluster settled after it. */
  inStep: boolean;
  /** For choices the plan does not make (where a lost plain container starts again). */
  rnd: () => number;
}

/** Every host healthy in the managers' view and every restore-policy container running exactly once. */
async function settled(r: Run): Promise<string | undefined> {
  const nodes = await withTimeout(benchNodesAny(r.c), 5_000, 'nodes').catch(() => undefined);
  if (!nodes) return 'no manager answers GET /nodes';
  const sick = r.c.up.hosts.filter((h) => nodes.find((n) => n.name === h.name)?.status !== 'healthy');
  if (sick.length > 0) return `hosts not healthy: ${sick.map((h) => h.name).join(', ')}`;
  const round = await r.recorder.nextRound();
  const wrong = r.workloads.filter((w) => w.policy !== 'none' && (round.running[w.name]?.length ?? 0) !== 1);
  if (wrong.length > 0)
    return `not running exactly once: ${wrong.map((w) => `${w.name} (${round.running[w.name]?.join('+') || 'nowhere'})`).join(', ')}`;
  return undefined;
}

/** GET /nodes from whichever manager answers. */
async function benchNodesAny(c: BenchCluster): ReturnType<typeof benchNodes> {
  let last: unknown;
  for (const api of c.apis) {
    try {
      return await withTimeout(benchNodes({ ...c, api }), 4_000, 'nodes');
    } catch (err) {
      last = err;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

async function waitSettled(r: Run, afterFault: number): Promise<void> {
  const t0 = Date.now();
  let why: string | undefined = 'not checked';
  while (Date.now() - t0 < SETTLE_TIMEOUT_MS) {
    why = await settled(r).catch((err: unknown) => errorMessage(err));
    if (!why) break;
    await sleep(500);
  }
  r.settleMs.push(Date.now() - t0);
  if (why) {
    const v: Violation = {
      invariant: 'settle',
      faultIndex: afterFault,
      at: Date.now(),
      message: `the cluster did not settle within ${SETTLE_TIMEOUT_MS / 1000} s after fault ${afterFault}: ${why}`,
    };
    r.violations.push(v);
    r.o.log(`  VIOLATION (settle) ${v.message}`);
  }
  await replaceLostPlain(r);
}

/** Plain containers have no policy: one lost with its host is started again, under a new name, on a healthy host. */
async function replaceLostPlain(r: Run): Promise<void> {
  const round = r.recorder.latest;
  if (!round) return;
  for (const w of r.workloads) {
    if (w.policy !== 'none' || (round.running[w.name]?.length ?? 0) > 0) continue;
    const hosts = r.c.up.hosts.map((h) => h.name);
    const base = w.name.replace(/-g\d+$/, '');
    const gen = Number(/-g(\d+)$/.exec(w.name)?.[1] ?? '1') + 1;
    const next: Workload = {
      ...w,
      name: `${base}-g${gen}`,
      node: hosts[Math.floor(r.rnd() * hosts.length)]!,
    };
    await withTimeout(
      onAnyManager(r.c, (d) => d.remove(w.name)),
      10_000,
      'rm',
    ).catch(() => undefined);
    try {
      await runWorkload(r.c, next);
      r.workloads.splice(r.workloads.indexOf(w), 1, next);
      r.policies.set(next.name, 'none');
      r.o.log(`  ${w.name} was lost with its host (no policy): started ${next.name} on ${next.node}`);
    } catch (err) {
      r.o.log(`  could not start ${next.name}: ${errorMessage(err)}`);
    }
  }
}

/** Injects one fault, holds it, undoes it; records when it started and ended. */
async function oneFault(r: Run, f: PlannedFault): Promise<void> {
  const rec: FaultRecord = {
    index: f.index,
    kind: f.kind,
    target: f.target,
    startedAt: Date.now(),
    endedAt: 0,
  };
  r.faults.push(rec);
  r.active.add(f.index);
  r.o.log(`fault ${f.index}: ${f.kind} ${f.target} for ${(f.holdMs / 1000).toFixed(1)} s`);
  let undo: Undo | undefined;
  try {
    undo = await r.injector.inject(f);
    await sleep(Math.max(0, f.holdMs - (Date.now() - rec.startedAt)));
  } catch (err) {
    r.o.log(`  fault ${f.index} could not be injected: ${errorMessage(err)}`);
  } finally {
    try {
      // once interrupted, nothing is booted again: the cluster is on its way down
      if (!benchInterrupted()) await undo?.();
    } catch (err) {
      r.o.log(`  fault ${f.index}: undo failed (${errorMessage(err)}), trying a reboot`);
      if (isHostFault(f.kind) && !benchInterrupted())
        await r.c.local
          .host(f.target)
          .reboot()
          .catch(() => undefined);
    }
    rec.endedAt = Date.now();
    r.active.delete(f.index);
  }
}

async function oneStep(r: Run, step: ChaosStep): Promise<void> {
  r.inStep = true;
  const [first, second] = step.faults;
  const running = [oneFault(r, first!)];
  if (second) {
    await sleep(step.delayMs);
    running.push(oneFault(r, second));
  }
  await Promise.all(running);
  await waitSettled(r, step.faults[step.faults.length - 1]!.index);
  r.inStep = false;
  // a breath between steps: tickers catch up, the next fault has a fresh checkpoint to restore from
  await sleep(1_000 + Math.floor(r.rnd() * 2_000));
}

function replayCommand(r: Run, faultIndex: number | null): string {
  // +2: the fault and the one that may overlap it
  const n = faultIndex === null ? 1 : faultIndex + 2;
  return `lifeboat bench chaos${r.quick ? ' --quick' : ''} --seed ${r.seed} --faults ${n}`;
}

async function chaosOnCluster(
  c: BenchCluster,
  o: BenchOptions,
  seed: number,
  faultCount: number,
): Promise<BenchOutcome> {
  const quick = o.quick;
  const hosts = c.up.hosts.map((h) => h.name);
  const roles = c.local.recorded?.processes.map((p) => p.role) ?? [];
  const skipped = unsupportedFaults(c.local.root);
  const kinds = FAULT_KINDS.filter((k) => !skipped.has(k));
  const steps = planChaos({
    seed,
    faults: faultCount,
    hosts,
    managers: roles.filter((x) => x.startsWith('manager-')),
    etcdMembers: roles.filter((x) => x.startsWith('etcd-')),
    kinds,
  });
  const workloads = workloadPlan(hosts, quick);
  const policies = new Map(workloads.map((w) => [w.name, w.policy]));
  const active = new Set<number>();
  const recorder = new ChaosRecorder(
    c.local,
    c.dockers,
    c.apis,
    () => r.workloads.map((w) => w.name),
    // a call counts as "during faults" from a step's first fault until the cluster settled again
    () => active.size > 0 || r.inStep,
  );
  const r: Run = {
    c,
    o,
    seed,
    quick,
    workloads,
    policies,
    faults: [],
    active,
    violations: [],
    settleMs: [],
    stoppedEarly: false,
    inStep: false,
    recorder,
    injector: new FaultInjector(c.local, o.log),
    rnd: prng(seed ^ 0x5eed),
  };
  for (const [k, why] of skipped) o.log(`fault kind ${k} skipped: ${why}`);
  o.log(`seed ${seed}: ${plannedFaults(steps).length} faults in ${steps.length} steps`);

  for (const w of workloads) await runWorkload(c, w);
  o.log(`workload: ${workloads.map((w) => `${w.name}@${w.node}`).join(', ')}`);
  recorder.start();
  const writers: ChaosWriter[] = [];
  const t0 = Date.now();
  try {
    // every checkpointed Redis has a first checkpoint before the first fault
    const cpNames = workloads.filter((w) => w.policy === 'checkpoint').map((w) => w.name);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && cpNames.some((n) => recorder.checkpointsOf(n).length === 0))
      await sleep(500);
    for (const w of workloads.filter((x) => x.policy === 'checkpoint'))
      writers.push(
        new ChaosWriter(
          w.name,
          w.port!,
          () => {
            const h = recorder.latest?.running[w.name]?.[0];
            return h ? c.up.hosts.find((x) => x.name === h)?.address : undefined;
          },
          async () => {
            await recorder.fetchEvents();
            return recorder.checkpointsOf(w.name);
          },
          o.log,
        ),
      );
    await sleep(3_000);
    let unsettled = 0;
    for (const step of steps) {
      if (benchInterrupted()) break;
      const before = r.violations.length;
      await oneStep(r, step);
      // a cluster that no longer recovers only piles up 90 s waits: what broke it is reported
      unsettled = r.violations.length > before ? unsettled + 1 : 0;
      if (unsettled >= MAX_UNSETTLED) {
        o.log(`the cluster did not settle after ${MAX_UNSETTLED} steps in a row: stopping the run`);
        r.stoppedEarly = true;
        break;
      }
    }
  } finally {
    await Promise.all(writers.map((w) => w.stop()));
    await recorder.stop();
  }
  const durationMs = Date.now() - t0;

  // the checks over everything recorded
  const single = checkSingleCopy(recorder.rounds, r.faults);
  const restores = checkRestores(recorder.rounds, r.faults, r.policies, {
    failureTimeoutMs: CHAOS_FAILURE_TIMEOUT_MS,
    slackMs: RESTORE_SLACK_MS,
    controlPlaneMs: CONTROL_PLANE_MS,
    restoreMs: (name, after) => recorder.restoreMs(name, after),
  });
  const checks = writers.flatMap((w) => w.checks);
  const writesViolations = checkAckedWrites(checks, r.faults);
  const apiViolations = checkApiLatency(recorder.calls, r.faults, API_BOUND_MS);
  const violations = [
    ...single,
    ...restores.violations,
    ...writesViolations,
    ...apiViolations,
    ...r.violations,
  ].sort((a, b) => a.at - b.at);
  const during = latencySummary(recorder.calls.filter((x) => x.duringFault));
  const calm = latencySummary(recorder.calls.filter((x) => !x.duringFault));
  const all = latencySummary(recorder.calls);
  const restoreCounts = recorder.restoreCounts();
  const logsKept = violations.length > 0 && o.resultsDir ? keepLogs(c, o.resultsDir) : undefined;

  // one sample per fault: what it did to the restore-policy containers
  const samples: Sample[] = r.faults.map((f) => {
    const outs = restores.outcomes.filter((x) => x.faultIndex === f.index);
    const downs = outs.map((x) => x.downMs).filter((x): x is number => x !== undefined);
    const calls = recorder.calls.filter((x) => x.at >= f.startedAt && x.at <= f.endedAt);
    return {
      group: f.kind,
      run: f.index,
      metrics: {
        holdMs: f.endedAt - f.startedAt,
        containersHit: outs.length,
        containersDown: downs.length,
        maxDownMs: downs.length ? Math.max(...downs) : NaN,
        apiP99Ms: latencySummary(calls).p99,
        violations: violations.filter((v) => v.faultIndex === f.index).length,
      },
      info: { target: f.target },
    };
  });
  const kindsSeen = [...new Set(r.faults.map((f) => f.kind))];
  const fmt = (v: number): string => (Number.isFinite(v) ? String(Math.round(v)) : '–');
  const table = {
    columns: [
      'variant',
      'faults',
      'restore-policy containers hit',
      'of them stopped',
      'longest until running again ms',
      'Docker API p99 ms while active',
      'violations',
    ],
    rows: kindsSeen.map((k) => {
      const ss = samples.filter((s) => s.group === k);
      const sum = (m: string): number =>
        ss.reduce((a, s) => a + (Number.isFinite(s.metrics[m]) ? s.metrics[m]! : 0), 0);
      const maxOf = (m: string): number =>
        Math.max(-Infinity, ...ss.map((s) => s.metrics[m]!).filter(Number.isFinite));
      return [
        k,
        String(ss.length),
        String(sum('containersHit')),
        String(sum('containersDown')),
        fmt(maxOf('maxDownMs')),
        fmt(maxOf('apiP99Ms')),
        String(sum('violations')),
      ];
    }),
  };
  for (const k of skipped.keys()) table.rows.push([k, '0 (skipped)', '–', '–', '–', '–', '–']);
  const writeTotals = {
    acked: writers.reduce((a, w) => a + w.ackedTotal, 0),
    checks: checks.length,
    lostByDesign: checks.reduce((a, x) => a + x.lostByDesign, 0),
  };
  const notes: string[] = [
    `seed ${seed}; replay the whole run with \`${replayCommand(r, plannedFaults(steps).length - 2)}\``,
    `${violations.length} violation(s)` +
      (violations.length
        ? ': ' +
          violations
            .map(
              (v) =>
                `[${v.invariant}] fault ${v.faultIndex ?? '-'}${v.faultIndex !== null && r.faults[v.faultIndex] ? ` (${r.faults[v.faultIndex]!.kind} ${r.faults[v.faultIndex]!.target})` : ''}: ${v.message}; replay: \`${replayCommand(r, v.faultIndex)}\``,
            )
            .join(' | ')
        : ''),
    ...(r.stoppedEarly
      ? [
          `the run stopped after fault ${r.faults.length - 1}: the cluster did not settle ${MAX_UNSETTLED} steps in a row`,
        ]
      : []),
    ...(logsKept ? [`the cluster's logs (managers, etcd, agents) are kept in ${logsKept}`] : []),
    ...[...skipped].map(([k, why]) => `fault ${k} skipped: ${why}`),
    `cluster: ${hosts.length} hosts, 2 managers on a 3-member etcd, failure timeout ${CHAOS_FAILURE_TIMEOUT_MS} ms; workload: ${workloads.length} containers (Redis with ${LABEL_RESCHEDULE}=checkpoint and ${LABEL_INTERVAL}=${CHECKPOINT_INTERVAL} under continuous acknowledged writes, busybox with reschedule:on-node-failure, busybox without a policy)`,
    "(a) single copy: every running host's Podman is asked every 500 ms (a container counts as running only if its PID is alive in its own cgroup); a container on the same two hosts in two consecutive rounds is a violation. A host whose Podman did not answer within 4 s gives no evidence that round" +
      (recorder.pollMisses.size
        ? ` (missed polls: ${[...recorder.pollMisses].map(([h, n]) => `${h} ${n}`).join(', ')})`
        : ''),
    `(b) restores: after a host fault, each restore-policy container that ran there and stopped must run again (anywhere) within failure timeout ${CHAOS_FAILURE_TIMEOUT_MS} ms + its restore time (restore.start → restore.done/fresh) + slack ${RESTORE_SLACK_MS} ms (+ ${CONTROL_PLANE_MS} ms when a manager or etcd fault overlaps) of the fault's start`,
    `(c) acknowledged writes: ${writeTotals.acked} writes acknowledged (one SET every ${40} ms per Redis); after every break the writer checks that each write acknowledged before the start of the newest checkpoint stored by then survived (${writeTotals.checks} checks; ${writeTotals.lostByDesign} writes after a checkpoint lost by design)`,
    `(d) Docker API: ps / inspect / logs in a loop through the managers' Docker endpoints (the next replica when one refuses the connection), each call timed and given up after ${API_TIMEOUT_MS / 1000} s; bound ${API_BOUND_MS} ms; ${all.errors} of ${all.calls} calls failed (${during.errors} during faults); "during faults" = from a step's first fault until the cluster settled again`,
    `fault durations (ms): ${Object.entries(HOLD_MS)
      .map(([k, [lo, hi]]) => `${k} ${lo}-${hi}`)
      .join(
        ', ',
      )}; at most two faults at a time, at least 2 hosts untouched, never both managers or two etcd members; the cluster must settle (hosts healthy, every restore-policy container running exactly once) within ${SETTLE_TIMEOUT_MS / 1000} s after each step`,
    `slow disk: cgroup v1 blkio throttling at ${SLOW_DISK_BPS / 1_048_576} MiB/s and ${SLOW_DISK_IOPS} IOPS each way on every blkio cgroup of the host (v1 throttling is not hierarchical here; buffered writes escape it, fsync'd writes and reads do not); agent kill: restarted after the hold as an init system would`,
    'a simulated cluster on one 2-core machine shared with other work: timings are noisy',
  ];
  return {
    params: {
      quick,
      seed,
      faults: faultCount,
      hosts: hosts.length,
      failureTimeoutMs: CHAOS_FAILURE_TIMEOUT_MS,
    },
    samples,
    table,
    plot: {
      title: 'Chaos: longest time until a restore-policy container ran again, per fault kind',
      unit: 'time (ms)',
      bars: kindsSeen.map((k) => ({
        label: k,
        segments: [
          {
            name: 'until running again',
            value: Math.max(
              0,
              ...samples
                .filter((s) => s.group === k)
                .map((s) => s.metrics['maxDownMs']!)
                .filter(Number.isFinite),
            ),
          },
        ],
      })),
    },
    derived: {
      'faults injected': r.faults.length,
      violations: violations.length,
      'restores from a checkpoint': restoreCounts.fromCheckpoint,
      'restores fresh (no state)': restoreCounts.fresh,
      'acknowledged writes': writeTotals.acked,
      'Docker API calls': all.calls,
      'Docker API errors': all.errors,
      'Docker API p50 ms during faults': during.p50,
      'Docker API p99 ms during faults': during.p99,
      'Docker API max ms during faults': during.max,
      'Docker API p50 ms without faults': calm.p50,
      'Docker API p99 ms without faults': calm.p99,
      'Docker API max ms without faults': calm.max,
      'duration s': durationMs / 1000,
      'median settle s': median(r.settleMs) / 1000,
    },
    notes,
    details: {
      seed,
      plan: steps,
      faults: r.faults,
      violations: violations.map((v) => ({ ...v, replay: replayCommand(r, v.faultIndex) })),
      skipped: Object.fromEntries(skipped),
      writeChecks: checks,
      // where each container ran, every time that changed (the polls themselves, compressed)
      placements: recorder.rounds.filter(
        (x, i, all) =>
          i === 0 ||
          JSON.stringify([x.running, x.unknown]) !==
            JSON.stringify([all[i - 1]!.running, all[i - 1]!.unknown]),
      ),
      apiErrors: recorder.calls.filter((x) => !x.ok).slice(0, 50),
    },
    verdict: {
      ok: violations.length === 0,
      summary: `chaos: ${r.faults.length} faults, ${violations.length} violation(s), seed ${seed}`,
    },
  };
}

/** The managers', etcd's and agents' logs go with the cluster at the end: a failed run keeps a copy for the post-mortem. */
function keepLogs(c: BenchCluster, resultsDir: string): string | undefined {
  const dest = join(resultsDir, `chaos-${fileStamp(new Date())}-logs`);
  try {
    return copyClusterLogs(c.local.root, dest) ? dest : undefined;
  } catch {
    return undefined;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

export const chaosBench: Bench = {
  name: 'chaos',
  description:
    'random faults (power loss, partition, reboot, agent/manager/etcd kill, slow disk) from a seeded PRNG against checked invariants',
  async run(o: BenchOptions): Promise<BenchOutcome> {
    const seed = o.seed ?? randomInt(1, 2 ** 31 - 1);
    const faults = o.faults ?? (o.quick ? QUICK_FAULTS : FULL_FAULTS);
    return withBenchCluster('dir', o.log, (c) => chaosOnCluster(c, o, seed, faults), {
      nodes: o.quick ? 3 : 5,
      store: 'etcd',
      managers: 2,
      spec: CHAOS_SPEC,
      failureTimeoutMs: CHAOS_FAILURE_TIMEOUT_MS,
    });
  },
};
