import { createReadStream, createWriteStream, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { makeDirs } from '../api/docker/checkpoint-archives.ts';
import { validateCheckpointDir } from '../api/docker/validate.ts';
import { softDirtyUnsupported } from '../engine/errors.ts';
import { errorMessage, LifeboatError, ValidationError } from '../util/errors.ts';
import type { ClusterState } from './cluster-state.ts';
import { ContainerNotInClusterError } from './cluster-state.ts';
import type { EventLog } from './events.ts';
import { ensureImage } from './images.ts';
import type { NodeDirectory } from './node-directory.ts';

/**
 * The thesis' `checkpoint` and `restore` commands (3.1.1) for one container:
 * the archive goes to (and comes from) a directory the operator names, with
 * CRIU's statistics beside it in the work directory.
 */
export interface CheckpointCommand {
  container: string;
  /** Where the checkpoint archive is written (`<imageDir>/<container>.tar`). */
  imageDir: string;
  /** Where the log of the dump (timings, CRIU statistics) is written; default imageDir. */
  workDir?: string;
  leaveRunning?: boolean;
  /** Pre-dump memory first (needs soft-dirty tracking on the host). */
  preDump?: boolean;
  preImageDir?: string;
  /** Track memory against a previous image (needs soft-dirty tracking). */
  trackMem?: boolean;
  tcpEstablished?: boolean;
}

export interface RestoreCommand {
  container: string;
  imageDir: string;
  workDir?: string;
  /** Restore even if a container of that name runs, replacing it. */
  force?: boolean;
  /** Host to restore on (default: where the container's record says, else any healthy host). */
  node?: string;
}

/**
 * An operator-given directory: the Docker API's checkpoint-directory rules
 * (absolute, no `..`, no NUL, bounded length), and never a kernel file system.
 */
export function checkDir(dir: string, what: string): string {
  let checked: string | undefined;
  try {
    checked = validateCheckpointDir(dir);
  } catch (err) {
    throw new ValidationError(`${what}: ${(err as Error).message}`);
  }
  if (checked === undefined) throw new ValidationError(`${what} is required`);
  if (/^\/(proc|sys|dev)(\/|$)/.test(checked))
    throw new ValidationError(`${what} "${checked}" is a kernel file system, not a place for archives`);
  return checked;
}

export class CheckpointCommands {
  constructor(
    private readonly o: {
      state: ClusterState;
      nodes: NodeDirectory;
      events: EventLog;
      exclusive: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
    },
  ) {}

  async checkpoint(
    c: CheckpointCommand,
  ): Promise<{ archive: string; bytes: number; ms: number; node: string }> {
    const imageDir = checkDir(c.imageDir, '--image-dir');
    const workDir = checkDir(c.workDir ?? c.imageDir, '--work-dir');
    if (c.preImageDir) checkDir(c.preImageDir, '--pre-image-dir');
    const rec = (await this.o.state.container(c.container))?.record;
    if (!rec) throw new ContainerNotInClusterError(c.container);
    const host = (await this.o.nodes.healthy()).find((n) => n.report.name === rec.node);
    if (!host)
      throw new LifeboatError('host_unavailable', `host ${rec.node} of ${c.container} is not healthy`, {
        status: 409,
      });
    if ((c.preDump || c.trackMem) && !host.report.capabilities.canPreDump) throw softDirtyUnsupported();
    return this.o.exclusive(c.container, async () => {
      const node = this.o.nodes.client(rec.node);
      // one level at a time: a client-chosen path below /proc would hang a recursive mkdir
      await makeDirs(imageDir).catch((e: unknown) => {
        throw new ValidationError(`--image-dir ${imageDir} cannot be created: ${String(e)}`);
      });
      await makeDirs(workDir).catch((e: unknown) => {
        throw new ValidationError(`--work-dir ${workDir} cannot be created: ${String(e)}`);
      });
      const t0 = Date.now();
      if (c.preDump) await node.preDump(c.container);
      const archive = join(imageDir, `${c.container}.tar`);
      const tmp = `${archive}.partial`;
      const stream = await node.checkpointStream(c.container, {
        leaveRunning: c.leaveRunning ?? false,
        tcpEstablished: c.tcpEstablished ?? true,
        ...(c.preDump || c.trackMem ? { withPrevious: true } : {}),
      });
      const out = createWriteStream(tmp, { mode: 0o600 });
      let bytes = 0;
      (stream as Readable).on('data', (d: Buffer) => (bytes += d.length));
      await pipeline(stream as Readable, out);
      renameSync(tmp, archive);
      const ms = Date.now() - t0;
      writeFileSync(
        join(workDir, `${c.container}.checkpoint.json`),
        JSON.stringify(
          {
            container: c.container,
            node: rec.node,
            archive,
            bytes,
            ms,
            at: new Date().toISOString(),
            leaveRunning: c.leaveRunning ?? false,
          },
          null,
          2,
        ),
        { mode: 0o600 },
      );
      if (!c.leaveRunning)
        await this.o.state.updateContainer(c.container, (r) => ({
          ...r,
          phase: 'stopped',
          note: `checkpointed to ${archive}`,
        }));
      this.o.events.emit(
        'checkpoint.manual',
        `checkpointed ${c.container} on ${rec.node} to ${archive} (${(bytes / 1e6).toFixed(1)} MB, ${ms} ms)`,
        {
          container: c.container,
          node: rec.node,
        },
      );
      return { archive, bytes, ms, node: rec.node };
    });
  }

  async restore(c: RestoreCommand): Promise<{ node: string; ms: number; generation: number }> {
    const imageDir = checkDir(c.imageDir, '--image-dir');
    const workDir = checkDir(c.workDir ?? c.imageDir, '--work-dir');
    const archive = join(imageDir, `${c.container}.tar`);
    if (!existsSync(archive)) {
      throw new LifeboatError('no_archive', `no checkpoint archive ${archive}`, {
        status: 404,
        hint: 'take one with `lifeboat checkpoint --image-dir`',
      });
    }
    const healthy = await this.o.nodes.healthy();
    const known = (await this.o.state.container(c.container))?.record;
    const nodeName =
      c.node ??
      (known && healthy.some((n) => n.report.name === known.node) ? known.node : healthy[0]?.report.name);
    if (!nodeName || !healthy.some((n) => n.report.name === nodeName)) {
      throw new LifeboatError('host_unavailable', `host ${nodeName ?? '(none)'} is not healthy`, {
        status: 409,
        hint: '`lifeboat node ls`',
      });
    }
    return this.o.exclusive(c.container, async () => {
      const rec = (await this.o.state.container(c.container))?.record;
      const node = this.o.nodes.client(nodeName);
      const t0 = Date.now();
      // a running copy anywhere blocks the restore unless --force: never two copies
      if (rec) {
        const holder = this.o.nodes.client(rec.node);
        const running = await holder.inspect(c.container).then(
          (i) => i.State.Running,
          () => false,
        );
        if (running && !c.force) {
          throw new LifeboatError('container_running', `container ${c.container} is running on ${rec.node}`, {
            status: 409,
            hint: 'stop it first, or pass --force to replace it',
          });
        }
        // Until the record names the target, a heartbeat from it must not call the restored copy one
        // that runs elsewhere: its agent would remove it (the phase says a restore is under way).
        await this.o.state.updateContainer(c.container, (r) => ({
          ...r,
          phase: 'restoring',
          movingTo: nodeName,
          note: `restoring from ${archive} on ${nodeName}`,
        }));
        await holder.remove(c.container, true).catch(() => undefined);
      }
      let out: Awaited<ReturnType<typeof node.restoreFromStream>>;
      try {
        if (rec?.spec.image)
          await ensureImage(
            this.o.nodes,
            node,
            { ref: rec.spec.image },
            healthy.map((n) => this.o.nodes.client(n.report.name)),
          );
        out = await node.restoreFromStream(createReadStream(archive), {});
      } catch (err) {
        // its copy on the old host is gone (removed above): nothing runs, the archive is still there
        if (rec)
          await this.o.state
            .updateContainer(c.container, (r) => ({
              ...r,
              phase: 'stopped',
              note: `restore from ${archive} on ${nodeName} failed: ${errorMessage(err)}`,
            }))
            .catch(() => undefined);
        throw err;
      }
      const ms = Date.now() - t0;
      let generation = 1;
      if (rec) {
        const next = await this.o.state.updateContainer(c.container, (r) => ({
          ...r,
          node: nodeName,
          generation: r.generation + 1,
          phase: 'running',
          note: `restored from ${archive}`,
        }));
        generation = next.generation;
      }
      writeFileSync(
        join(workDir, `${c.container}.restore.json`),
        JSON.stringify(
          {
            container: c.container,
            node: nodeName,
            archive,
            ms,
            stats: out.stats,
            at: new Date().toISOString(),
          },
          null,
          2,
        ),
        { mode: 0o600 },
      );
      this.o.events.emit(
        'restore.manual',
        `restored ${c.container} on ${nodeName} from ${archive} in ${ms} ms`,
        { container: c.container, node: nodeName },
      );
      return { node: nodeName, ms, generation };
    });
  }
}
