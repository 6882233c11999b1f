import { collectLogs } from '../engine/demux-stream.ts';
import { PodmanClient } from '../engine/podman-client.ts';
import { BUSYBOX_IMAGE } from '../images/test-images.ts';
import { LABEL_INTERVAL } from '../policy/labels.ts';
import { LifeboatError, ValidationError, errorMessage } from '../util/errors.ts';
import type { Bench, BenchOptions } from './bench.ts';
import {
  clusterEvents,
  parseIntervals,
  parseStorages,
  preDumpSupport,
  waitFor,
  withBenchCluster,
  type BenchCluster,
  type BenchStorage,
} from './bench-cluster.ts';
import { medianOf, summarizeSamples, summaryCell, type BenchOutcome, type Sample } from './results.ts';
import type { StackedBar } from './svg-plot.ts';

/**
 * Thesis Table 4.3: how much longer a CPU-bound job takes while its
 * container is checkpointed periodically. A busybox shell loop does a fixed
 * amount of arithmetic, timed from inside the container (/proc/uptime before
 * and after the loop), once without a ticker and once per interval
 * (`lifeboat.checkpoint.interval`), in each run; the slowdown compares each
 * ticker run with the no-checkpoint run of the same round.
 */
const DEFAULT_INTERVALS_SEC = [5, 10, 30];
const QUICK_INTERVALS_SEC = [2];
// The job runs at least this many times the largest interval, so that even
// the longest ticker fires twice (its first tick comes one interval after
// the container's creation).
const INTERVAL_FACTOR = 2.5;
// ... and never shorter than this
const MIN_TARGET_SEC = 20;
const QUICK_MIN_TARGET_SEC = 5;
// The job is sized from short runs of the same loop in a container on the
// bench cluster (the image's busybox, the cluster's cgroups), not on the
// host: the host's busybox ran the loop at about half the containers' rate.
const CALIBRATION_ITERATIONS = 1_000_000;
const CALIBRATION_RUNS = 3;
// On a shared machine the in-container rate varies: a calibration of 310k
// iterations/s was followed by jobs at up to 540k/s as the load dropped
// (2026-11-25 16:26), so jobs meant as 75 s ran 43 s. The job is sized for
// LOAD_HEADROOM x the target at the calibrated rate, so that it still runs
// about the target on a quieter machine.
const LOAD_HEADROOM = 1.5;
const QUICK_CALIBRATION_ITERATIONS = 300_000;
const QUICK_CALIBRATION_RUNS = 1;
const MARK = 'lifeboat-job';

/** The job: a fixed number of loop iterations with arithmetic, timed from inside by /proc/uptime. */
export function jobScript(iterations: number): string {
  if (!Number.isSafeInteger(iterations) || iterations < 1)
    throw new ValidationError(`job iterations ${iterations}: give a whole number >= 1`);
  return (
    'read t0 rest < /proc/uptime; i=0; s=0; ' +
    `while [ $i -lt ${iterations} ]; do i=$((i+1)); s=$(((s*31+i)%1000003)); done; ` +
    `read t1 rest < /proc/uptime; echo "${MARK} iterations=$i sum=$s start=$t0 end=$t1"`
  );
}

/** Parses the job's last line: its iterations and its run time in seconds (10 ms resolution). */
export function parseJobOutput(text: string): { iterations: number; runSec: number } {
  const m = new RegExp(`${MARK} iterations=(\\d+) sum=\\d+ start=([\\d.]+) end=([\\d.]+)`).exec(text);
  if (!m)
    throw new LifeboatError(
      'bench_job_output',
      `the job printed no result line: ${JSON.stringify(text.slice(-200))}`,
    );
  const start = Number(m[2]);
  const end = Number(m[3]);
  return { iterations: Number(m[1]), runSec: Math.round((end - start) * 100) / 100 };
}

/** The job's intended run time: INTERVAL_FACTOR x the largest interval, at least `minSec`. */
export function targetSecFor(intervalsSec: readonly number[], minSec: number): number {
  return Math.max(minSec, Math.ceil(INTERVAL_FACTOR * Math.max(0, ...intervalsSec)));
}

/**
 * The calibration run to size from: the fastest (most iterations per second).
 * On a shared machine the slower ones measure the neighbours, and a job
 * sized from the fastest rate only comes out longer, never shorter, when
 * the machine is busier during the measured runs.
 */
export function fastestRun(runs: readonly { iterations: number; runSec: number }[]): {
  iterations: number;
  runSec: number;
} {
  if (runs.length === 0) throw new ValidationError('calibration: no runs');
  const rate = (r: { iterations: number; runSec: number }): number => r.iterations / Math.max(r.runSec, 0.01);
  return runs.reduce((best, r) => (rate(r) > rate(best) ? r : best));
}

/** Iterations for a job of about `targetSec`, from a calibration run. */
export function iterationsFor(
  targetSec: number,
  calibration: { iterations: number; runSec: number },
): number {
  const rate = calibration.iterations / Math.max(calibration.runSec, 0.01);
  return Math.max(1000, Math.round((rate * targetSec) / 1000) * 1000);
}

/** Slowdown of `runSec` against the baseline run time, in percent (positive: slower). */
export function slowdownPct(runSec: number, baselineSec: number): number {
  if (!(baselineSec > 0) || !Number.isFinite(runSec)) return NaN;
  return (runSec / baselineSec - 1) * 100;
}

/** Share of the run time the job spent frozen by CRIU, in percent: the part of the overhead load cannot blur. */
export function frozenPct(frozenMs: number, runSec: number): number {
  return runSec > 0 ? frozenMs / 10 / runSec : NaN;
}

/** The variants of one round: no ticker first, then one per interval. */
export function roundVariants(intervalsSec: readonly number[]): (number | undefined)[] {
  return [undefined, ...intervalsSec];
}

const groupName = (intervalSec: number | undefined, storage: BenchStorage): string =>
  intervalSec === undefined ? `no checkpoints ${storage}` : `every ${intervalSec}s ${storage}`;

interface JobResult {
  runSec: number;
  checkpoints: number;
  failedCheckpoints: number;
  skippedCheckpoints: number;
  frozenMs: number;
  checkpointMs: number;
  archiveMB: number;
}

/** One job in a fresh container on `node`, with a ticker every `intervalSec` (or none). */
async function runJob(
  c: BenchCluster,
  node: string,
  name: string,
  intervalSec: number | undefined,
  iterations: number,
): Promise<JobResult> {
  const labels: Record<string, string> =
    intervalSec === undefined ? {} : { [LABEL_INTERVAL]: `${intervalSec}s` };
  await c.docker.run({ name, image: BUSYBOX_IMAGE, node, labels, cmd: ['sh', '-c', jobScript(iterations)] });
  try {
    const pod = new PodmanClient(c.local.host(node).podmanSocket);
    const code = await pod.wait(name);
    const out = await collectLogs(await pod.logs(name));
    if (code !== 0) throw new LifeboatError('bench_job_failed', `job ${name} exited with ${code}: ${out}`);
    const job = parseJobOutput(out);
    if (job.iterations !== iterations)
      throw new LifeboatError('bench_job_output', `job ${name} ran ${job.iterations} of ${iterations}`);
    const evs = await clusterEvents(c, name);
    const done = evs.filter((e) => e.type === 'checkpoint.done');
    const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
    return {
      runSec: job.runSec,
      checkpoints: done.length,
      failedCheckpoints: evs.filter((e) => e.type === 'checkpoint.failed').length,
      skippedCheckpoints: evs.filter(
        (e) => e.type === 'checkpoint.skipped' && e.fields?.['reason'] === 'slow',
      ).length,
      frozenMs: done.reduce((a, e) => a + num(e.fields?.['frozenTimeUs']), 0) / 1000,
      checkpointMs: done.reduce((a, e) => a + num(e.fields?.['durationMs']), 0),
      archiveMB: done.reduce((a, e) => a + num(e.fields?.['bytes']), 0) / 1e6,
    };
  } finally {
    await c.docker.remove(name);
  }
}

interface Calibration {
  /** Every calibration run, in order. */
  runs: { iterations: number; runSec: number }[];
  /** The fastest of them, which sizes the job. */
  fastest: { iterations: number; runSec: number };
  targetSec: number;
  /** The job's size on this cluster. */
  iterations: number;
}

/**
 * Sizes the job on the bench cluster itself: a few short runs of the same
 * loop, without a ticker, in containers on the job's host, timed from inside
 * like the measured jobs; the fastest rate is scaled to `targetSec`.
 */
async function calibrate(
  c: BenchCluster,
  node: string,
  targetSec: number,
  quick: boolean,
  log: (l: string) => void,
): Promise<Calibration> {
  const n = quick ? QUICK_CALIBRATION_RUNS : CALIBRATION_RUNS;
  const calIterations = quick ? QUICK_CALIBRATION_ITERATIONS : CALIBRATION_ITERATIONS;
  const runs: { iterations: number; runSec: number }[] = [];
  for (let i = 1; i <= n; i++) {
    const r = await runJob(c, node, `bench-cal-${i}`, undefined, calIterations);
    runs.push({ iterations: calIterations, runSec: r.runSec });
  }
  const fastest = fastestRun(runs);
  const headroom = quick ? 1 : LOAD_HEADROOM;
  const iterations = iterationsFor(targetSec * headroom, fastest);
  log(
    `calibration in a container on ${node}: ${calIterations} iterations in ` +
      `${runs.map((r) => r.runSec.toFixed(2)).join(', ')} s; the job runs ${iterations} ` +
      `(~${Math.round(targetSec * headroom)} s at that rate, for at least ~${targetSec} s)`,
  );
  return { runs, fastest, targetSec, iterations };
}

/** The first checkpoint of a fresh Podman service is slow: pay it once, unmeasured. */
async function warmUp(c: BenchCluster, node: string, log: (l: string) => void): Promise<void> {
  log('warm-up: one ticker checkpoint of a sleeping busybox (not measured)');
  const name = 'bench-warm';
  await c.docker.run({
    name,
    image: BUSYBOX_IMAGE,
    node,
    labels: { [LABEL_INTERVAL]: '1s' },
    cmd: ['sleep', '3600'],
  });
  try {
    await waitFor('a warm-up checkpoint', 60_000, async () =>
      (await clusterEvents(c, name)).find((e) => e.type === 'checkpoint.done'),
    );
  } catch (err) {
    log(`warm-up checkpoint did not happen (ignored): ${errorMessage(err)}`);
  } finally {
    await c.docker.remove(name);
  }
}

async function benchOneCluster(
  c: BenchCluster,
  intervals: number[],
  runs: number,
  targetSec: number,
  o: BenchOptions,
  samples: Sample[],
  notes: string[],
): Promise<Calibration> {
  const node = c.up.hosts[0]!.name;
  if (!o.quick) await warmUp(c, node, o.log);
  const cal = await calibrate(c, node, targetSec, o.quick, o.log);
  const iterations = cal.iterations;
  const pd = await preDumpSupport(c);
  if (!pd.canPreDump && !notes.some((n) => n.startsWith('pre-dump')))
    notes.push(`pre-dump skipped at every group start (${pd.why}): every checkpoint is a full dump`);
  let seq = 0;
  for (let run = 1; run <= runs; run++) {
    let baseline: number | undefined;
    for (const intervalSec of roundVariants(intervals)) {
      const g = groupName(intervalSec, c.storage);
      const r = await runJob(c, node, `bench-job-${++seq}`, intervalSec, iterations);
      if (intervalSec === undefined) baseline = r.runSec;
      const slow = intervalSec === undefined ? 0 : slowdownPct(r.runSec, baseline ?? NaN);
      samples.push({
        group: g,
        run,
        metrics: {
          runSec: r.runSec,
          slowdownPct: slow,
          checkpoints: r.checkpoints,
          frozenMs: r.frozenMs,
          frozenPct: frozenPct(r.frozenMs, r.runSec),
          checkpointMs: r.checkpointMs,
          archiveMB: r.archiveMB,
          failedCheckpoints: r.failedCheckpoints,
          skippedCheckpoints: r.skippedCheckpoints,
        },
        info: { node, iterations, storage: c.storage, intervalSec: intervalSec ?? 0 },
      });
      o.log(
        `  ${g} run ${run}: ${r.runSec.toFixed(2)} s` +
          (intervalSec === undefined
            ? ''
            : `, ${slow.toFixed(1)} % vs no checkpoints, ${r.checkpoints} checkpoint(s), frozen ${r.frozenMs.toFixed(0)} ms`),
      );
    }
  }
  return cal;
}

export const tickerOverheadBench: Bench = {
  name: 'ticker-overhead',
  description:
    'run time of a CPU-bound job without and with periodic checkpoints (thesis Table 4.3); --intervals 5,10,30',
  async run(o: BenchOptions): Promise<BenchOutcome> {
    const runs = o.quick ? 1 : (o.runs ?? 3);
    const intervals = parseIntervals(
      o.quick ? QUICK_INTERVALS_SEC : (o.intervalsSec ?? DEFAULT_INTERVALS_SEC),
    );
    const storages = parseStorages(o.storage ?? ['dir']);
    const targetSec = targetSecFor(intervals, o.quick ? QUICK_MIN_TARGET_SEC : MIN_TARGET_SEC);
    const samples: Sample[] = [];
    const notes: string[] = [];
    const calibration: Record<string, Calibration> = {};
    for (const storage of storages)
      calibration[storage] = await withBenchCluster(storage, o.log, (c) =>
        benchOneCluster(c, intervals, runs, targetSec, o, samples, notes),
      );
    const summary = summarizeSamples(samples);
    const groups = [...new Set(samples.map((s) => s.group))];
    const cell = summaryCell(summary);
    const table = {
      columns: [
        'variant',
        'run time s',
        'slowdown %',
        'checkpoints per job',
        'frozen ms per job',
        'frozen % of run time',
        'checkpoint ms per job',
      ],
      rows: groups.map((g) => [
        g,
        cell(g, 'runSec', 2),
        g.startsWith('no checkpoints') ? '(baseline)' : cell(g, 'slowdownPct', 1),
        cell(g, 'checkpoints'),
        cell(g, 'frozenMs'),
        cell(g, 'frozenPct', 1),
        cell(g, 'checkpointMs'),
      ]),
    };
    const derived: Record<string, number> = {};
    for (const g of groups) {
      if (g.startsWith('no checkpoints')) continue;
      const v = medianOf(summary, g, 'slowdownPct');
      if (v !== undefined) derived[`slowdown % ${g}`] = v;
      const f = medianOf(summary, g, 'frozenPct');
      if (f !== undefined) derived[`frozen % of run time ${g}`] = f;
    }
    const bars: StackedBar[] = groups.map((g) => {
      const run = medianOf(summary, g, 'runSec') ?? 0;
      const frozen = (medianOf(summary, g, 'frozenMs') ?? 0) / 1000;
      return {
        label: g,
        segments: [
          { name: 'running', value: Math.max(0, run - frozen) },
          { name: 'frozen by CRIU', value: frozen },
        ],
      };
    });
    notes.push(
      `job size = calibrated on each bench cluster: ${o.quick ? QUICK_CALIBRATION_RUNS : CALIBRATION_RUNS} short run(s) of the same loop in a container on the job's host, without a ticker; the fastest rate scaled to ${o.quick ? 1 : LOAD_HEADROOM} x ${targetSec} s (${targetSec} s = ${INTERVAL_FACTOR} x the largest interval, at least ${o.quick ? QUICK_MIN_TARGET_SEC : MIN_TARGET_SEC} s; the factor ${o.quick ? 1 : LOAD_HEADROOM} leaves room for a machine quieter than during calibration); a busier machine makes the jobs longer`,
      'run time = the job itself, measured inside the container (/proc/uptime before and after the loop, 10 ms resolution); container start and exit are not included',
      'slowdown % = run time / run time of the no-checkpoint job of the same round and storage - 1; rounds run the variants one after another (no checkpoints first)',
      'checkpoints per job = checkpoint.done events of the job container; the ticker starts at container creation, so an interval longer than the job yields none',
      "frozen ms = sum of CRIU frozen time over the job's checkpoints; the rest of a checkpoint (Podman export, encryption, store write) runs beside the job and competes for the CPU",
      "frozen % of run time = frozen ms / run time: the part of the slowdown that does not depend on the machine's load (the job cannot run at all meanwhile); on a shared machine it is the steadier figure",
      'a simulated cluster on one machine: the job, CRIU, Podman, the agent and the manager share its cores',
    );
    if (samples.some((s) => (s.metrics['failedCheckpoints'] ?? 0) > 0))
      notes.push(
        'failed checkpoints are counted per job (failedCheckpoints in the JSON): a tick that reaches the container as it exits fails',
      );
    return {
      params: {
        runs,
        intervalsSec: intervals,
        storage: storages,
        quick: o.quick,
        targetSec,
        iterations: Object.fromEntries(Object.entries(calibration).map(([k, v]) => [k, v.iterations])),
        calibration,
      },
      samples,
      table,
      plot: {
        title: 'CPU-bound job under periodic checkpoints, median run time (thesis Table 4.3)',
        unit: 'run time (s)',
        bars,
      },
      derived,
      notes,
    };
  },
};
