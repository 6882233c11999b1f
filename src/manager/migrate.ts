import { CLUSTER_NETWORK, clusterAddressOf } from '../network/cluster-network.ts';
import type { Compression, NodeClient, PreparedMigration, RestoreOutcome } from '../node-api/node-client.ts';
import { Scheduler } from '../scheduler/index.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import type { ClusterState } from './cluster-state.ts';
import { ContainerNotInClusterError } from './cluster-state.ts';
import type { EventLog } from './events.ts';
import type { NodeDirectory } from './node-directory.ts';
import { ensureImage } from './images.ts';
import { newGrant } from './transfer-grant.ts';
import { withDeadline } from '../util/deadline.ts';
import { requestFor, toSchedNode, withoutNodePins } from './sched-view.ts';
import { hasNeeds, needsOf, type LocalResources } from './local-resources.ts';
import { moveBlocker } from './move-blocker.ts';

/**
 * Live migration of a container to another host, thesis 3.3, as nine visible
 * and timed steps. The container keeps its name, labels, published ports (on
 * the new host) and filesystem changes. If anything fails after the freeze,
 * the container is restored on the source from the checkpoint just taken
 * (kept there for that purpose) before the error is reported.
 */
export interface MigrateRequest {
  container: string;
  /** Target host; otherwise the scheduler chooses. */
  to?: string;
  /** Extra Swarm expressions (`constraint:...`, `affinity:...`) for this move. */
  env?: string[];
  labels?: Record<string, string>;
  /** stream: the target fetches the archive from the source, agent to agent; store: through the shared checkpoint store. */
  via?: 'stream' | 'store';
  /** Compression of the stream between the agents; `auto` measures the link. Default: the manager's. */
  compression?: Compression | 'auto';
  /**
   * Move every container that shares a network or a volume with this one,
   * to one host, one after the other (a compose project changes host as a unit).
   */
  withNetwork?: boolean;
  /** Containers moving in the same group move: they may share its networks and volumes. */
  together?: string[];
  /**
   * The container's established connections must survive: refused before
   * anything is frozen unless its address follows it (the cluster network).
   */
  keepConnections?: boolean;
}

export type StepStatus = 'running' | 'ok' | 'skipped' | 'failed';

export interface MigrationStep {
  /** In a group move (--with-network): whose step it is. */
  container?: string;
  n: number;
  id: StepId;
  title: string;
  status: StepStatus;
  ms: number;
  detail?: string;
}

export type StepId =
  | 'hosts'
  | 'filters'
  | 'exclude-source'
  | 'prepare-target'
  | 'pre-dump'
  | 'checkpoint'
  | 'restore'
  | 'cleanup'
  | 'ticker';

const STEPS: { id: StepId; title: string }[] = [
  { id: 'hosts', title: 'check the cluster has at least two hosts' },
  { id: 'filters', title: 'read Swarm filters from env and labels' },
  { id: 'exclude-source', title: 'add a constraint excluding the current host' },
  { id: 'prepare-target', title: 'prepare the target (image with the same ID, container created)' },
  { id: 'pre-dump', title: 'pre-dump memory' },
  { id: 'checkpoint', title: 'checkpoint (dump) the container' },
  { id: 'restore', title: 'transfer and restore on the target' },
  { id: 'cleanup', title: 'delete checkpoint images and the source container' },
  { id: 'ticker', title: "re-arm the container's checkpoint ticker" },
];

export interface MigrationResult {
  container: string;
  from: string;
  to: string;
  via: 'stream' | 'store';
  generation: number;
  steps: MigrationStep[];
  totalMs: number;
  /** Thesis Figure 4.1 phases, milliseconds. */
  phases: {
    createMs: number;
    preDumpMs: number;
    checkpointMs: number;
    transferMs: number;
    restoreMs: number;
    removeMs: number;
    deleteCheckpointMs: number;
  };
  criu: {
    frozenTimeUs?: number;
    freezingTimeUs?: number;
    memdumpTimeUs?: number;
    pagesWritten?: number;
    restoreTimeUs?: number;
    pagesRestored?: number;
  };
  archiveBytes: number;
  /** Bytes on the wire between the agents (after compression); the manager carries none. */
  wireBytes: number;
  /** prepared: restored into a container created before the freeze; import: Podman's export/import. */
  mode: PreparedMigration['mode'];
  compression: Compression;
  /** Link throughput measured before the freeze (compression `auto`), MB/s. */
  linkMBps?: number;
  placement: { candidates: string[]; trace: { filter: string; remaining: string[] }[] };
  /** A group move (--with-network): each member's move, in order. */
  group?: { container: string; from: string; to: string; totalMs: number; frozenTimeUs?: number }[];
}

export class MigrationError extends LifeboatError {
  readonly step: StepId;
  readonly steps: MigrationStep[];
  readonly rolledBack: boolean;
  constructor(
    step: MigrationStep,
    steps: MigrationStep[],
    cause: unknown,
    rolledBack: boolean,
    where: string,
  ) {
    super(
      'migration_failed',
      `migration failed at step ${step.n} (${step.title}): ${errorMessage(cause)}; ${where}`,
      {
        status: cause instanceof LifeboatError && cause.status < 500 ? cause.status : 500,
        cause,
        ...(cause instanceof LifeboatError && cause.hint ? { hint: cause.hint } : {}),
      },
    );
    this.step = step.id;
    this.steps = steps;
    this.rolledBack = rolledBack;
  }
}

export interface MigratorDeps {
  state: ClusterState;
  nodes: NodeDirectory;
  scheduler?: Scheduler;
  events: EventLog;
  /** Called after a successful move so the container's ticker follows it (step 9). */
  rearmTicker?: (container: string) => Promise<boolean>;
  /** Per-container exclusive section (the manager's operation lock). */
  exclusive?: <T>(container: string, fn: () => Promise<T>) => Promise<T>;
  /** Compression when a request does not say (`lifeboat manage --transfer-compression`); default none. */
  compression?: Compression | 'auto';
  /** How often the hosts' health is checked while a move is frozen, ms. */
  healthCheckMs?: number;
  /** Networks and volumes: created on the target, carried along, refused when they cannot follow. */
  resources?: LocalResources;
  /** Host paths every host shares (`lifeboat manage --shared-path`): binds below them move. */
  sharedPaths?: string[];
  /**
   * A cluster-network address came back on `to` (the restore ended): route
   * it there now, before the record says so. Returns the undo, called if
   * the move fails after all.
   */
  addressMoving?: (address: string, to: string) => () => void;
}

export class Migrator {
  private readonly scheduler: Scheduler;

  constructor(private readonly deps: MigratorDeps) {
    this.scheduler = deps.scheduler ?? new Scheduler();
  }

  async migrate(
    req: MigrateRequest,
    onStep: (s: MigrationStep) => void = () => undefined,
  ): Promise<MigrationResult> {
    if (req.withNetwork) return this.migrateGroup(req, onStep);
    const run = (): Promise<MigrationResult> => this.run(req, onStep);
    return this.deps.exclusive ? this.deps.exclusive(req.container, run) : run();
  }

  /**
   * Moves a container with every container it shares a network or a volume
   * with, one after the other, to the host the first move chose. A member
   * that fails calls the group off: those already moved go back.
   */
  private async migrateGroup(
    req: MigrateRequest,
    onStep: (s: MigrationStep) => void,
  ): Promise<MigrationResult> {
    const res = this.deps.resources;
    const found = await this.deps.state.container(req.container);
    if (!found) throw new ContainerNotInClusterError(req.container);
    const members = res ? await res.group(found.record) : [found.record];
    const names = [
      req.container,
      ...members
        .map((m) => m.name)
        .filter((n) => n !== req.container)
        .sort(),
    ];
    // asked of their hosts: a record's phase can lag a start by a heartbeat
    const running = await Promise.all(
      members.map((m) =>
        this.deps.nodes
          .client(m.node)
          .inspect(m.name)
          .then((i) => i.State.Running)
          .catch(() => false),
      ),
    );
    const idle = members.filter((_, i) => !running[i]);
    if (idle.length)
      throw new LifeboatError(
        'group_not_running',
        `the group of ${req.container} has containers that are not running: ${idle.map((m) => m.name).join(', ')}`,
        { status: 409, hint: 'only running containers move live; start them (or remove them) and try again' },
      );
    const sharedVolumes = res ? await res.volumesSharedWithin(members) : [];
    if (sharedVolumes.length)
      throw new LifeboatError(
        'group_shares_volume',
        `several containers of the group mount the same volume (${sharedVolumes.join(', ')}): each move carries the volume's data, so they cannot move one after another`,
        { status: 409, hint: 'stop all but one of them, move the group, then start them on the new host' },
      );
    const done: MigrationResult[] = [];
    let to = req.to;
    for (const name of names) {
      try {
        const r = await this.migrate(
          { ...req, container: name, withNetwork: false, together: names, ...(to ? { to } : {}) },
          (s) => onStep({ ...s, container: name }),
        );
        done.push(r);
        to = r.to;
      } catch (err) {
        const back: string[] = [];
        for (const d of [...done].reverse()) {
          await this.migrate({ container: d.container, to: d.from, together: names }).then(
            () => back.push(d.container),
            (e: unknown) =>
              back.push(`${d.container} NOT moved back (${errorMessage(e)}): it runs on ${d.to}`),
          );
        }
        throw new LifeboatError(
          'group_migration_failed',
          `moving the group of ${req.container} failed at ${name}: ${errorMessage(err)}` +
            (back.length ? `; moved back to ${done[0]!.from}: ${back.join(', ')}` : ''),
          {
            status: err instanceof LifeboatError && err.status < 500 ? err.status : 500,
            cause: err,
            ...(err instanceof LifeboatError && err.hint ? { hint: err.hint } : {}),
          },
        );
      }
    }
    const last = done[done.length - 1]!;
    return {
      ...last,
      container: req.container,
      from: done[0]!.from,
      totalMs: done.reduce((a, r) => a + r.totalMs, 0),
      group: done.map((r) => ({
        container: r.container,
        from: r.from,
        to: r.to,
        totalMs: r.totalMs,
        ...(r.criu.frozenTimeUs === undefined ? {} : { frozenTimeUs: r.criu.frozenTimeUs }),
      })),
    };
  }

  /**
   * Runs `fn` and calls it off (through `signal`) as soon as one of `hosts`
   * is no longer healthy: a host that died mid-transfer never holds the
   * move for longer than the failure detector takes to notice.
   */
  private async whileHealthy<T>(hosts: string[], fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const calledOff = new AbortController();
    const watch = setInterval(() => {
      void this.deps.nodes.healthy().then(
        (h) => {
          const alive = new Set(h.map((n) => n.report.name));
          const gone = hosts.find((x) => !alive.has(x));
          if (gone !== undefined && !calledOff.signal.aborted)
            calledOff.abort(new HostFailedDuringMoveError(gone));
        },
        () => undefined,
      );
    }, this.deps.healthCheckMs ?? 500);
    try {
      return await fn(calledOff.signal);
    } catch (err) {
      throw calledOff.signal.aborted ? calledOff.signal.reason : err;
    } finally {
      clearInterval(watch);
    }
  }

  private async run(req: MigrateRequest, onStep: (s: MigrationStep) => void): Promise<MigrationResult> {
    const { state, nodes, events } = this.deps;
    const via = req.via ?? 'stream';
    const t0 = Date.now();
    const steps: MigrationStep[] = STEPS.map((s, i) => ({
      n: i + 1,
      ...s,
      status: 'running' as StepStatus,
      ms: 0,
    }));
    const phases = {
      createMs: 0,
      preDumpMs: 0,
      checkpointMs: 0,
      transferMs: 0,
      restoreMs: 0,
      removeMs: 0,
      deleteCheckpointMs: 0,
    };
    const criu: MigrationResult['criu'] = {};
    let current: MigrationStep = steps[0]!;
    let frozen = false;
    let restoredOn: NodeClient | undefined;
    let recorded = false;
    /** Undoes the early route of a cluster-network address to the target (a failed move). */
    let unroute: (() => void) | undefined;
    let source: NodeClient | undefined;
    /** The target and the grant of a stream move, once prepared: what a failure must clean up there. */
    let preparedOn: { target: NodeClient; grant: string } | undefined;

    const started = new Map<StepId, number>();
    const begin = (id: StepId): MigrationStep => {
      const s = steps.find((x) => x.id === id)!;
      current = s;
      s.status = 'running';
      started.set(id, Date.now());
      onStep({ ...s });
      return s;
    };
    const end = (id: StepId): void => {
      const s = steps.find((x) => x.id === id)!;
      s.ms = Date.now() - (started.get(id) ?? Date.now());
      if (s.status === 'running') s.status = 'ok';
      onStep({ ...s });
    };
    const step = async <T>(id: StepId, fn: () => Promise<T>): Promise<T> => {
      begin(id);
      const out = await fn();
      end(id);
      return out;
    };
    const skip = (id: StepId, why: string): void => {
      const s = steps.find((x) => x.id === id)!;
      s.status = 'skipped';
      s.detail = why;
      onStep({ ...s });
    };

    const found = await state.container(req.container);
    if (!found) throw new ContainerNotInClusterError(req.container);
    const rec = found.record;
    const from = rec.node;
    // before anything: what the container uses of its host, or a network or volume that would stay behind, refuses the move
    const blocker = moveBlocker(rec.spec, this.deps.sharedPaths);
    if (blocker)
      throw new LifeboatError(
        'cannot_move',
        `${rec.name} cannot move live: ${blocker}, which would not be the same on another host`,
        {
          status: 409,
          hint: blocker.includes('bind-mounts')
            ? 'use a named volume (it travels with the container), or declare the path shared storage (lifeboat manage --shared-path DIR)'
            : 'remove and recreate it on the host you want (docker run -e constraint:node==HOST)',
        },
      );
    if (req.keepConnections && !clusterAddressOf(rec.spec))
      throw new LifeboatError(
        'address_cannot_follow',
        `${rec.name} cannot keep its connections across hosts: it is not on the cluster network, so its address would change with the move`,
        {
          status: 409,
          hint: `create it on the cluster network (docker run --network ${CLUSTER_NETWORK} ...), or move it without --keep-connections (clients reconnect to its new address)`,
        },
      );
    const needs = needsOf(rec.spec);
    const res = this.deps.resources;
    if (res && hasNeeds(needs)) {
      const stay = await res.sharers(needs, new Set([rec.name, ...(req.together ?? [])]));
      if (stay.length)
        throw new LifeboatError(
          'resources_cannot_follow',
          `${rec.name} cannot move alone: ${stay.map((x) => `its ${x.resource} is also used by ${x.containers.join(', ')}`).join('; ')}, and a network or volume lives on one host`,
          {
            status: 409,
            hint: `move them together: lifeboat migrate --with-network ${rec.name}`,
          },
        );
    }
    try {
      // (1) at least two hosts
      const healthy = await step('hosts', async () => {
        const h = await nodes.healthy();
        if (h.length < 2) {
          throw new LifeboatError(
            'not_enough_hosts',
            `migration needs at least two healthy hosts, the cluster has ${h.length}`,
            {
              status: 409,
              hint: '`lifeboat node ls` shows the hosts and their state',
            },
          );
        }
        if (!h.some((n) => n.report.name === from)) {
          throw new LifeboatError('source_unavailable', `the container's host ${from} is not healthy`, {
            status: 409,
            hint: 'a container on a failed host is restored by the rescheduler, not migrated',
          });
        }
        steps[0]!.detail = `${h.length} healthy: ${h.map((n) => n.report.name).join(', ')}`;
        return h;
      });
      source = nodes.client(from);
      const inspect = await source.inspect(rec.name);
      if (!inspect.State.Running) {
        throw new LifeboatError('not_running', `container ${rec.name} is not running on ${from}`, {
          status: 409,
          hint: 'only a running container can be migrated live; `docker start` it first',
        });
      }
      // (2) filters from env/labels
      const request = await step('filters', async () => {
        const unpinned = withoutNodePins(rec.spec.labels ?? {});
        const r = requestFor(
          { ...rec.spec, labels: unpinned.labels },
          { env: req.env ?? [], labels: req.labels ?? {} },
        );
        if (req.to) r.env.push(`constraint:node==${req.to}`);
        const exprs = [
          ...r.env.filter((e) => /^(constraint|affinity):/.test(e)),
          ...Object.entries(r.labels)
            .filter(([k]) => k.startsWith('com.docker.swarm.'))
            .map(([k, v]) => `${k}=${v}`),
        ];
        steps[1]!.detail =
          (exprs.length ? exprs.join(' ') : 'none') +
          (unpinned.dropped.length ? `; set aside create-time ${unpinned.dropped.join(', ')}` : '');
        return r;
      });
      // (3) exclude the current host, then place
      const placement = await step('exclude-source', async () => {
        const p = this.scheduler.schedule(
          request,
          healthy.map((n) => toSchedNode(n, true)),
          { exclude: [from] },
        );
        steps[2]!.detail = `constraint:node!=${from}; chose ${p.node.name} from [${p.candidates.join(', ')}]`;
        return p;
      });
      const to = placement.node.name;
      const target = nodes.client(to);
      events.emit('migrate.start', `migrating ${rec.name} from ${from} to ${to} via ${via}`, {
        container: rec.name,
        node: to,
        fields: { from, to, via, candidates: placement.candidates.join(',') },
      });
      // the target holds a cluster-network address from here on (no route there sends it back)
      await state.updateContainer(rec.name, (r) => ({ ...r, phase: 'migrating', movingTo: to }));
      const clusterAddress = clusterAddressOf(rec.spec);
      // (4) image with the same ID on the target; the container created there before the freeze
      let prepared: PreparedMigration | undefined;
      const grant = newGrant('migration', rec.name, to);
      await step('prepare-target', async () => {
        const t = Date.now();
        const sources = [source!, ...healthy.map((n) => nodes.client(n.report.name))];
        const r = await ensureImage(nodes, target, { ref: inspect.Image, name: inspect.ImageName }, sources);
        if (res && hasNeeds(needs)) {
          // the networks exist on the target (same subnet: the address stays); the volumes come in the archive
          await res.ensureOn(to, needs, { volumes: false });
          await res.clearStaleVolumes(to, needs);
        }
        const image = r.shipped
          ? `shipped image ${inspect.ImageName} (${inspect.Image.slice(0, 12)}) from ${r.from}`
          : `image ${inspect.ImageName} (${inspect.Image.slice(0, 12)}) present`;
        if (via === 'stream') {
          await source!.grantTransfer(grant);
          preparedOn = { target, grant: grant.id };
          prepared = await target.prepareMigration({
            grant: grant.id,
            source: nodes.peer(from),
            container: rec.name,
            compression: req.compression ?? this.deps.compression ?? 'none',
            ...(clusterAddress ? { clusterAddress } : {}),
          });
          steps[3]!.detail =
            `${image}; ` +
            (prepared.mode === 'prepared'
              ? `container created on ${to} from its checkpoint configuration`
              : `Podman's export/import: ${prepared.reason ?? ''}`) +
            `; compression ${prepared.compression}` +
            (prepared.linkMBps === undefined ? '' : ` (link ${Math.round(prepared.linkMBps)} MB/s)`);
        } else {
          steps[3]!.detail = image;
        }
        phases.createMs = Date.now() - t;
      });
      // (5) pre-dump where the source host can
      const report = healthy.find((n) => n.report.name === from)!.report;
      if (report.capabilities.canPreDump) {
        await step('pre-dump', async () => {
          const t = Date.now();
          await source!.preDump(rec.name);
          phases.preDumpMs = Date.now() - t;
        });
      } else {
        skip('pre-dump', 'skipped: no soft-dirty tracking on the source host');
      }
      // (6) + (7): dump, transfer, restore
      let outcome: RestoreOutcome;
      let wireBytes = 0;
      const tcpEstablished = true;
      if (via === 'stream') {
        // The target holds the address's packets until its restore: routed there before the freeze,
        // a client's segments wait in the target's kernel for the restored socket instead of being
        // dropped by the frozen source and sent again only after TCP's growing backoff.
        if (clusterAddress && prepared?.addressHeld) unroute = this.deps.addressMoving?.(clusterAddress, to);
        frozen = true;
        // step 6 lasts until the source reports its dump, step 7 until the target answers
        begin('checkpoint');
        const moved = await this.whileHealthy([from, to], (signal) =>
          target.completeMigration(grant.id, {
            signal,
            onProgress: (p) => {
              if (p.phase === 'dumped' && current.id === 'checkpoint') {
                end('checkpoint');
                begin('restore');
              } else if (p.phase === 'received') {
                current.detail = `${(p.bytes / 1e6).toFixed(1)} MB received in ${p.ms} ms; restoring`;
                onStep({ ...current });
              }
            },
          }),
        );
        if (current.id === 'checkpoint') {
          end('checkpoint');
          begin('restore');
        }
        preparedOn = undefined;
        outcome = moved;
        wireBytes = moved.wireBytes;
        phases.checkpointMs = moved.dumpMs;
        phases.transferMs = moved.timings.receiveMs;
        phases.restoreMs = moved.timings.restoreMs;
        steps[6]!.detail =
          `${(moved.bytes / 1e6).toFixed(1)} MB archive` +
          (moved.compression === 'gzip'
            ? ` (${(moved.wireBytes / 1e6).toFixed(1)} MB gzip on the wire)`
            : '') +
          ` from ${from} to ${to}; transfer ${phases.transferMs} ms ` +
          `(${(moved.bytes / 1e6 / Math.max(phases.transferMs / 1000, 0.001)).toFixed(0)} MB/s), ` +
          `restore ${phases.restoreMs} ms` +
          (moved.addressKept ? '' : '; address taken on the target: new address');
        end('restore');
      } else {
        const key = `${rec.name}.migration`;
        const ref = { group: 0, version: Date.now() % 1_000_000_000 };
        await step('checkpoint', async () => {
          frozen = true;
          const r = await source!.checkpointToStore(rec.name, key, ref, { tcpEstablished, keep: true });
          phases.checkpointMs = r.timings.dumpMs;
          phases.transferMs = r.timings.storeMs;
        });
        outcome = await step('restore', async () => {
          try {
            return await target.restoreFromStore(key, ref, {
              tcpEstablished,
              ...(clusterAddressOf(rec.spec) ? { clusterAddress: clusterAddressOf(rec.spec)! } : {}),
            });
          } finally {
            await source!.deleteCheckpoints(key).catch(() => undefined);
          }
        });
        phases.transferMs += outcome.timings.receiveMs;
        phases.restoreMs = outcome.timings.restoreMs;
        wireBytes = outcome.bytes;
        steps[6]!.detail = `${(outcome.bytes / 1e6).toFixed(1)} MB archive; transfer ${phases.transferMs} ms, restore ${phases.restoreMs} ms`;
      }
      restoredOn = target;
      // the container runs on the target: its cluster address is routed there now (if it was not before
      // the freeze), ahead of the record, whose update the hosts and this manager's routes would follow a
      // poll later; undone if the move fails
      unroute ??= clusterAddress ? this.deps.addressMoving?.(clusterAddress, to) : undefined;
      const s = outcome.info.dumpStats;
      if (s?.frozenTimeUs !== undefined) criu.frozenTimeUs = s.frozenTimeUs;
      if (s?.freezingTimeUs !== undefined) criu.freezingTimeUs = s.freezingTimeUs;
      if (s?.memdumpTimeUs !== undefined) criu.memdumpTimeUs = s.memdumpTimeUs;
      if (s?.pagesWritten !== undefined) criu.pagesWritten = s.pagesWritten;
      if (outcome.stats.restoreTimeUs !== undefined) criu.restoreTimeUs = outcome.stats.restoreTimeUs;
      if (outcome.stats.pagesRestored !== undefined) criu.pagesRestored = outcome.stats.pagesRestored;

      // The container now runs on the target: record the move before cleanup,
      // so a crash from here on leaves the record pointing at the live copy.
      const moved = await state.updateContainer(rec.name, (r) => ({
        ...r,
        node: to,
        generation: r.generation + 1,
        phase: 'running',
        note: `migrated from ${from}`,
        ...(inspect.Image ? { imageId: inspect.Image } : {}),
      }));
      recorded = true;
      frozen = false;
      // (8) delete checkpoint images and the source container
      await step('cleanup', async () => {
        const t = Date.now();
        let detail = 'source container and its kept checkpoint removed';
        try {
          await source!.remove(rec.name, true);
        } catch (err) {
          // once the move is recorded, the source's agent may remove its stale copy first (heartbeat "elsewhere")
          if (!(err instanceof LifeboatError && err.code === 'container_not_found')) throw err;
          detail = `source container already removed by ${from}'s agent (the move was recorded)`;
        }
        phases.removeMs = Date.now() - t;
        phases.deleteCheckpointMs = 0;
        steps[7]!.detail = detail;
      });
      // the source container is gone: networks and volumes whose users all moved follow them
      if (res && hasNeeds(needs))
        await res.followed(needs, from, to).catch((err: unknown) =>
          events.emit(
            'migrate.resources',
            `the records of ${rec.name}'s networks and volumes did not follow it: ${errorMessage(err)}`,
            {
              container: rec.name,
              node: to,
              level: 'warn',
            },
          ),
        );
      // (9) re-arm the ticker
      if (rec.ticker && this.deps.rearmTicker) {
        await step('ticker', async () => {
          await this.deps.rearmTicker!(rec.name);
          steps[8]!.detail = `every ${rec.ticker!.intervalMs} ms on ${to}`;
        });
      } else {
        skip(
          'ticker',
          rec.ticker ? 'no ticker service in this manager' : 'container has no checkpoint ticker',
        );
      }
      const result: MigrationResult = {
        container: rec.name,
        from,
        to,
        via,
        generation: moved.generation,
        steps,
        totalMs: Date.now() - t0,
        phases,
        criu,
        archiveBytes: outcome.bytes,
        wireBytes,
        mode: outcome.mode,
        compression: prepared?.compression ?? 'none',
        ...(prepared?.linkMBps === undefined ? {} : { linkMBps: prepared.linkMBps }),
        placement: { candidates: placement.candidates, trace: placement.trace },
      };
      events.emit('migrate.done', `migrated ${rec.name} from ${from} to ${to} in ${result.totalMs} ms`, {
        container: rec.name,
        node: to,
        fields: {
          from,
          to,
          totalMs: result.totalMs,
          frozenTimeUs: criu.frozenTimeUs,
          createMs: result.phases.createMs,
          preDumpMs: result.phases.preDumpMs,
          checkpointMs: result.phases.checkpointMs,
          transferMs: result.phases.transferMs,
          restoreMs: result.phases.restoreMs,
          removeMs: result.phases.removeMs,
        },
      });
      return result;
    } catch (err) {
      current.status = 'failed';
      current.detail = errorMessage(err);
      onStep({ ...current });
      let rolledBack = false;
      let where = `container ${rec.name} untouched on ${from}`;
      if (!recorded) unroute?.();
      if (recorded) {
        // the move is recorded and the target runs it: only cleanup failed
        where = `container ${rec.name} runs on its new host; the copy on ${from} could not be removed`;
        throw new MigrationError(current, steps, err, false, where);
      }
      let targetNote = '';
      // a target the failure detector gave up on is not asked anything: it would only hold the answer up
      const targetFailed = err instanceof HostFailedDuringMoveError && err.node === preparedOn?.target.name;
      if (preparedOn && !frozen) {
        await withDeadline(
          preparedOn.target.discardMigration(preparedOn.grant),
          CLEANUP_DEADLINE_MS,
          'discard',
        ).catch(() => undefined);
      } else if ((preparedOn || restoredOn) && !targetFailed) {
        // never two copies: the target may have restored before its answer was lost; drop its copy first
        const t = preparedOn?.target ?? restoredOn!;
        await withDeadline(
          t.remove(rec.name, true),
          CLEANUP_DEADLINE_MS,
          `remove ${rec.name} on ${t.name}`,
        ).catch((rmErr: unknown) => {
          if (!(rmErr instanceof LifeboatError && rmErr.code === 'container_not_found'))
            targetNote = `; ${t.name} could not be asked to drop its copy (${errorMessage(rmErr)}): if it restored one, it fences it when cut off (restore-policy containers) or the next heartbeat reconciles it`;
        });
      } else if (targetFailed) {
        targetNote = `; ${preparedOn!.target.name} failed: if it comes back with a copy, reconciliation removes it`;
      }
      if (frozen && source) {
        const address = clusterAddressOf(rec.spec);
        try {
          const still = await source.inspect(rec.name);
          if (!still.State.Running)
            await source.restoreInPlace(rec.name, {
              tcpEstablished: true,
              // taken back on the source first: the target may already route it away from here
              ...(address ? { clusterAddress: address } : {}),
            });
          rolledBack = true;
          where = `container ${rec.name} restored and running again on ${from}`;
        } catch (rbErr) {
          where = `ROLLBACK FAILED, container ${rec.name} is stopped on ${from}: ${errorMessage(rbErr)}; ${afterLostSource(rec.restorePolicy, from)}`;
        }
      }
      where += targetNote;
      await state.updateContainer(rec.name, (r) => ({ ...r, phase: 'running' })).catch(() => undefined);
      events.emit(
        'migrate.failed',
        `migration of ${rec.name} failed at step ${current.n}: ${errorMessage(err)}; ${where}`,
        {
          container: rec.name,
          node: from,
          level: 'error',
        },
      );
      throw new MigrationError(current, steps, err, rolledBack, where);
    }
  }
}

/** One of the two hosts of a move was declared failed while it was frozen: the move is called off. */
class HostFailedDuringMoveError extends LifeboatError {
  readonly node: string;
  constructor(node: string) {
    super('host_failed', `host ${node} was declared failed during the move`, { status: 503 });
    this.node = node;
  }
}

/** How long a failed move waits for the target to drop what it prepared or restored. */
const CLEANUP_DEADLINE_MS = 5_000;

/** What becomes of a container whose source host stopped answering in the middle of a move. */
function afterLostSource(policy: string | undefined, from: string): string {
  if (policy === 'checkpoint')
    return `if ${from} is dead, the rescheduler restores the container from its newest checkpoint once ${from} is declared failed (Algorithm 2)`;
  if (policy === 'on-node-failure')
    return `if ${from} is dead, the rescheduler starts the container afresh elsewhere once ${from} is declared failed`;
  return `it has no restore policy: it runs again only if ${from} comes back`;
}
