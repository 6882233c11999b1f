import { REDIS_IMAGE } from '../images/test-images.ts';
import type { DrainProgress } from '../manager/records.ts';
import type { MigrationResult } from '../manager/migrate.ts';
import { LifeboatError } from '../util/errors.ts';
import type { Bench, BenchOptions } from './bench.ts';
import { waitReportedEmpty, withBenchCluster, type BenchCluster } from './bench-cluster.ts';
import { DowntimeProbe } from './downtime-probe.ts';
import { populate } from './redis-fill.ts';
import { summarize, type BenchOutcome, type Sample } from './results.ts';

/**
 * Issue 20: `lifeboat node drain` of a host with N Redis containers (each
 * filled with S MB) under client load, against the baseline an operator has
 * without it: the same N containers moved back one `lifeboat migrate` at a
 * time. Reports the drain's total time, its ratio to the N sequential moves,
 * and each container's downtime as a client sees it (median, max) in both.
 */
const PORT_BASE = 6600;

async function probeAll(c: BenchCluster, ports: number[]): Promise<DowntimeProbe[]> {
  const hosts = c.up.hosts.map((h) => h.address);
  return Promise.all(ports.map((p) => DowntimeProbe.start(hosts, p, { periodMs: 20, replyTimeoutMs: 200 })));
}

async function stopAll(probes: DowntimeProbe[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of probes) {
    await p.waitReply(Date.now(), 20_000);
    out.push((await p.stop()).downtimeMs);
  }
  return out;
}

export const drainBench: Bench = {
  name: 'drain',
  description:
    'lifeboat node drain of a host with N Redis containers under client load vs N sequential migrations: total time, per-container downtime (issue 20)',
  async run(o: BenchOptions): Promise<BenchOutcome> {
    const counts = o.quick ? [1, 2] : [1, 5, 20];
    const sizeMb = o.sizesMb?.[0] ?? (o.quick ? 5 : 50);
    const samples: Sample[] = [];
    const rows: string[][] = [];
    const notes: string[] = [];
    const derived: Record<string, number> = {};
    await withBenchCluster('dir', o.log, async (c) => {
      const [a, b] = c.up.hosts.map((h) => h.name) as [string, string];
      for (const n of counts) {
        const names = Array.from({ length: n }, (_, i) => `drain-${n}-${i}`);
        const ports = names.map((_, i) => PORT_BASE + i);
        o.log(`N=${n}: ${n} Redis of ${sizeMb} MB on ${a}`);
        for (let i = 0; i < n; i++) {
          await c.docker.run({
            name: names[i]!,
            image: REDIS_IMAGE,
            node: a,
            port: 6379,
            hostPort: ports[i]!,
          });
          await populate(c.up.hosts[0]!.address, ports[i]!, sizeMb);
        }
        // the drain, every client probing its Redis throughout
        let probes = await probeAll(c, ports);
        const t0 = Date.now();
        const last = await c.api.request<{ result?: DrainProgress; error?: { message: string } }>(
          'POST',
          `/lifeboat/v1/nodes/${a}/drain`,
          undefined,
          () => undefined,
        );
        const drainMs = Date.now() - t0;
        const drainDown = await stopAll(probes);
        if (!last.result || last.result.moved.length !== n)
          throw new LifeboatError(
            'bench_drain',
            `drain of ${a} moved ${last.result?.moved.length ?? 0} of ${n}: ${last.error?.message ?? JSON.stringify(last.result?.failed)}`,
          );
        const parallel = last.result.parallel;
        await c.api.request('POST', `/lifeboat/v1/nodes/${a}/activate`);
        await waitReportedEmpty(c, a);
        // the baseline: the same containers back, one migration after the other
        probes = await probeAll(c, ports);
        const t1 = Date.now();
        for (const name of names) {
          const r = await c.api.request<{ result?: MigrationResult; error?: { message: string } }>(
            'POST',
            `/lifeboat/v1/containers/${name}/migrate`,
            { env: [], labels: {}, to: a },
            () => undefined,
          );
          if (!r.result)
            throw new LifeboatError('bench_drain', `migrate ${name}: ${r.error?.message ?? 'no result'}`);
        }
        const seqMs = Date.now() - t1;
        const seqDown = await stopAll(probes);
        const none = { median: NaN, max: NaN };
        const d = summarize(drainDown) ?? none;
        const s = summarize(seqDown) ?? none;
        samples.push({
          group: `N=${n}`,
          run: 1,
          metrics: {
            drainMs,
            sequentialMs: seqMs,
            ratio: drainMs / seqMs,
            drainDowntimeMedianMs: d.median,
            drainDowntimeMaxMs: d.max,
            singleDowntimeMedianMs: s.median,
            singleDowntimeMaxMs: s.max,
          },
          info: { parallel, sizeMb },
        });
        rows.push([
          `N=${n}`,
          String(parallel),
          String(drainMs),
          String(seqMs),
          (drainMs / seqMs).toFixed(2),
          `${Math.round(d.median)} / ${Math.round(d.max)}`,
          `${Math.round(s.median)} / ${Math.round(s.max)}`,
          (d.max / s.median).toFixed(2),
        ]);
        derived[`ratio_N${n}`] = drainMs / seqMs;
        derived[`maxDowntimeOverSingleMedian_N${n}`] = d.max / s.median;
        o.log(
          `N=${n}: drain ${drainMs} ms (${parallel} at a time) vs ${seqMs} ms sequential (x${(drainMs / seqMs).toFixed(2)}); downtime median/max ${Math.round(d.median)}/${Math.round(d.max)} ms vs single moves ${Math.round(s.median)}/${Math.round(s.max)} ms`,
        );
        for (const name of names) await c.docker.remove(name);
        await waitReportedEmpty(c, a);
        await waitReportedEmpty(c, b);
      }
    });
    notes.push(
      `each Redis holds ${sizeMb} MB (DEBUG POPULATE); every client pings its Redis every 20 ms on both hosts' published ports; downtime = the longest gap between replies`,
      'the baseline moves the same containers back one `lifeboat migrate` after the other (the drained host activated again)',
      'goal (issue 20): a 20-container drain takes <= 0.5x the time of 20 sequential moves, no container down longer than 2x its single-move downtime',
      'a simulated cluster on one 2-core machine: the source dump, the transfer and the restores share the same two cores',
    );
    return {
      params: { quick: o.quick, counts, sizeMb },
      samples,
      table: {
        columns: [
          'variant',
          'parallel',
          'drain ms',
          'N sequential moves ms',
          'ratio',
          'drain downtime median / max ms',
          'single move downtime median / max ms',
          'drain max / single median',
        ],
        rows,
      },
      plot: {
        title: 'Drain vs N sequential live migrations',
        unit: 'ms',
        bars: samples.flatMap((s) => [
          { label: `${s.group} drain`, segments: [{ name: 'drain', value: s.metrics['drainMs']! }] },
          {
            label: `${s.group} sequential`,
            segments: [{ name: 'sequential', value: s.metrics['sequentialMs']! }],
          },
        ]),
      },
      derived,
      notes,
    };
  },
};
