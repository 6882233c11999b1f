import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ClusterEvent } from '../../manager/events.ts';
import { LABEL_INTERVAL, LABEL_RESCHEDULE } from '../../policy/labels.ts';
import { errorMessage, LifeboatError } from '../../util/errors.ts';
import type { Bench, BenchOptions } from '../bench.ts';
import { HollowFleet } from '../hollow/hollow-fleet.ts';
import { HOLLOW_IMAGE } from '../hollow/hollow-podman.ts';
import type { BenchOutcome, Sample } from '../results.ts';
import { startScaleCluster, type ScaleCluster } from './scale-cluster.ts';
import { etcdSample, percentile, procSample, request, type ProcSample } from './scale-probes.ts';

/**
 * Issue 22: the control plane at scale. Real managers (`lifeboat manage`
 * processes) on a real 3-member etcd, and hollow hosts (simulated agents,
 * src/bench/hollow/) that heartbeat with the agent's own code and report N
 * containers each. Per variant (hosts x containers x manager replicas):
 * steady-state manager CPU and RSS, etcd writes/s, bytes/s and database
 * size, heartbeat round trips, `docker ps` / `docker inspect` / `lifeboat
 * node ls` latency under that load, placement of managed containers,
 * failure detection of 1 and of V simultaneous host deaths against the
 * failure timeout, and the time to restore the dead hosts' managed
 * containers elsewhere.
 */
export interface ScaleVariant {
  hosts: number;
  containersPerHost: number;
  replicas: number;
}

export interface ScaleParams {
  variants: ScaleVariant[];
  /** Managed containers (docker create + start through the manager), placed on the victims. */
  managed: number;
  /** Hosts killed at once for the mass failure. */
  victims: number;
  /** Every n-th managed container carries a 30 s checkpoint ticker (restore policy checkpoint). */
  tickerEvery: number;
  steadySeconds: number;
  failureTimeoutMs: number;
  /** Concurrent docker create + start while placing. */
  createConcurrency: number;
  /** Placing stops after this long (what was placed by then is what dies and is restored). */
  placeBudgetSeconds: number;
}

export function scaleParams(
  o: Pick<BenchOptions, 'quick' | 'hosts' | 'replicas' | 'containers'>,
): ScaleParams {
  const hosts = o.hosts ?? (o.quick ? [50] : [50, 200, 500]);
  const replicas = o.replicas ?? (o.quick ? [1] : [1, 3]);
  const perHost = o.containers ?? (o.quick ? 20 : 50);
  const variants: ScaleVariant[] = [];
  for (const h of hosts)
    for (const r of replicas) variants.push({ hosts: h, containersPerHost: perHost, replicas: r });
  return {
    variants,
    managed: o.quick ? 100 : 1000,
    victims: o.quick ? 5 : 20,
    tickerEvery: 10,
    steadySeconds: o.quick ? 20 : 60,
    failureTimeoutMs: 5000,
    createConcurrency: 4,
    placeBudgetSeconds: o.quick ? 60 : 120,
  };
}

const hostName = (i: number): string => `hollow-${String(i).padStart(3, '0')}`;

interface Ctx {
  c: ScaleCluster;
  log: (l: string) => void;
  agent: http.Agent;
  eventsSeq: number;
}

async function events(x: Ctx): Promise<ClusterEvent[]> {
  const m = x.c.managers[0]!;
  const r = await request<ClusterEvent[]>({
    port: m.api.port,
    path: `/lifeboat/v1/events?since=${x.eventsSeq}`,
    tls: x.c.client,
  });
  if (r.status !== 200 || !Array.isArray(r.body)) return [];
  for (const e of r.body) x.eventsSeq = Math.max(x.eventsSeq, e.seq);
  return r.body;
}

interface NodeSummary {
  name: string;
  status: string;
}

async function nodeLs(x: Ctx): Promise<{ ms: number; nodes: NodeSummary[] }> {
  const m = x.c.managers[x.c.managers.length - 1]!;
  const r = await request<NodeSummary[]>({ port: m.api.port, path: '/lifeboat/v1/nodes', tls: x.c.client });
  if (r.status !== 200) throw new LifeboatError('scale_bench', `lifeboat node ls answered ${r.status}`);
  return { ms: r.ms, nodes: r.body };
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const until = performance.now() + ms;
  let last = '';
  while (performance.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = errorMessage(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LifeboatError(
    'scale_bench',
    `${what}: not within ${Math.round(ms / 1000)} s${last ? ` (${last})` : ''}`,
    {
      hint: 'the managers may be overloaded at this size: try fewer --hosts, or read the numbers printed so far',
    },
  );
}

async function docker<T>(
  x: Ctx,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ ms: number; body: T }> {
  const m = x.c.managers[0]!;
  const r = await request<T>({
    port: m.docker.port,
    path,
    method,
    agent: x.agent,
    ...(body !== undefined ? { body } : {}),
  });
  if (r.status >= 300)
    throw new LifeboatError(
      'scale_bench',
      `${method} ${path} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`,
    );
  return { ms: r.ms, body: r.body };
}

/** Runs `fn` over items, `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface VariantResult {
  metrics: Record<string, number>;
  info: Record<string, string | number | boolean>;
  etcdSeries: { t: number; dbBytes: number; writes: number }[];
}

async function runVariant(v: ScaleVariant, p: ScaleParams, o: BenchOptions): Promise<VariantResult> {
  const label = `${v.hosts}x${v.containersPerHost}, ${v.replicas} manager${v.replicas > 1 ? 's' : ''}`;
  o.log(`${label}: starting etcd and managers`);
  const c = await startScaleCluster({
    replicas: v.replicas,
    failureTimeoutMs: p.failureTimeoutMs,
    log: o.log,
    ...(o.resultsDir ? { logsOnFailure: join(o.resultsDir, 'scale-failed-logs') } : {}),
  });
  const fleet = HollowFleet.spawn();
  // interrupted (Ctrl-C, a CI timeout): the managers, etcd and the fleet go with the bench
  const interrupted = (signal: NodeJS.Signals): void => {
    o.log(`${signal}: taking the scale cluster down`);
    void Promise.allSettled([fleet.stop(), c.stop()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const x: Ctx = { c, log: o.log, agent: new http.Agent({ keepAlive: true, maxSockets: 8 }), eventsSeq: 0 };
  const metrics: Record<string, number> = {};
  const info: Record<string, string | number | boolean> = { hosts: v.hosts, replicas: v.replicas };
  const etcdSeries: VariantResult['etcdSeries'] = [];
  let failed: string | undefined;
  try {
    const names = Array.from({ length: v.hosts }, (_, i) => hostName(i));
    const hosts = names.map((name) => ({ name, containers: v.containersPerHost }));
    o.log(`${label}: ${v.hosts} hollow hosts join (${v.hosts * v.containersPerHost} containers reported)`);
    const joinMs = await fleet.start({
      type: 'start',
      caDir: c.caDir,
      hosts,
      managers: c.managers.map((m) => m.api),
      failureTimeoutMs: p.failureTimeoutMs,
    });
    await waitFor(`${v.hosts} hosts healthy in lifeboat node ls`, 120_000, async () => {
      const { nodes } = await nodeLs(x);
      return nodes.filter((n) => n.status === 'healthy').length >= v.hosts ? true : undefined;
    });
    metrics['join_s'] = joinMs / 1000;
    await events(x);

    // placement: managed containers, each pinned to one of the hosts that die later
    const victims = names.slice(names.length - p.victims);
    const managed = Array.from({ length: p.managed }, (_, i) => `scale-m${i}`);
    const createMs: number[] = [];
    const placeErrors: string[] = [];
    const placeUntil = performance.now() + p.placeBudgetSeconds * 1000;
    let started = 0;
    const placedNames: string[] = [];
    o.log(`${label}: docker create + start of ${p.managed} managed containers on ${p.victims} hosts`);
    await pool(
      managed.map((name, i) => ({ name, i })),
      p.createConcurrency,
      async ({ name, i }) => {
        const ticker = i % p.tickerEvery === 0;
        if (performance.now() > placeUntil) return;
        try {
          const r = await docker(x, 'POST', `/containers/create?name=${name}`, {
            Image: HOLLOW_IMAGE.name,
            Env: [`constraint:node==${victims[i % victims.length]!}`],
            Labels: ticker
              ? { [LABEL_RESCHEDULE]: 'checkpoint', [LABEL_INTERVAL]: '30s' }
              : { [LABEL_RESCHEDULE]: 'on-node-failure' },
          });
          createMs.push(r.ms);
          await docker(x, 'POST', `/containers/${name}/start`);
          placedNames.push(name);
          if (++started % 100 === 0)
            o.log(
              `${label}: ${started}/${p.managed} placed, create p99 so far ${percentile(createMs, 0.99).toFixed(0)} ms`,
            );
        } catch (err) {
          placeErrors.push(errorMessage(err));
        }
      },
    );
    metrics['place_p50_ms'] = percentile(createMs, 0.5);
    metrics['place_p99_ms'] = percentile(createMs, 0.99);
    // the placement decision alone, as the manager timed it (its container.create events)
    const mine = new Set(managed);
    const decisions = (await events(x))
      .filter((e) => e.type === 'container.create' && e.container !== undefined && mine.has(e.container))
      .map((e) => e.fields?.['decisionMs'])
      .filter((v): v is number => typeof v === 'number');
    metrics['decide_p50_ms'] = percentile(decisions, 0.5);
    metrics['decide_p99_ms'] = percentile(decisions, 0.99);
    metrics['place_errors'] = placeErrors.length;
    metrics['placed'] = createMs.length;
    metrics['placed_per_s'] =
      createMs.length / ((performance.now() - placeUntil) / 1000 + p.placeBudgetSeconds);
    if (createMs.length < p.managed)
      o.log(
        `${label}: placing stopped after ${p.placeBudgetSeconds} s with ${createMs.length}/${p.managed} placed`,
      );
    if (placeErrors.length) info['place_error'] = placeErrors[0]!;

    // steady state, quiet: what the managers and etcd cost with nothing happening but heartbeats and tickers
    const half = p.steadySeconds / 2;
    o.log(`${label}: steady state, ${half} s quiet, then ${half} s under docker ps / inspect / node ls`);
    const quiet = await measureWindow(x, fleet, half, etcdSeries);
    metrics['manager_cpu_cores'] = quiet.cpuCores[0] ?? NaN;
    quiet.cpuCores.forEach((v, i) => (metrics[`manager${i + 1}_cpu_cores`] = v));
    metrics['manager_rss_max_mb'] = quiet.rssMaxMb;
    metrics['fleet_cpu_cores'] = quiet.fleetCpuCores;
    metrics['etcd_writes_per_s'] = quiet.etcd.writesPerS;
    metrics['etcd_received_mb_per_s'] = quiet.etcd.receivedMBps;
    metrics['etcd_sent_mb_per_s'] = quiet.etcd.sentMBps;
    metrics['etcd_db_mb'] = quiet.etcd.dbMb;
    metrics['etcd_db_growth_mb_per_min'] = quiet.etcd.dbGrowthMbPerMin;
    metrics['heartbeat_rtt_p50_ms'] = percentile(quiet.delays, 0.5);
    metrics['heartbeat_rtt_p99_ms'] = percentile(quiet.delays, 0.99);
    metrics['heartbeats_per_s'] = quiet.delays.length / quiet.seconds;

    // steady state, loaded: the same plus clients asking back to back, one request at a time
    const lat = { ps: [] as number[], inspect: [] as number[], nodeLs: [] as number[] };
    let psRows = 0;
    const queryErrors: string[] = [];
    let k = 0;
    const loaded = await measureWindow(x, fleet, half, etcdSeries, async (until) => {
      while (performance.now() < until) {
        try {
          const ps = await docker<unknown[]>(x, 'GET', '/containers/json?all=1');
          lat.ps.push(ps.ms);
          psRows = ps.body.length;
          lat.inspect.push(
            (await docker(x, 'GET', `/containers/${placedNames[k++ % placedNames.length]}/json`)).ms,
          );
          lat.nodeLs.push((await nodeLs(x)).ms);
        } catch (err) {
          queryErrors.push(errorMessage(err));
        }
      }
    });
    metrics['manager_cpu_cores_loaded'] = loaded.cpuCores[0] ?? NaN;
    metrics['heartbeat_rtt_p99_ms_loaded'] = percentile(loaded.delays, 0.99);
    metrics['ps_p50_ms'] = percentile(lat.ps, 0.5);
    metrics['ps_p99_ms'] = percentile(lat.ps, 0.99);
    metrics['ps_rows'] = psRows;
    metrics['inspect_p50_ms'] = percentile(lat.inspect, 0.5);
    metrics['inspect_p99_ms'] = percentile(lat.inspect, 0.99);
    metrics['node_ls_p50_ms'] = percentile(lat.nodeLs, 0.5);
    metrics['node_ls_p99_ms'] = percentile(lat.nodeLs, 0.99);
    metrics['query_errors'] = queryErrors.length;
    if (queryErrors.length) info['query_error'] = queryErrors[0]!;
    const counts = await fleet.counts();
    metrics['checkpoints_simulated'] = counts.checkpoints;
    o.log(
      `${label}: manager CPU ${metrics['manager_cpu_cores']!.toFixed(2)} cores quiet, ${metrics['manager_cpu_cores_loaded']!.toFixed(2)} loaded, etcd ${metrics['etcd_writes_per_s']!.toFixed(0)} writes/s, ` +
        `ps p99 ${metrics['ps_p99_ms']!.toFixed(0)} ms (${psRows} rows)`,
    );

    // one host dies: a host with no managed container
    await events(x);
    const one = names[0]!;
    const oneAt = await fleet.kill([one]);
    const failedAt = await detected(x, [one], 60_000);
    metrics['detect_1_ms'] = failedAt.get(one)! - oneAt;
    o.log(
      `${label}: 1 host dead, declared failed after ${metrics['detect_1_ms']} ms (timeout ${p.failureTimeoutMs} ms)`,
    );

    // the victims die at once; their managed containers come back elsewhere
    const victimsAt = await fleet.kill(victims);
    const when = await detected(x, victims, 90_000, managed);
    const detect = victims.map((n) => when.get(n)! - victimsAt);
    metrics[`detect_${p.victims}_first_ms`] = Math.min(...detect);
    metrics[`detect_${p.victims}_last_ms`] = Math.max(...detect);
    o.log(
      `${label}: ${p.victims} hosts dead, all declared failed after ${metrics[`detect_${p.victims}_last_ms`]} ms`,
    );
    const placed = createMs.length;
    const restored = await restoredAll(x, when.restores, placed, Math.max(120_000, placed * 200));
    const lastFailed = Math.max(...victims.map((n) => when.get(n)!));
    metrics['restore_all_s'] = (restored.lastAt - lastFailed) / 1000;
    metrics['restored'] = restored.done;
    metrics['restore_failed'] = restored.failed;
    if (restored.why.length) info['restore_failures'] = restored.why.join(' | ');
    o.log(
      `${label}: ${restored.done}/${placed} managed containers back on other hosts ${metrics['restore_all_s']!.toFixed(1)} s after the last failure (${restored.failed} failed)`,
    );
    return { metrics, info, etcdSeries };
  } catch (err) {
    // what was measured before a phase broke is kept, with the managers' logs
    failed = errorMessage(err);
    info['error'] = failed;
    o.log(`${label}: ${failed}`);
    return { metrics, info, etcdSeries };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    x.agent.destroy();
    await fleet.stop().catch(() => undefined);
    // a run that broke, or had a query or a restore fail, keeps the managers' logs for the post-mortem
    const keep = failed ?? info['query_error'] ?? info['restore_failures'];
    const logs =
      keep && o.resultsDir
        ? join(o.resultsDir, `scale-logs-${v.hosts}x${v.containersPerHost}-${v.replicas}m`)
        : undefined;
    await c.stop(logs);
    if (logs) o.log(`${label}: manager logs kept in ${logs}`);
  }
}

interface Window {
  seconds: number;
  /** Per manager, user + system CPU over the window / its length. */
  cpuCores: number[];
  fleetCpuCores: number;
  rssMaxMb: number;
  etcd: {
    writesPerS: number;
    receivedMBps: number;
    sentMBps: number;
    dbMb: number;
    dbGrowthMbPerMin: number;
  };
  /** Heartbeat round trips seen by the hollow hosts during the window, ms. */
  delays: number[];
}

/** Samples the managers' processes every second and etcd at both ends while `during` runs (or for `seconds`). */
async function measureWindow(
  x: Ctx,
  fleet: HollowFleet,
  seconds: number,
  series: VariantResult['etcdSeries'],
  during?: (until: number) => Promise<void>,
): Promise<Window> {
  const pids = x.c.managers.map((m) => m.process.pid!);
  await fleet.delays();
  const p0 = pids.map((pid) => procSample(pid));
  const f0 = procSample(fleet.pid!);
  const e0 = await etcdSample(x.c.etcd.endpoints);
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const rss: number[] = [];
  const sampler = (async () => {
    while (performance.now() < until) {
      for (const pid of pids) rss.push(procSample(pid)?.rssBytes ?? NaN);
      const e = await etcdSample(x.c.etcd.endpoints).catch(() => undefined);
      if (e) series.push({ t: Math.round(e.at / 1000), dbBytes: e.dbBytes, writes: e.writes });
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  await (during ? during(until) : new Promise((r) => setTimeout(r, seconds * 1000)));
  await sampler;
  const elapsed = (performance.now() - t0) / 1000;
  const e1 = await etcdSample(x.c.etcd.endpoints);
  const p1 = pids.map((pid) => procSample(pid));
  const f1 = procSample(fleet.pid!);
  const de = (e1.at - e0.at) / 1000;
  const cpu = (a: ProcSample | undefined, b: ProcSample | undefined): number =>
    a && b ? (b.cpuSeconds - a.cpuSeconds) / elapsed : NaN;
  return {
    seconds: elapsed,
    cpuCores: pids.map((_, i) => cpu(p0[i], p1[i])),
    fleetCpuCores: cpu(f0, f1),
    rssMaxMb: Math.max(...rss.filter(Number.isFinite)) / 2 ** 20,
    etcd: {
      writesPerS: (e1.writes - e0.writes) / de,
      receivedMBps: (e1.receivedBytes - e0.receivedBytes) / de / 2 ** 20,
      sentMBps: (e1.sentBytes - e0.sentBytes) / de / 2 ** 20,
      dbMb: e1.dbBytes / 2 ** 20,
      dbGrowthMbPerMin: (((e1.dbBytes - e0.dbBytes) / de) * 60) / 2 ** 20,
    },
    delays: await fleet.delays(),
  };
}

type Detected = Map<string, number> & { restores: ClusterEvent[] };

/** When each host's node.failed event was emitted (the leader's clock: the same machine's). */
async function detected(x: Ctx, hosts: string[], ms: number, _managed: string[] = []): Promise<Detected> {
  const out = new Map<string, number>() as Detected;
  out.restores = [];
  await waitFor(`${hosts.length} hosts declared failed`, ms, async () => {
    for (const e of await events(x)) {
      if (e.type === 'node.failed' && e.node && hosts.includes(e.node)) out.set(e.node, Date.parse(e.time));
      if (e.type.startsWith('restore.')) out.restores.push(e);
    }
    return hosts.every((h) => out.has(h)) ? true : undefined;
  });
  return out;
}

/** Waits until every one of `n` managed containers is restored (or given up); the last one's time. */
async function restoredAll(
  x: Ctx,
  seen: ClusterEvent[],
  n: number,
  ms: number,
): Promise<{ done: number; failed: number; lastAt: number; why: string[] }> {
  const done = new Map<string, number>();
  const failed = new Set<string>();
  const why = new Set<string>();
  const take = (e: ClusterEvent): void => {
    if (!e.container) return;
    if (e.type === 'restore.done' || e.type === 'restore.fresh') {
      done.set(e.container, Date.parse(e.time));
      failed.delete(e.container); // a retry pass brought it back
    }
    if ((e.type === 'restore.failed' || e.type === 'restore.none') && !done.has(e.container)) {
      failed.add(e.container);
      if (why.size < 3) why.add(`${e.type}: ${e.message}`);
    }
  };
  seen.forEach(take);
  await waitFor(`${n} containers restored`, ms, async () => {
    (await events(x)).forEach(take);
    return done.size + failed.size >= n ? true : undefined;
  }).catch((err: unknown) => x.log(`restores: ${errorMessage(err)}`));
  return { done: done.size, failed: failed.size, lastAt: Math.max(0, ...done.values()), why: [...why] };
}

const f = (v: number | undefined, d = 0): string =>
  v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d);

export const scaleBench: Bench = {
  name: 'scale',
  description:
    'the control plane with 50-500 hollow (simulated) hosts on a 3-member etcd: manager CPU/RSS, etcd load, failure detection, restores, docker ps latency (issue 22)',
  async run(o: BenchOptions): Promise<BenchOutcome> {
    const p = scaleParams(o);
    const samples: Sample[] = [];
    const rows: string[][] = [];
    const notes: string[] = [
      `hollow hosts are simulators (src/bench/hollow/): the agent's heartbeat loop and node API routes over an in-memory Podman; no container runs`,
      `failure timeout ${p.failureTimeoutMs} ms, heartbeats every 1000 ms; every ${p.tickerEvery}th managed container has a 30 s checkpoint ticker (simulated dumps of 64 MB)`,
      'detection is from the kill to the leader emitting node.failed; restores from the last node.failed to the last restore.done',
    ];
    const series: Record<string, VariantResult['etcdSeries']> = {};
    for (const v of p.variants) {
      const group = `${v.hosts}x${v.containersPerHost}/${v.replicas}m`;
      try {
        const r = await runVariant(v, p, o);
        samples.push({ group, run: 1, metrics: r.metrics, info: r.info });
        if (r.info['error'])
          notes.push(`${group} stopped early: ${String(r.info['error'])} (the numbers before it are kept)`);
        if (r.info['query_error']) notes.push(`${group}: a query failed: ${String(r.info['query_error'])}`);
        if (r.info['restore_failures'])
          notes.push(`${group}: restores that failed (first 3): ${String(r.info['restore_failures'])}`);
        if (r.info['place_error'])
          notes.push(`${group}: a placement failed: ${String(r.info['place_error'])}`);
        series[group] = r.etcdSeries;
        const m = r.metrics;
        rows.push([
          group,
          `${f(m['manager_cpu_cores'], 2)} / ${f(m['manager_cpu_cores_loaded'], 2)}`,
          f(m['manager_rss_max_mb']),
          f(m['etcd_writes_per_s']),
          f(m['etcd_received_mb_per_s'], 1),
          `${f(m['etcd_db_mb'])} (+${f(m['etcd_db_growth_mb_per_min'])}/min)`,
          `${f(m['heartbeat_rtt_p50_ms'])} / ${f(m['heartbeat_rtt_p99_ms'])}`,
          `${f(m['detect_1_ms'])} / ${f(m[`detect_${p.victims}_last_ms`])}`,
          `${f(m['restore_all_s'], 1)} (${f(m['restored'])})`,
          `${f(m['place_p50_ms'])} / ${f(m['place_p99_ms'])} (decision ${f(m['decide_p50_ms'])} / ${f(m['decide_p99_ms'])})`,
          `${f(m['ps_p50_ms'])} / ${f(m['ps_p99_ms'])} (${f(m['ps_rows'])})`,
          `${f(m['inspect_p50_ms'])} / ${f(m['inspect_p99_ms'])}`,
          `${f(m['node_ls_p50_ms'])} / ${f(m['node_ls_p99_ms'])}`,
        ]);
      } catch (err) {
        o.log(`${group}: ${errorMessage(err)}`);
        notes.push(`${group} did not complete: ${errorMessage(err)}`);
        rows.push([group, ...Array.from({ length: 12 }, () => 'failed')]);
      }
    }
    return {
      params: { quick: o.quick, ...p },
      samples,
      table: {
        columns: [
          'variant',
          'manager CPU quiet / loaded (cores)',
          'manager RSS (MB)',
          'etcd writes/s',
          'etcd in (MB/s)',
          'etcd db (MB)',
          'heartbeat p50/p99 (ms)',
          `detect 1 / ${p.victims} (ms)`,
          `restore all (s, n)`,
          'place p50/p99 (ms): docker create (the decision alone)',
          'docker ps p50/p99 (ms, rows)',
          'inspect p50/p99 (ms)',
          'node ls p50/p99 (ms)',
        ],
        rows,
      },
      plot: {
        title: 'Manager CPU and etcd writes per variant',
        unit: 'cores / (writes/s / 1000)',
        bars: samples.map((s) => ({
          label: s.group,
          segments: [
            { name: 'manager CPU quiet / loaded (cores)', value: s.metrics['manager_cpu_cores'] ?? 0 },
            { name: 'etcd writes/s / 1000', value: (s.metrics['etcd_writes_per_s'] ?? 0) / 1000 },
          ],
        })),
      },
      notes,
      details: { etcdSeries: series },
    };
  },
};
