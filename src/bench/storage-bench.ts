import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultMaxGroups, initialTickerState, planTick, type TickerState } from '../checkpoint/retention.ts';
import type { CheckpointGroup } from '../checkpoint/store/index.ts';
import { REDIS_IMAGE } from '../images/test-images.ts';
import { DEFAULT_VERSION_GROUP, LABEL_INTERVAL, LABEL_VERSION_GROUP } from '../policy/labels.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import type { Bench, BenchOptions } from './bench.ts';
import {
  clusterEvents,
  parseIntervals,
  parseStorages,
  preDumpSupport,
  sleep,
  waitFor,
  withBenchCluster,
  type BenchCluster,
  type BenchStorage,
} from './bench-cluster.ts';
import { RedisClient } from './redis-client.ts';
import { populate } from './redis-fill.ts';
import { medianOf, summarizeSamples, summaryCell, type BenchOutcome, type Sample } from './results.ts';
import { summarize } from './stats.ts';
import type { StackedBar } from './svg-plot.ts';

/**
 * What the checkpoint store holds after N ticks of a mostly idle Redis: the
 * ticker's versioned archives with Algorithm 1's retention (VG versions per
 * group, at most three groups) against keeping all N archives. On kernels
 * without soft-dirty tracking every version is a full dump, so the saving
 * is retention's alone.
 */
const PORT_BASE = 6700;
const DEFAULT_TICKS = 30;
const QUICK_TICKS = 5;
const DEFAULT_INTERVAL_SEC = 2;
const QUICK_INTERVAL_SEC = 1;
// quick: one version per group, so a few ticks already show retention at work
const QUICK_VERSION_GROUP = 1;

/** Versions Algorithm 1 keeps after `ticks` successful checkpoints (planTick's retention, replayed). */
export function versionsKeptAfter(ticks: number, versionGroup: number, maxGroups = defaultMaxGroups): number {
  let state: TickerState = initialTickerState();
  const groups = new Map<number, number>();
  for (let i = 0; i < ticks; i++) {
    const plan = planTick(state, { versionGroup, maxGroups }, [...groups.keys()]);
    groups.set(plan.slot.group, (groups.get(plan.slot.group) ?? 0) + 1);
    for (const g of plan.deleteAfterDump) groups.delete(g);
    state = plan.next;
  }
  return [...groups.values()].reduce((a, n) => a + n, 0);
}

/** Bytes of the files under `dir` (recursively), leaving out the store's own dot-files (writes in progress). */
export async function bytesUnder(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = await bytesUnder(p);
      bytes += sub.bytes;
      files += sub.files;
    } else if (e.isFile()) {
      bytes += (await stat(p)).size;
      files++;
    }
  }
  return { bytes, files };
}

const groupName = (sizeMb: number, vg: number, storage: BenchStorage): string =>
  `redis ${sizeMb}MB VG${vg} ${storage}`;

/** A key every second: the Redis is not quite idle, so versions differ a little. */
function trickle(host: string, port: number): { stop: () => Promise<void> } {
  let stopped = false;
  const loop = (async (): Promise<void> => {
    const c = await RedisClient.waitReady(host, port);
    try {
      for (let i = 1; !stopped; i++) {
        await c.command(['SET', `idle:${i}`, String(Date.now())]);
        await sleep(1000);
      }
    } finally {
      c.close();
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop.catch(() => undefined);
    },
  };
}

async function oneStore(
  c: BenchCluster,
  name: string,
  port: number,
  sizeMb: number,
  ticks: number,
  intervalSec: number,
  versionGroup: number,
  log: (l: string) => void,
): Promise<Sample['metrics']> {
  const host = c.up.hosts[0]!;
  await c.docker.run({
    name,
    image: REDIS_IMAGE,
    node: host.name,
    port: 6379,
    hostPort: port,
    labels: { [LABEL_INTERVAL]: `${intervalSec}s`, [LABEL_VERSION_GROUP]: String(versionGroup) },
  });
  const filled = await populate(host.address, port, sizeMb);
  const writes = trickle(host.address, port);
  const doneEvents = async (): Promise<number> =>
    (await clusterEvents(c, name)).filter((e) => e.type === 'checkpoint.done').length;
  try {
    let last = 0;
    await waitFor(
      `${ticks} checkpoints of ${name}`,
      ticks * (intervalSec * 1000 + 30_000),
      async () => {
        const n = await doneEvents();
        if (n !== last) log(`  ${name}: ${n} of ${ticks} checkpoints`);
        last = n;
        return n >= ticks ? n : undefined;
      },
      250,
    );
  } finally {
    await writes.stop();
  }
  // a stopped container is not checkpointed: the ticker pauses, a dump in flight settles
  await c.docker.stop(name);
  let before = -1;
  for (let settled = 0; settled < 2;) {
    await sleep(intervalSec * 1000 + 1000);
    const n = (await clusterEvents(c, name)).filter((e) => /^checkpoint\.(done|failed)$/.test(e.type)).length;
    settled = n === before ? settled + 1 : 0;
    before = n;
  }
  const evs = (await clusterEvents(c, name)).filter((e) => e.type === 'checkpoint.done');
  const sizes = evs.map((e) => Number(e.fields?.['bytes'] ?? NaN));
  const listed = await c.api.request<CheckpointGroup[]>(
    'GET',
    `/lifeboat/v1/containers/${encodeURIComponent(name)}/checkpoints`,
  );
  const kept = listed.flatMap((g) => g.versions);
  const disk = await bytesUnder(join(c.local.checkpointDir, name));
  const allArchives = sizes.reduce((a, b) => a + b, 0);
  const oneArchive = summarize(sizes)?.median ?? NaN;
  if (kept.length === 0)
    throw new LifeboatError('bench_store_empty', `no checkpoint of ${name} in the store`);
  return {
    ticks: evs.length,
    versionsKept: kept.length,
    versionsExpected: versionsKeptAfter(evs.length, versionGroup),
    groupsKept: listed.filter((g) => g.versions.length > 0).length,
    oneArchiveMB: oneArchive / 1e6,
    allArchivesMB: allArchives / 1e6,
    nTimesOneMB: (evs.length * oneArchive) / 1e6,
    storeMB: disk.bytes / 1e6,
    keptArchivesMB: kept.reduce((a, v) => a + v.size, 0) / 1e6,
    storeFiles: disk.files,
    ratio: disk.bytes / allArchives,
    savedPct: (1 - disk.bytes / allArchives) * 100,
    usedMemoryMB: filled.usedBytes / 1e6,
    fullDumps: kept.filter((v) => v.kind === 'full').length,
  };
}

export const storageBench: Bench = {
  name: 'storage',
  description:
    'checkpoint store bytes after N ticks of a mostly idle Redis with retention vs N full archives (thesis Algorithm 1 retention)',
  async run(o: BenchOptions): Promise<BenchOutcome> {
    const sizes = o.quick ? [1] : (o.sizesMb ?? [10]);
    const ticks = o.quick ? QUICK_TICKS : (o.ticks ?? DEFAULT_TICKS);
    const intervalSec = parseIntervals([
      o.quick ? QUICK_INTERVAL_SEC : (o.intervalsSec?.[0] ?? DEFAULT_INTERVAL_SEC),
    ])[0]!;
    const versionGroup = o.quick ? QUICK_VERSION_GROUP : DEFAULT_VERSION_GROUP;
    const runs = o.quick ? 1 : (o.runs ?? 1);
    const storages = parseStorages(o.storage ?? ['dir']);
    const samples: Sample[] = [];
    const notes: string[] = [];
    const failures: string[] = [];
    for (const storage of storages)
      await withBenchCluster(storage, o.log, async (c) => {
        const pd = await preDumpSupport(c);
        if (!notes.some((n) => n.startsWith('no soft-dirty') || n.startsWith('soft-dirty')))
          notes.push(
            pd.canPreDump
              ? 'soft-dirty tracking available: tickers pre-dump at each group start, but stored versions are still full archives (incremental archives are not stored yet)'
              : `no soft-dirty tracking on this kernel (${pd.why}): no pre-dump, no incremental checkpoint; every stored version is a full dump, so the saving comes from retention only`,
          );
        let seq = 0;
        for (let run = 1; run <= runs; run++)
          for (const sizeMb of sizes) {
            const g = groupName(sizeMb, versionGroup, storage);
            const name = `bench-store-${sizeMb}-${++seq}`;
            try {
              const m = await oneStore(
                c,
                name,
                PORT_BASE + seq,
                sizeMb,
                ticks,
                intervalSec,
                versionGroup,
                o.log,
              );
              samples.push({ group: g, run, metrics: m, info: { storage, intervalSec, versionGroup } });
              o.log(
                `  ${g} run ${run}: ${m['ticks']} ticks, ${m['versionsKept']} versions kept, store ${m['storeMB']?.toFixed(1)} MB vs ${m['allArchivesMB']?.toFixed(1)} MB for all archives (${m['ratio']?.toFixed(2)})`,
              );
            } catch (err) {
              const what = `${g} run ${run} failed: ${errorMessage(err).split('\n')[0]}`;
              failures.push(what);
              o.log(`  ${what}`);
            } finally {
              await c.docker.remove(name);
            }
          }
      });
    const summary = summarizeSamples(samples);
    const groups = [...new Set(samples.map((s) => s.group))];
    const cell = summaryCell(summary);
    const table = {
      columns: [
        'variant',
        'ticks',
        'versions kept',
        'expected by Algorithm 1',
        'one archive MB',
        'all N archives MB',
        'store MB',
        'store / all archives',
      ],
      rows: groups.map((g) => [
        g,
        cell(g, 'ticks'),
        cell(g, 'versionsKept'),
        cell(g, 'versionsExpected'),
        cell(g, 'oneArchiveMB', 1),
        cell(g, 'allArchivesMB', 1),
        cell(g, 'storeMB', 1),
        cell(g, 'ratio', 2),
      ]),
    };
    const derived: Record<string, number> = {};
    for (const g of groups) {
      const r = medianOf(summary, g, 'ratio');
      if (r !== undefined) derived[`store / all archives, ${g}`] = r;
    }
    const bars: StackedBar[] = groups.flatMap((g) => [
      {
        label: `${g} all archives`,
        segments: [{ name: 'N full archives', value: medianOf(summary, g, 'allArchivesMB') ?? 0 }],
      },
      {
        label: `${g} store`,
        segments: [{ name: 'store with retention', value: medianOf(summary, g, 'storeMB') ?? 0 }],
      },
    ]);
    notes.push(
      `ticks = checkpoints the ticker completed (every ${intervalSec} s, version group ${versionGroup}, at most ${defaultMaxGroups} groups kept); the container is then stopped so the ticker pauses and the store is measured at rest`,
      'all N archives = the sum of the archive sizes of every completed checkpoint (what keeping every version would take); one archive = their median',
      "store = bytes of every file under the container's directory in the checkpoint store (encrypted archives + manifests), as stat reports them",
      `mostly idle: the Redis holds about ${sizes.join(', ')} MB (DEBUG POPULATE) and receives one SET per second`,
    );
    if (failures.length > 0)
      notes.push(`${failures.length} run(s) failed (not in the statistics): ${failures.join('; ')}`);
    return {
      params: { sizesMb: sizes, ticks, intervalSec, versionGroup, runs, storage: storages, quick: o.quick },
      samples,
      table,
      plot: { title: 'Checkpoint store after N ticks: retention vs all archives', unit: 'MB', bars },
      derived,
      notes,
    };
  },
};
