import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { validateArchive } from '../checkpoint/archive/index.ts';
import { PodmanClient } from '../engine/podman-client.ts';
import { BUSYBOX_IMAGE, REDIS_IMAGE } from '../images/test-images.ts';
import type { MigrationResult, MigrationStep } from '../manager/migrate.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import type { Bench, BenchOptions } from './bench.ts';
import {
  parseStorages,
  sleep,
  waitReportedEmpty,
  withBenchCluster,
  type BenchCluster,
  type BenchStorage,
} from './bench-cluster.ts';
import { DowntimeProbe } from './downtime-probe.ts';
import { copyAcrossLink } from './link-copy.ts';
import { agentPeakRss } from './agent-memory.ts';
import { RedisClient } from './redis-client.ts';
import { ConnectedClient } from './connected-client.ts';
import { CLUSTER_NETWORK } from '../network/cluster-network.ts';
import { populate, VALUE_BYTES } from './redis-fill.ts';
import { medianOf, summarizeSamples, summaryCell, type BenchOutcome, type Sample } from './results.ts';
import type { StackedBar } from './svg-plot.ts';

/**
 * Thesis Figure 4.1: a Redis holding N MB is migrated back and forth between
 * two hosts through the lifeboat API (archive streamed host to host, and
 * through the shared checkpoint store), per step and in total, with the
 * downtime a client sees. The baseline moves the same data with Podman
 * alone: checkpoint export to a file, file copy, restore import.
 */
// each fresh lifeboat container gets its own host port: a failed restore can leave a port holder behind
const LIFEBOAT_PORT_BASE = 6400;
const BASELINE_PORT_BASE = 6500;
const MAX_ATTEMPTS = 4;

/** The phases of Figure 4.1, in the order they happen; `other` is the rest of the total. */
const PHASES = [
  ['createMs', 'create container / prepare target'],
  ['preDumpMs', 'pre-dump'],
  ['checkpointMs', 'checkpoint'],
  ['transferMs', 'transfer'],
  ['restoreMs', 'restore'],
  ['removeMs', 'remove container'],
  ['deleteCheckpointMs', 'delete checkpoint'],
  ['otherMs', 'other (scheduling, records)'],
] as const;

interface Variant {
  /** connected: stream, on the cluster network, with a client holding one connection through the move. */
  kind: 'stream' | 'store' | 'podman' | 'connected';
  storage: BenchStorage;
  sizeMb: number;
}

const groupName = (v: Variant): string =>
  `${v.kind === 'podman' ? 'podman baseline' : v.kind === 'connected' ? 'lifeboat stream, connected client,' : `lifeboat ${v.kind}`} ${v.sizeMb}MB ${v.storage}`;

/** Data came along: the key count on the new host equals what was written. */
async function checkKeys(host: string, port: number, keys: number, what: string): Promise<void> {
  const c = await RedisClient.waitReady(host, port, 10_000);
  try {
    const n = await c.command(['DBSIZE']);
    if (n !== keys)
      throw new LifeboatError(
        'bench_data_lost',
        `${what}: ${String(n)} keys after the move, expected ${keys}`,
      );
  } finally {
    c.close();
  }
}

function other(hosts: string[], name: string): string {
  return hosts.find((h) => h !== name) ?? name;
}

/** No probe: a stand-in that answers at once, so both paths share one shape. */
async function startProbe(
  probed: boolean,
  hosts: string[],
  port: number,
): Promise<Pick<DowntimeProbe, 'waitReply' | 'stop'>> {
  if (probed) return DowntimeProbe.start(hosts, port);
  return { waitReply: async () => true, stop: async () => ({ downtimeMs: NaN, replies: 0 }) };
}

interface LifeboatMove {
  result: MigrationResult;
  wallMs: number;
  downtimeMs: number;
  /** Peak RSS of the two agents during the move, MB. */
  agentRssMB: number;
  /** Archive bytes the manager carried during the move (must be 0). */
  managerBytes: number;
}

/** Archive bytes the bench cluster's manager carried so far. */
async function managerRelayed(c: BenchCluster): Promise<number> {
  const r = await c.api.request<{ archiveBytesRelayed: number }>('GET', '/lifeboat/v1/data-plane');
  return r.archiveBytesRelayed;
}

/** One move through the lifeboat API, with its downtime. */
async function lifeboatMove(
  c: BenchCluster,
  container: string,
  to: string,
  via: 'stream' | 'store',
  port: number,
  probed: boolean,
  compression: 'none' | 'gzip' | 'auto',
): Promise<LifeboatMove> {
  await waitReportedEmpty(c, to);
  const probe = await startProbe(
    probed,
    c.up.hosts.map((h) => h.address),
    port,
  );
  const rss = agentPeakRss(c);
  const relayedBefore = await managerRelayed(c);
  const t0 = Date.now();
  let wallMs = 0;
  try {
    const last = await c.api.request<{ result?: MigrationResult; error?: { message: string } }>(
      'POST',
      `/lifeboat/v1/containers/${encodeURIComponent(container)}/migrate`,
      { env: [], labels: {}, via, to, compression },
      () => undefined,
    );
    wallMs = Date.now() - t0;
    if (!last.result)
      throw new LifeboatError('bench_migrate', `migration failed: ${last.error?.message ?? 'no result'}`);
    await probe.waitReply(Date.now(), 20_000);
    const { downtimeMs } = await probe.stop();
    return {
      result: last.result,
      wallMs,
      downtimeMs: probed ? downtimeMs : NaN,
      agentRssMB: rss.peakMB(),
      managerBytes: (await managerRelayed(c)) - relayedBefore,
    };
  } catch (err) {
    await probe.stop();
    throw err;
  }
}

function lifeboatSample(v: Variant, run: number, m: LifeboatMove): Sample {
  const { result: r } = m;
  const p = r.phases;
  const known =
    p.createMs +
    p.preDumpMs +
    p.checkpointMs +
    p.transferMs +
    p.restoreMs +
    p.removeMs +
    p.deleteCheckpointMs;
  const criuMs =
    ((r.criu.freezingTimeUs ?? 0) + (r.criu.frozenTimeUs ?? 0) + (r.criu.restoreTimeUs ?? 0)) / 1000;
  const preDump = r.steps.find((s: MigrationStep) => s.id === 'pre-dump');
  return {
    group: groupName(v),
    run,
    metrics: {
      ...p,
      otherMs: Math.max(0, r.totalMs - known),
      totalMs: r.totalMs,
      wallMs: m.wallMs,
      downtimeMs: m.downtimeMs,
      // not running anywhere: from the dump's start to the restore's end
      outageMs: r.steps
        .filter((x: MigrationStep) => x.id === 'checkpoint' || x.id === 'restore')
        .reduce((a, x) => a + x.ms, 0),
      criuMs,
      criuShare: criuMs / r.totalMs,
      frozenMs: (r.criu.frozenTimeUs ?? NaN) / 1000,
      memdumpMs: (r.criu.memdumpTimeUs ?? NaN) / 1000,
      criuRestoreMs: (r.criu.restoreTimeUs ?? NaN) / 1000,
      archiveMB: r.archiveBytes / 1e6,
      wireMB: r.wireBytes / 1e6,
      // the archive's own bytes per second of transfer: what compression gains shows here, not in wire MB
      transferMBps: r.archiveBytes / 1e6 / Math.max(p.transferMs / 1000, 0.001),
      agentRssMB: m.agentRssMB,
      managerBytes: m.managerBytes,
    },
    info: {
      from: r.from,
      to: r.to,
      via: r.via,
      mode: r.mode,
      compression: r.compression,
      preDump: preDump?.status === 'skipped' ? (preDump.detail ?? 'skipped') : (preDump?.status ?? 'unknown'),
    },
  };
}

/** One move with Podman alone, timed the same way: export to a file, copy, import, remove, delete. */
async function podmanMove(
  c: BenchCluster,
  container: string,
  from: string,
  to: string,
  v: Variant,
  run: number,
  port: number,
  probed: boolean,
): Promise<Sample> {
  const src = new PodmanClient(c.local.host(from).podmanSocket);
  const dst = new PodmanClient(c.local.host(to).podmanSocket);
  const srcFile = join(c.up.clusterRoot, 'hosts', from, 'bench', `${container}.tar`);
  const dstFile = join(c.up.clusterRoot, 'hosts', to, 'bench', `${container}.tar`);
  mkdirSync(join(c.up.clusterRoot, 'hosts', from, 'bench'), { recursive: true });
  mkdirSync(join(c.up.clusterRoot, 'hosts', to, 'bench'), { recursive: true });
  const probe = await startProbe(
    probed,
    c.up.hosts.map((h) => h.address),
    port,
  );
  try {
    const t0 = Date.now();
    await pipeline(
      await src.checkpointExport(container, { tcpEstablished: true }),
      createWriteStream(srcFile),
    );
    const t1 = Date.now();
    // as scp would between two machines: the bytes cross the hosts' links (shaped with --link)
    await copyAcrossLink(c.local.host(from).sandbox, c.local.host(to).sandbox, srcFile, dstFile);
    const t2 = Date.now();
    // as `podman container restore --import --tcp-established`: the address is kept when it is free
    // there (a connected client needs it); else, as an operator would retry, with a new one
    const restore = (ignore: boolean): ReturnType<PodmanClient['restoreImport']> =>
      dst.restoreImport(createReadStream(dstFile), {
        tcpEstablished: true,
        ignoreStaticIp: ignore,
        ignoreStaticMac: ignore,
        printStats: true,
        cleanupName: container,
      });
    const restored = await restore(false).catch(() => restore(true));
    const t3 = Date.now();
    await src.removeContainer(container, { force: true, volumes: true });
    const t4 = Date.now();
    const info = await validateArchive(createReadStream(dstFile));
    const t5 = Date.now();
    await rm(srcFile, { force: true });
    await rm(dstFile, { force: true });
    const t6 = Date.now();
    await probe.waitReply(Date.now(), 20_000);
    const { downtimeMs } = await probe.stop();
    const total = t4 - t0 + (t6 - t5);
    const s = info.dumpStats;
    const criuUs = (s?.freezingTimeUs ?? 0) + (s?.frozenTimeUs ?? 0) + (restored.stats.restoreTimeUs ?? 0);
    return {
      group: groupName(v),
      run,
      metrics: {
        createMs: 0,
        preDumpMs: 0,
        checkpointMs: t1 - t0,
        transferMs: t2 - t1,
        restoreMs: t3 - t2,
        removeMs: t4 - t3,
        deleteCheckpointMs: t6 - t5,
        otherMs: 0,
        totalMs: total,
        wallMs: total,
        downtimeMs: probed ? downtimeMs : NaN,
        outageMs: t3 - t0,
        criuMs: criuUs / 1000,
        criuShare: criuUs / 1000 / total,
        frozenMs: (s?.frozenTimeUs ?? NaN) / 1000,
        memdumpMs: (s?.memdumpTimeUs ?? NaN) / 1000,
        criuRestoreMs: (restored.stats.restoreTimeUs ?? NaN) / 1000,
        archiveMB: info.archiveBytes / 1e6,
        wireMB: info.archiveBytes / 1e6,
        transferMBps: info.archiveBytes / 1e6 / Math.max((t2 - t1) / 1000, 0.001),
      },
      info: {
        from,
        to,
        via: 'podman',
        preDump: 'not attempted (no soft-dirty tracking needed for a full dump)',
      },
    };
  } catch (err) {
    await probe.stop();
    await rm(srcFile, { force: true });
    await rm(dstFile, { force: true });
    throw err;
  }
}

/** The first checkpoint and restore after a Podman service starts are slow: pay that once, unmeasured. */
async function warmUp(c: BenchCluster, log: (l: string) => void): Promise<void> {
  const hosts = c.up.hosts.map((h) => h.name);
  log('warm-up: a busybox container migrated to the other host and back (not measured)');
  await c.docker.run({ name: 'bench-warm', image: BUSYBOX_IMAGE, node: hosts[0]!, cmd: ['sleep', '3600'] });
  try {
    for (const to of [hosts[1]!, hosts[0]!]) {
      if (
        !(await waitReportedEmpty(c, to).then(
          () => true,
          () => false,
        ))
      )
        break;
      const r = await c.api.request<{ error?: { message: string } }>(
        'POST',
        '/lifeboat/v1/containers/bench-warm/migrate',
        { env: [], labels: {}, via: 'stream', to },
        () => undefined,
      );
      // only the services' first checkpoint/restore matter here, not whether this move succeeded
      if (r.error) log(`warm-up move to ${to} failed (ignored): ${r.error.message.split('\n')[0]}`);
    }
  } finally {
    await c.docker.remove('bench-warm');
  }
}

async function benchOneCluster(
  c: BenchCluster,
  sizes: number[],
  runs: number,
  o: BenchOptions,
  samples: Sample[],
  failures: string[],
): Promise<void> {
  const hosts = c.up.hosts.map((h) => h.name);
  const address = (name: string): string => c.up.hosts.find((h) => h.name === name)!.address;
  if (o.link) {
    for (const h of hosts) await c.local.host(h).sandbox.shapeLink(o.link);
    o.log(`links shaped to ${o.link} each way (tc tbf on both ends of every host's veth)`);
  }
  if (!o.quick) await warmUp(c, o.log);
  for (const sizeMb of sizes) {
    // lifeboat: one container, moved back and forth
    let seq = 0;
    let name = '';
    let port = 0;
    let at = hosts[0]!;
    let filled = { keys: 0, usedBytes: 0 };
    const fresh = async (): Promise<void> => {
      if (name) await c.docker.remove(name);
      name = `bench-redis-${sizeMb}-${++seq}`;
      port = LIFEBOAT_PORT_BASE + seq;
      at = hosts[0]!;
      for (const h of hosts) await waitReportedEmpty(c, h);
      await c.docker.run({ name, image: REDIS_IMAGE, node: at, port: 6379, hostPort: port });
      filled = await populate(address(at), port, sizeMb);
    };
    try {
      await fresh();
      o.log(
        `${sizeMb} MB: redis on ${at} holds ${filled.keys} keys, used_memory ${(filled.usedBytes / 1e6).toFixed(1)} MB`,
      );
      for (const via of ['stream', 'store'] as const) {
        const v: Variant = { kind: via, storage: c.storage, sizeMb };
        for (let run = 1; run <= runs; run++) {
          for (let attempt = 1; ; attempt++) {
            try {
              // With a connected client the move can fail (see the notes): the retry runs unprobed.
              const probed = attempt === 1;
              const m = await lifeboatMove(
                c,
                name,
                other(hosts, at),
                via,
                port,
                probed,
                o.compression ?? 'none',
              );
              at = m.result.to;
              await checkKeys(address(at), port, filled.keys, groupName(v));
              const s = lifeboatSample(v, run, m);
              s.info = { ...s.info, usedMemoryBytes: filled.usedBytes, keys: filled.keys, attempt, probed };
              samples.push(s);
              o.log(
                `  ${groupName(v)} run ${run}: total ${m.result.totalMs} ms, downtime ${m.downtimeMs} ms (${m.result.from} -> ${m.result.to})`,
              );
              break;
            } catch (err) {
              // A failed move is recorded, never hidden; the run is retried on a fresh container.
              const what = `${groupName(v)} run ${run} attempt ${attempt} failed: ${errorMessage(err).split('\n')[0]}`;
              failures.push(what);
              o.log(`  ${what}`);
              if (attempt >= MAX_ATTEMPTS) throw err;
              await fresh();
            }
          }
        }
      }
    } finally {
      if (name) await c.docker.remove(name);
    }
    await connectedRuns(c, sizeMb, runs, o, samples, failures, `bench-conn-${sizeMb}-${++seq}`);
    // baseline: Podman alone, the same amount of data
    const pod = (h: string): PodmanClient => new PodmanClient(c.local.host(h).podmanSocket);
    let base = '';
    let basePort = 0;
    const freshBase = async (): Promise<void> => {
      for (const h of hosts)
        if (base)
          await pod(h)
            .removeContainerIfExists(base)
            .catch(() => undefined);
      base = `bench-base-${sizeMb}-${++seq}`;
      basePort = BASELINE_PORT_BASE + seq;
      at = hosts[0]!;
      await pod(at).createContainer({
        name: base,
        image: REDIS_IMAGE,
        cgroupParent: c.local.host(at).cgroupParent,
        portMappings: [{ containerPort: 6379, hostPort: basePort }],
      });
      await pod(at).startContainer(base);
      filled = await populate(address(at), basePort, sizeMb);
    };
    try {
      await freshBase();
      const v: Variant = { kind: 'podman', storage: c.storage, sizeMb };
      for (let run = 1; run <= runs; run++) {
        for (let attempt = 1; ; attempt++) {
          try {
            const probed = attempt === 1;
            const to = other(hosts, at);
            const s = await podmanMove(c, base, at, to, v, run, basePort, probed);
            at = to;
            await checkKeys(address(at), basePort, filled.keys, groupName(v));
            s.info = { ...s.info, usedMemoryBytes: filled.usedBytes, keys: filled.keys, attempt, probed };
            samples.push(s);
            o.log(
              `  ${groupName(v)} run ${run}: total ${s.metrics['totalMs']} ms, downtime ${s.metrics['downtimeMs']} ms (${String(s.info['from'])} -> ${to})`,
            );
            break;
          } catch (err) {
            const what = `${groupName(v)} run ${run} attempt ${attempt} failed: ${errorMessage(err).split('\n')[0]}`;
            failures.push(what);
            o.log(`  ${what}`);
            if (attempt >= MAX_ATTEMPTS) throw err;
            await freshBase();
          }
        }
      }
    } finally {
      for (const h of hosts)
        await pod(h)
          .removeContainerIfExists(base)
          .catch(() => undefined);
    }
    await sleep(200);
  }
}

/**
 * Issue 19's variant: the Redis on the cluster network (its address follows
 * it), moved back and forth while a client holding one TCP connection, with
 * no reconnect logic, sends INCR every 10 ms. Whether the connection
 * survived, the longest gap between answers, and the writes lost.
 */
async function connectedRuns(
  c: BenchCluster,
  sizeMb: number,
  runs: number,
  o: BenchOptions,
  samples: Sample[],
  failures: string[],
  name: string,
): Promise<void> {
  const hosts = c.up.hosts.map((h) => h.name);
  const v: Variant = { kind: 'connected', storage: c.storage, sizeMb };
  let at = hosts[0]!;
  for (const h of hosts) await waitReportedEmpty(c, h);
  await c.docker.run({ name, image: REDIS_IMAGE, node: at, network: CLUSTER_NETWORK });
  try {
    const ip = await c.docker.address(name, CLUSTER_NETWORK);
    const filled = await populate(ip, 6379, sizeMb);
    for (let run = 1; run <= runs; run++) {
      const client = await ConnectedClient.start(ip, 6379);
      await sleep(200);
      let moved: LifeboatMove | undefined;
      let failed: unknown;
      try {
        moved = await lifeboatMove(c, name, other(hosts, at), 'stream', 6379, false, o.compression ?? 'none');
      } catch (err) {
        failed = err;
      }
      await sleep(300);
      const kept = await client.stop();
      if (!moved) {
        const what = `${groupName(v)} run ${run} failed: ${errorMessage(failed).split('\n')[0]}`;
        failures.push(what);
        o.log(`  ${what}`);
        continue;
      }
      at = moved.result.to;
      const s = lifeboatSample(v, run, moved);
      const outage = s.metrics['outageMs'] ?? NaN;
      s.metrics = {
        ...s.metrics,
        downtimeMs: kept.longestGapMs,
        connectionSurvived: kept.survived ? 1 : 0,
        longestGapMs: kept.longestGapMs,
        requestsAnswered: kept.answered,
        writesLost: kept.lost,
        gapOverOutage: kept.longestGapMs / outage,
      };
      s.info = {
        ...s.info,
        keys: filled.keys,
        address: ip,
        ...(kept.error ? { connectionError: kept.error } : {}),
      };
      samples.push(s);
      o.log(
        `  ${groupName(v)} run ${run}: connection ${kept.survived ? 'survived' : `broke (${kept.error ?? '?'})`}, longest gap ${kept.longestGapMs} ms, outage ${Math.round(outage)} ms, ${kept.lost} writes lost (${moved.result.from} -> ${moved.result.to})`,
      );
    }
  } finally {
    await c.docker.remove(name);
  }
}

export const migrateBench: Bench = {
  name: 'migrate',
  description:
    'live migration of a filled Redis per step, downtime, and Podman by hand as baseline (thesis Figure 4.1)',
  async run(o: BenchOptions): Promise<BenchOutcome> {
    const sizes = o.quick ? [5] : (o.sizesMb ?? [10, 100, 500, 1000, 2000]);
    const runs = o.quick ? 1 : (o.runs ?? 3);
    const storages = parseStorages(o.storage ?? ['dir']);
    const samples: Sample[] = [];
    const notes: string[] = [];
    const failures: string[] = [];
    for (const storage of storages) {
      await withBenchCluster(storage, o.log, (c) => benchOneCluster(c, sizes, runs, o, samples, failures));
    }
    const preDump = samples.find((s) => s.info?.['via'] !== 'podman')?.info?.['preDump'];
    if (typeof preDump === 'string' && preDump.startsWith('skipped'))
      notes.push(
        `pre-dump ${preDump} (reported as 0 ms; the thesis' pre-dump bars cannot be measured on this kernel)`,
      );
    notes.push(
      'lifeboat store: the checkpoint store is written during the checkpoint step and deleted inside the restore step, so "delete checkpoint" is 0 and its time is in restore',
      'lifeboat stream: the source container and its kept checkpoint are removed together ("remove container"); "delete checkpoint" is 0',
      'outage = time the container runs nowhere, from the start of the dump to the end of the restore (lifeboat: the checkpoint and restore steps)',
      'CRIU share = (freezing + frozen + restore time, from CRIU statistics) / total; memdump happens inside the frozen time',
      'downtime = longest gap between PING replies of a client probing both hosts every 10 ms over a kept connection (reply timeout 100 ms); a retried run goes unprobed (downtime not measured), see failures',
      'connected client (issue 19): the Redis on the cluster network (its address follows it); one client connection without reconnect logic sends INCR every 10 ms through the move; its client downtime is the longest gap between answers; goal: the connection survives every run, longest gap within 10 % of the outage (dump start to restore end); Podman alone cannot keep it across hosts (the address changes)',
      'podman baseline: no host-path rewrite and no archive validation before restore (what an operator would type by hand); its restore keeps the address when free, else retries with a new one, as lifeboat does; "total" excludes reading CRIU statistics from the archive afterwards; its copy is a plain TCP stream between the two hosts\' network namespaces (as scp without encryption), over the same links',
      'lifeboat stream: the target agent fetches the archive from the source agent over mutual TLS; "transfer" is the target\'s receive phase (first byte to the last member unpacked and checked); transfer MB/s = archive MB over it (with gzip more than the link carries), wire MB = what crossed the link',
      'agent RSS peak: the larger VmHWM of the two agents during the move (reset before it); manager bytes: archive bytes the manager carried (GET /lifeboat/v1/data-plane), 0 when agents move the data',
      'a simulated cluster on one machine: both hosts share its CPU, memory and disk' +
        (o.link
          ? `; each host's link shaped to ${o.link} each way with tc tbf`
          : '; links unshaped (a local bridge)'),
    );
    if (failures.length > 0)
      notes.push(
        `${failures.length} move(s) failed and were retried on a fresh container, unprobed (not in the statistics): ${failures.join('; ')}`,
      );
    const summary = summarizeSamples(samples);
    const derived: Record<string, number> = {};
    const table = {
      columns: [
        'variant',
        'total ms',
        'checkpoint ms',
        'transfer ms',
        'restore ms',
        'remove ms',
        'outage ms',
        'client downtime ms',
        'CRIU share',
        'archive MB',
        'transfer MB/s',
        'wire MB',
        'agent RSS MB',
        'manager bytes',
      ],
      rows: [] as string[][],
    };
    const groups = [...new Set(samples.map((s) => s.group))];
    const cell = summaryCell(summary);
    for (const g of groups) {
      table.rows.push([
        g,
        cell(g, 'totalMs'),
        cell(g, 'checkpointMs'),
        cell(g, 'transferMs'),
        cell(g, 'restoreMs'),
        cell(g, 'removeMs'),
        cell(g, 'outageMs'),
        cell(g, 'downtimeMs'),
        cell(g, 'criuShare', 2),
        cell(g, 'archiveMB', 1),
        cell(g, 'transferMBps'),
        cell(g, 'wireMB', 1),
        cell(g, 'agentRssMB'),
        cell(g, 'managerBytes'),
      ]);
    }
    for (const storage of storages) {
      for (const sizeMb of sizes) {
        const base = medianOf(summary, groupName({ kind: 'podman', storage, sizeMb }), 'totalMs');
        for (const kind of ['stream', 'store'] as const) {
          const g = groupName({ kind, storage, sizeMb });
          const t = medianOf(summary, g, 'totalMs');
          if (t !== undefined && base) derived[`total ratio ${g} / podman baseline`] = t / base;
          const down = medianOf(summary, g, 'downtimeMs');
          const baseDown = medianOf(summary, groupName({ kind: 'podman', storage, sizeMb }), 'downtimeMs');
          if (down !== undefined && baseDown)
            derived[`downtime ratio ${g} / podman baseline`] = down / baseDown;
        }
        for (const kind of ['stream', 'store', 'podman'] as const) {
          const g = groupName({ kind, storage, sizeMb });
          const share = medianOf(summary, g, 'criuShare');
          if (share !== undefined) derived[`CRIU share of total, ${g}`] = share;
        }
        const conn = groupName({ kind: 'connected', storage, sizeMb });
        const connRuns = samples.filter((x) => x.group === conn);
        if (connRuns.length > 0) {
          derived[`${conn}: runs whose connection survived`] = connRuns.filter(
            (x) => x.metrics['connectionSurvived'] === 1,
          ).length;
          derived[`${conn}: runs`] = connRuns.length;
          derived[`${conn}: writes lost (all runs)`] = connRuns.reduce(
            (a, x) => a + (x.metrics['writesLost'] ?? 0),
            0,
          );
          const ratio = medianOf(summary, conn, 'gapOverOutage');
          if (ratio !== undefined) derived[`${conn}: longest gap / outage (median)`] = ratio;
        }
      }
    }
    const bars: StackedBar[] = groups.map((g) => ({
      label: g,
      segments: PHASES.map(([key, label]) => ({ name: label, value: medianOf(summary, g, key) ?? 0 })),
    }));
    return {
      params: {
        sizesMb: sizes,
        runs,
        storage: storages,
        quick: o.quick,
        valueBytes: VALUE_BYTES,
        link: o.link ?? 'unshaped',
        compression: o.compression ?? 'none',
      },
      samples,
      table,
      plot: {
        title: 'Migration of a Redis container, median per step (thesis Figure 4.1)',
        unit: 'time (ms)',
        bars,
      },
      derived,
      notes,
    };
  },
};
