import { REDIS_IMAGE } from '../images/test-images.ts';
import type { ClusterEvent } from '../manager/events.ts';
import { LABEL_INTERVAL, LABEL_RESCHEDULE } from '../policy/labels.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import type { Bench, BenchOptions } from './bench.ts';
import {
  clusterEvents,
  parseIntervals,
  parseStorages,
  preDumpSupport,
  sleep,
  waitAllHealthy,
  waitFor,
  waitReportedEmpty,
  withBenchCluster,
  type BenchCluster,
  type BenchStorage,
} from './bench-cluster.ts';
import { RedisClient } from './redis-client.ts';
import { countExisting, KeyWriter, populate, POPULATE_PREFIX } from './redis-fill.ts';
import { medianOf, summarizeSamples, summaryCell, type BenchOutcome, type Sample } from './results.ts';
import type { StackedBar } from './svg-plot.ts';

/**
 * Thesis Algorithm 2 (restore rescheduling): a Redis holding N MB, with a
 * client writing keys into it, loses its host (power loss: `lifeboat node
 * kill`). Measured: the time from the kill until the container answers PING
 * on the other host, split into failure detection, placement, restore and
 * the rest, and how many acknowledged writes (and populated keys) the
 * restored container lacks. Baseline in the same run: the same container
 * with Swarm's `reschedule:on-node-failure`, restarted elsewhere without
 * its state. The killed host is rebooted before the next run.
 */
const PORT_BASE = 6600;
const DEFAULT_INTERVAL_SEC = 5;
const QUICK_INTERVAL_SEC = 2;
/** Failure detection of the bench cluster for this bench: `lifeboat up`'s default. */
export const FAILOVER_FAILURE_TIMEOUT_MS = 5_000;
const SERVE_TIMEOUT_MS = 120_000;

export type FailoverPolicy = 'checkpoint' | 'swarm';

const POLICY_LABEL: Record<FailoverPolicy, string> = {
  checkpoint: 'lifeboat checkpoint',
  swarm: 'swarm on-node-failure',
};

const groupName = (p: FailoverPolicy, sizeMb: number, storage: BenchStorage): string =>
  `${POLICY_LABEL[p]} ${sizeMb}MB ${storage}`;

/** The phases from the kill to the first PING answer, from the manager's events (ms since the kill). */
export interface FailoverTimeline {
  detectMs: number;
  placeMs: number;
  restoreMs: number;
  serveMs: number;
  totalMs: number;
}

/**
 * Splits kill -> serving at the manager's events: `node.failed` (detection),
 * `restore.start` (placement), `restore.done` / `restore.fresh` (restore or
 * fresh start); what is left until the first PING answer is `serveMs`.
 * A missing event makes its phase NaN and leaves the time to the next one.
 */
export function failoverTimeline(
  events: readonly Pick<ClusterEvent, 'type' | 'time' | 'node' | 'container'>[],
  o: { killedAt: number; servedAt: number; host: string; container: string },
): FailoverTimeline {
  const at = (pred: (e: Pick<ClusterEvent, 'type' | 'node' | 'container'>) => boolean): number => {
    const e = events.find((x) => Date.parse(x.time) >= o.killedAt - 1000 && pred(x));
    return e ? Date.parse(e.time) : NaN;
  };
  const failed = at((e) => e.type === 'node.failed' && e.node === o.host);
  const start = at((e) => e.type === 'restore.start' && e.container === o.container);
  const end = at(
    (e) => (e.type === 'restore.done' || e.type === 'restore.fresh') && e.container === o.container,
  );
  const clamp = (v: number): number => (Number.isFinite(v) ? Math.max(0, v) : NaN);
  return {
    detectMs: clamp(failed - o.killedAt),
    placeMs: clamp(start - failed),
    restoreMs: clamp(end - start),
    serveMs: clamp(o.servedAt - end),
    totalMs: o.servedAt - o.killedAt,
  };
}

/** Polls PING on host:port every `periodMs` until a PONG; returns its time (epoch ms). */
async function waitServing(host: string, port: number, timeoutMs: number, periodMs = 20): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const c = await RedisClient.connect(host, port, 500);
      try {
        if ((await c.command(['PING'])) === 'PONG') return Date.now();
      } finally {
        c.close();
      }
    } catch {
      // not there yet
    }
    await sleep(periodMs);
  }
  throw new LifeboatError(
    'bench_not_served',
    `nothing answered PING at ${host}:${port} within ${timeoutMs} ms`,
  );
}

interface RunSetup {
  policy: FailoverPolicy;
  sizeMb: number;
  intervalSec: number;
  name: string;
  port: number;
  victim: string;
  survivor: { name: string; address: string };
}

async function oneFailover(
  c: BenchCluster,
  s: RunSetup,
  log: (l: string) => void,
): Promise<Sample['metrics']> {
  const victimAddr = c.up.hosts.find((h) => h.name === s.victim)!.address;
  const labels: Record<string, string> =
    s.policy === 'checkpoint'
      ? { [LABEL_RESCHEDULE]: 'checkpoint', [LABEL_INTERVAL]: `${s.intervalSec}s` }
      : {};
  const env = s.policy === 'swarm' ? ['reschedule:on-node-failure'] : [];
  await c.docker.run({
    name: s.name,
    image: REDIS_IMAGE,
    node: s.victim,
    port: 6379,
    hostPort: s.port,
    labels,
    env,
  });
  const rec = await c.api.request<{ name: string; restorePolicy?: string }[]>(
    'GET',
    '/lifeboat/v1/containers',
  );
  const policy = rec.find((r) => r.name === s.name)?.restorePolicy;
  const want = s.policy === 'checkpoint' ? 'checkpoint' : 'on-node-failure';
  if (policy !== want)
    throw new LifeboatError(
      'bench_policy',
      `${s.name} has restore policy ${String(policy)}, expected ${want}`,
    );
  const filled = await populate(victimAddr, s.port, s.sizeMb);
  const populatedAt = Date.now();
  if (s.policy === 'checkpoint') {
    // the populated data is in the store before the writes start
    await waitFor(`a checkpoint of ${s.name} after populating`, 120_000, async () =>
      (await clusterEvents(c, s.name)).find(
        (e) => e.type === 'checkpoint.done' && Date.parse(String(e.fields?.['startedAt'])) > populatedAt,
      ),
    );
  }
  const writer = await KeyWriter.start(victimAddr, s.port);
  const writeMs = Math.max(3000, 1.5 * s.intervalSec * 1000);
  const writeStart = Date.now();
  await sleep(writeMs);
  if (writer.error) throw new LifeboatError('bench_writer', `writer failed: ${errorMessage(writer.error)}`);
  // power loss; the writer's acknowledged keys are frozen at the kill
  const killedAt = Date.now();
  const killed = await c.local.host(s.victim).kill();
  const acked = writer.stop();
  const writeRate = acked.length / ((killedAt - writeStart) / 1000);
  log(
    `  killed ${s.victim} (${killed.killed} processes in ${killed.ms} ms) after ${acked.length} acknowledged writes`,
  );
  const servedAt = await waitServing(s.survivor.address, s.port, SERVE_TIMEOUT_MS);
  const d = await RedisClient.connect(s.survivor.address, s.port);
  let writesKept: number;
  let populatedKept: number;
  try {
    writesKept = await countExisting(d, acked);
    populatedKept = await countExisting(
      d,
      Array.from({ length: filled.keys }, (_, i) => `${POPULATE_PREFIX}:${i}`),
    );
  } finally {
    d.close();
  }
  const evs = await clusterEvents(c);
  const mine = evs.filter((e) => e.container === s.name);
  const t = failoverTimeline(evs, { killedAt, servedAt, host: s.victim, container: s.name });
  const done = mine.find((e) => e.type === 'restore.done' && Date.parse(e.time) >= killedAt);
  const restoredVersion = done?.fields?.['version'];
  const restoredFrom = mine.find(
    (e) =>
      e.type === 'checkpoint.done' &&
      restoredVersion !== undefined &&
      e.fields?.['version'] === restoredVersion,
  );
  const ageMs = restoredFrom ? killedAt - Date.parse(String(restoredFrom.fields?.['startedAt'])) : NaN;
  return {
    ...t,
    writesAcked: acked.length,
    writesLost: acked.length - writesKept,
    writesLostPct: acked.length > 0 ? ((acked.length - writesKept) / acked.length) * 100 : NaN,
    writeRate,
    populatedKeys: filled.keys,
    populatedKeptPct: (populatedKept / filled.keys) * 100,
    restoredFromCheckpoint: done ? 1 : 0,
    checkpointAgeMs: ageMs,
    usedMemoryMB: filled.usedBytes / 1e6,
  };
}

async function benchOneCluster(
  c: BenchCluster,
  sizes: number[],
  runs: number,
  intervalSec: number,
  o: BenchOptions,
  samples: Sample[],
  failures: string[],
  notes: string[],
): Promise<void> {
  const [victim, survivor] = c.up.hosts;
  const pd = await preDumpSupport(c);
  if (!pd.canPreDump && !notes.some((n) => n.startsWith('pre-dump')))
    notes.push(`pre-dump skipped (${pd.why}): every stored checkpoint is a full dump`);
  let seq = 0;
  for (let run = 1; run <= runs; run++) {
    for (const sizeMb of sizes) {
      for (const policy of ['checkpoint', 'swarm'] as const) {
        const g = groupName(policy, sizeMb, c.storage);
        const name = `bench-fo-${policy}-${sizeMb}-${++seq}`;
        try {
          await waitAllHealthy(c);
          const m = await oneFailover(
            c,
            {
              policy,
              sizeMb,
              intervalSec,
              name,
              port: PORT_BASE + seq,
              victim: victim!.name,
              survivor: survivor!,
            },
            o.log,
          );
          samples.push({
            group: g,
            run,
            metrics: m,
            info: { victim: victim!.name, survivor: survivor!.name, intervalSec, storage: c.storage },
          });
          o.log(
            `  ${g} run ${run}: serving after ${m['totalMs']} ms (detection ${m['detectMs']} ms, restore ${m['restoreMs']} ms), ` +
              `${m['writesLost']} of ${m['writesAcked']} acknowledged writes lost, ${m['populatedKeptPct']?.toFixed(0)} % of the populated keys kept`,
          );
        } catch (err) {
          const what = `${g} run ${run} failed: ${errorMessage(err).split('\n')[0]}`;
          failures.push(what);
          o.log(`  ${what}`);
        } finally {
          // the killed host comes back (power cycle); its stale copy goes, as the record is elsewhere
          const h = c.local.host(victim!.name);
          if (h.power !== 'running') {
            await h.reboot();
            await waitAllHealthy(c);
            await waitReportedEmpty(c, victim!.name).catch(async (err: unknown) => {
              o.log(`  ${victim!.name} still reports a stale copy, removed by hand: ${errorMessage(err)}`);
              await h.podman.removeContainerIfExists(name).catch(() => undefined);
            });
          }
          await c.docker.remove(name);
        }
      }
    }
  }
}

export const failoverBench: Bench = {
  name: 'failover',
  description:
    "host loss: time until a checkpointed Redis serves again elsewhere and writes lost, vs Swarm's restart without state (thesis Algorithm 2)",
  async run(o: BenchOptions): Promise<BenchOutcome> {
    const sizes = o.quick ? [5] : (o.sizesMb ?? [10, 100]);
    const runs = o.quick ? 1 : (o.runs ?? 3);
    const intervalSec = parseIntervals([
      o.quick ? QUICK_INTERVAL_SEC : (o.intervalsSec?.[0] ?? DEFAULT_INTERVAL_SEC),
    ])[0]!;
    const storages = parseStorages(o.storage ?? ['dir']);
    const samples: Sample[] = [];
    const failures: string[] = [];
    const notes: string[] = [];
    for (const storage of storages)
      await withBenchCluster(
        storage,
        o.log,
        (c) => benchOneCluster(c, sizes, runs, intervalSec, o, samples, failures, notes),
        { failureTimeoutMs: FAILOVER_FAILURE_TIMEOUT_MS },
      );
    const summary = summarizeSamples(samples);
    const groups = [...new Set(samples.map((s) => s.group))];
    const cell = summaryCell(summary);
    const table = {
      columns: [
        'variant',
        'kill → serving ms',
        'detection ms',
        'restore / start ms',
        'acked writes',
        'acked writes lost',
        'writes lost %',
        'populated keys kept %',
        'checkpoint age at kill ms',
      ],
      rows: groups.map((g) => [
        g,
        cell(g, 'totalMs'),
        cell(g, 'detectMs'),
        cell(g, 'restoreMs'),
        cell(g, 'writesAcked'),
        cell(g, 'writesLost'),
        cell(g, 'writesLostPct', 1),
        cell(g, 'populatedKeptPct', 1),
        cell(g, 'checkpointAgeMs'),
      ]),
    };
    const derived: Record<string, number> = {};
    for (const storage of storages)
      for (const sizeMb of sizes) {
        const lb = groupName('checkpoint', sizeMb, storage);
        const sw = groupName('swarm', sizeMb, storage);
        const a = medianOf(summary, lb, 'totalMs');
        const b = medianOf(summary, sw, 'totalMs');
        if (a !== undefined && b) derived[`serving time ratio ${lb} / ${sw}`] = a / b;
        const kept = medianOf(summary, lb, 'populatedKeptPct');
        if (kept !== undefined) derived[`populated keys kept %, ${lb}`] = kept;
      }
    const PHASES = [
      ['detectMs', 'failure detection'],
      ['placeMs', 'placement'],
      ['restoreMs', 'restore / fresh start'],
      ['serveMs', 'until PING answers'],
    ] as const;
    const bars: StackedBar[] = groups.map((g) => ({
      label: g,
      segments: PHASES.map(([k, name]) => ({ name, value: medianOf(summary, g, k) ?? 0 })),
    }));
    notes.push(
      `failure detection: the bench cluster's manager declares a host failed after ${FAILOVER_FAILURE_TIMEOUT_MS} ms without a heartbeat (lifeboat up's default); this dominates the time to serve`,
      "kill → serving = from the power loss (`lifeboat node kill`: the host's processes SIGKILLed at once) to the first PING answered on the other host (polled every 20 ms); detection, placement and restore are split at the manager's events node.failed, restore.start and restore.done / restore.fresh",
      `lifeboat checkpoint: labels ${LABEL_RESCHEDULE}=checkpoint and ${LABEL_INTERVAL}=${intervalSec}s; the client writes only after a checkpoint that holds the populated data, for max(3 s, 1.5 intervals), then the host is killed`,
      "swarm on-node-failure: `-e reschedule:on-node-failure`, no ticker; the container starts anew from its image on the other host, so every key is lost by design (Swarm's rescheduling)",
      'acked writes lost = keys the client saw acknowledged (SET one after another over one connection) that the restored container lacks: what was written after the restored checkpoint started; checkpoint age at kill = kill time - start of the restored checkpoint',
      'after each run the killed host is power-cycled (`lifeboat node reboot`) and rejoins before the next run',
      'a simulated cluster on one machine: both hosts share its CPU, memory and disk',
    );
    const fresh = samples.filter(
      (s) => s.group.startsWith(POLICY_LABEL.checkpoint) && s.metrics['restoredFromCheckpoint'] === 0,
    );
    if (fresh.length > 0)
      notes.push(
        `${fresh.length} lifeboat run(s) were not restored from a checkpoint but started fresh (every version failed to restore; see the manager's restore.attempt-failed events): their data loss is in the statistics`,
      );
    if (failures.length > 0)
      notes.push(`${failures.length} run(s) failed (not in the statistics): ${failures.join('; ')}`);
    return {
      params: {
        sizesMb: sizes,
        runs,
        intervalSec,
        storage: storages,
        quick: o.quick,
        failureTimeoutMs: FAILOVER_FAILURE_TIMEOUT_MS,
      },
      samples,
      table,
      plot: {
        title: 'Host loss: time until the container serves again, median per phase (thesis Algorithm 2)',
        unit: 'time (ms)',
        bars,
      },
      derived,
      notes,
    };
  },
};
