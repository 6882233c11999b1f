import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type {
  Compression,
  MigrationOutcome,
  MigrationProgress,
  PeerDialer,
  PeerRef,
  PeerSource,
  PreparedMigration,
  PrepareMigrationRequest,
  RestoreOutcome,
  RestoreRequest,
  TransferMode,
} from '../node-api/node-client.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import type { PreparedContainer, PreparedRestore } from './prepared-restore.ts';

/** Bytes measured for `auto` compression before the freeze. */
export const PROBE_BYTES = 4 * 1024 * 1024;
/** A prepared container nobody completes is removed after this long. */
const ABANDON_AFTER_MS = 5 * 60_000;

interface Pending {
  req: PrepareMigrationRequest;
  peer: PeerSource;
  mode: TransferMode;
  compression: Compression;
  container: PreparedContainer | undefined;
  timer: NodeJS.Timeout;
  /** The cluster address whose packets this host holds until the restore. */
  held: string | undefined;
}

/** A cluster address's packets held on this host through a move (host-routes.ts). */
export interface AddressHold {
  hold(ip: string): Promise<boolean>;
  /** The container `containerId` holding `ip` runs here: the held packets go to it. */
  release(ip: string, containerId: string): Promise<void>;
  unhold(ip: string): Promise<void>;
}

export interface MigrationTargetDeps {
  restorer: PreparedRestore;
  /** Holds a cluster address's packets from the prepare to the restore; none without a cluster network. */
  addressHold?: AddressHold;
  /** Whole-archive restore (Podman's import) for mode `import`. */
  restoreArchive: (input: Readable, opts: RestoreRequest) => Promise<RestoreOutcome>;
  dial: PeerDialer;
  log: Logger;
}

export class NoPreparedMigrationError extends LifeboatError {
  constructor(grant: string) {
    super('migration_not_prepared', `no migration prepared here under grant ${grant.slice(0, 8)}…`, {
      status: 404,
      hint: 'prepare it first (it is dropped when completed, discarded, or left alone for 5 minutes)',
    });
  }
}

/**
 * The target side of a move. `prepare` runs before the source freezes: it
 * asks the source for the container's checkpoint configuration and creates
 * the container here from it (and measures the link for `auto`
 * compression). `complete` has the source dump and stream the archive, which
 * is checked, unpacked into the prepared container and restored. Whatever
 * fails, the prepared container is removed unless it runs.
 */
export class MigrationTarget {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly deps: MigrationTargetDeps) {}

  async prepare(req: PrepareMigrationRequest): Promise<PreparedMigration> {
    const t0 = Date.now();
    if (this.pending.has(req.grant))
      throw new LifeboatError('migration_exists', 'this migration is already prepared', { status: 409 });
    const peer = this.deps.dial(req.source);
    const here = this.deps.restorer.supported();
    here.catch(() => undefined);
    const src = await peer.prepareCheckpoint(req.grant);
    let mode = src.mode;
    let reason = src.reason;
    if (mode === 'prepared') {
      const s = await here;
      if (!s.ok) [mode, reason] = ['import', s.reason];
    }
    let linkMBps: number | undefined;
    let compression: Compression = req.compression === 'auto' ? 'none' : req.compression;
    if (req.compression === 'auto') {
      linkMBps = await measureLink(peer, req.grant);
      // compress only when the link is the bottleneck: gzip must outrun it with room to spare
      compression = linkMBps < 0.8 * src.gzipMBps ? 'gzip' : 'none';
    }
    let container: PreparedContainer | undefined;
    if (mode === 'prepared') {
      if (!src.configDump || !src.specDump)
        throw new LifeboatError('bad_peer_answer', `${req.source.name} sent no checkpoint configuration`, {
          status: 502,
        });
      container = await this.deps.restorer.create(src.configDump, src.specDump);
    }
    // from here the address may be routed here (ahead of the freeze): its packets wait for the restore
    const ip = req.clusterAddress;
    const held = ip !== undefined && this.deps.addressHold ? await this.deps.addressHold.hold(ip) : false;
    const timer = setTimeout(() => {
      this.deps.log.warn('a prepared migration was never completed: removing it', {
        container: req.container,
      });
      void this.discard(req.grant).catch(() => undefined);
    }, ABANDON_AFTER_MS);
    timer.unref();
    this.pending.set(req.grant, {
      req,
      peer,
      mode,
      compression,
      container,
      timer,
      held: held ? ip : undefined,
    });
    this.deps.log.info('migration prepared', {
      container: req.container,
      from: req.source.name,
      mode,
      ...(reason ? { reason } : {}),
      compression,
      ...(linkMBps === undefined ? {} : { linkMBps: Math.round(linkMBps) }),
    });
    return {
      mode,
      ...(reason ? { reason } : {}),
      containerId: src.containerId,
      compression,
      ...(linkMBps === undefined ? {} : { linkMBps }),
      prepareMs: Date.now() - t0,
      ...(held ? { addressHeld: true } : {}),
    };
  }

  async complete(
    grant: string,
    opts: { onProgress?: (p: MigrationProgress) => void; signal?: AbortSignal } = {},
  ): Promise<MigrationOutcome> {
    const p = this.pending.get(grant);
    if (!p) throw new NoPreparedMigrationError(grant);
    this.pending.delete(grant);
    clearTimeout(p.timer);
    const progress = opts.onProgress ?? (() => undefined);
    let archive: Readable | undefined;
    const abort = (): void =>
      void archive?.destroy(new LifeboatError('migration_aborted', 'the migration was called off'));
    opts.signal?.addEventListener('abort', abort, { once: true });
    try {
      opts.signal?.throwIfAborted();
      const dumped = await p.peer.dumpCheckpoint(grant, { mode: p.mode, compression: p.compression });
      archive = dumped.archive;
      if (opts.signal?.aborted) abort();
      progress({ phase: 'dumped', dumpMs: dumped.dumpMs });
      let wireBytes = 0;
      const counted = archive.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            wireBytes += chunk.length;
            cb(null, chunk);
          },
        }),
      );
      archive.on('error', (err) => counted.destroy(err));
      const plain = p.compression === 'gzip' ? counted.pipe(createGunzip()) : counted;
      if (plain !== counted) counted.on('error', (err) => plain.destroy(err));
      const t0 = Date.now();
      let outcome: RestoreOutcome;
      if (p.container) {
        const info = await this.deps.restorer.receive(p.container, plain);
        const receiveMs = Date.now() - t0;
        this.deps.log.debug('archive received', {
          container: p.req.container,
          bytes: info.archiveBytes,
          wireBytes,
          ms: receiveMs,
          MBps: Math.round(wireBytes / 1e3 / Math.max(receiveMs, 1)),
        });
        progress({ phase: 'received', bytes: info.archiveBytes, wireBytes, ms: receiveMs });
        const t1 = Date.now();
        // a cluster-network address never gives way to a new one: the move fails instead
        const r = await this.deps.restorer.restore(p.container, {
          tcpEstablished: info.tcpEstablished,
          ...(p.req.clusterAddress ? { ignoreStaticIp: false } : {}),
        });
        outcome = {
          id: r.result.id,
          name: p.container.name,
          info,
          stats: r.result.stats,
          timings: { receiveMs, restoreMs: Date.now() - t1 },
          bytes: info.archiveBytes,
          mode: 'prepared',
          addressKept: r.addressKept,
        };
      } else {
        outcome = await this.deps.restoreArchive(
          plain,
          p.req.clusterAddress ? { clusterAddress: p.req.clusterAddress } : {},
        );
        progress({ phase: 'received', bytes: outcome.bytes, wireBytes, ms: outcome.timings.receiveMs });
      }
      await this.release(p, outcome.id);
      return { ...outcome, dumpMs: dumped.dumpMs, wireBytes, compression: p.compression };
    } catch (err) {
      archive?.destroy();
      if (p.container) await this.deps.restorer.discard(p.container).catch(() => undefined);
      if (p.held) await this.deps.addressHold?.unhold(p.held);
      this.deps.log.warn('migration failed on the target', {
        container: p.req.container,
        from: p.req.source.name,
        error: errorMessage(err),
      });
      if (err instanceof LifeboatError) throw err;
      // a bare stream error ("aborted", ECONNRESET): the source's side of the connection went away
      throw new LifeboatError(
        'transfer_cut',
        `the archive from ${p.req.source.name} broke off (${errorMessage(err)}); nothing was restored here`,
        { status: 502, cause: err },
      );
    } finally {
      opts.signal?.removeEventListener('abort', abort);
    }
  }

  /** A client of another agent's source side. */
  dialer(ref: PeerRef): PeerSource {
    return this.deps.dial(ref);
  }

  async discard(grant: string): Promise<void> {
    const p = this.pending.get(grant);
    if (!p) return;
    this.pending.delete(grant);
    clearTimeout(p.timer);
    if (p.held) await this.deps.addressHold?.unhold(p.held);
    if (p.container) await this.deps.restorer.discard(p.container);
  }

  /** The restored container takes the packets held for its address; a release that fails drops them (TCP resends). */
  private async release(p: Pending, containerId: string): Promise<void> {
    const ip = p.held;
    if (ip === undefined || !this.deps.addressHold) return;
    await this.deps.addressHold.release(ip, containerId).catch(async (err: unknown) => {
      this.deps.log.warn('could not hand the held packets to the restored container', {
        container: p.req.container,
        ip,
        error: errorMessage(err),
      });
      await this.deps.addressHold?.unhold(ip);
    });
  }
}

async function measureLink(peer: PeerSource, grant: string): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const chunk of await peer.probe(grant, PROBE_BYTES)) n += (chunk as Buffer).length;
  const s = (performance.now() - t0) / 1000;
  return n / 1e6 / Math.max(s, 1e-6);
}
