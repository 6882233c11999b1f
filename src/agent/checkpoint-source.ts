import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { packDirectory } from '../checkpoint/archive/pack-directory.ts';
import type { PodmanClient } from '../engine/podman-client.ts';
import type { CheckpointOptions, ContainerInspect } from '../engine/types.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import type { SourcePreparation, TransferMode } from '../node-api/node-client.ts';
import { removeRootfsDiff, writeRootfsDiff, type HostCommand, type RootfsDiff } from './rootfs-diff.ts';

/** The source's side of SourcePreparation (the agent adds its gzip speed). */
export type SourcePlan = Omit<SourcePreparation, 'gzipMBps'>;

/** Members Podman's export takes from the container directory besides the CRIU images, in its order. */
const TOP_MEMBERS = [
  'devshm-checkpoint.tar',
  'config.dump',
  'spec.dump',
  'network.status',
  'stats-dump',
  'ctr.log',
];
const IMAGE_DIRS = ['artifacts', 'checkpoint', 'pre-checkpoint'];

function bundleOf(c: ContainerInspect): string {
  if (!c.StaticDir)
    throw new LifeboatError('no_container_dir', `Podman did not report the directory of ${c.Name}`);
  return c.StaticDir;
}

/**
 * The source side of a move: before the freeze, the configuration the target
 * needs to create the container; at the freeze, a CRIU dump into the
 * container's own directory (no export: Podman would tar it into a temporary
 * file first), streamed at once as the same archive Podman's export writes.
 * Rollback stays Podman's: the dump is taken with `keep`, so a failed move
 * restores from the images left in place.
 */
export class CheckpointSource {
  constructor(
    private readonly podman: PodmanClient,
    private readonly log: Logger,
    private readonly inHost?: HostCommand,
  ) {}

  async prepare(name: string): Promise<SourcePlan> {
    const c = await this.podman.inspectContainer(name);
    if (!c.State.Running) {
      throw new LifeboatError('not_running', `container ${name} is not running`, {
        status: 409,
        hint: 'only a running container can be migrated live; `docker start` it first',
      });
    }
    const volumes = (c.Mounts ?? []).filter((m) => m.Type === 'volume').map((m) => m.Name ?? m.Destination);
    if (volumes.length > 0) {
      return {
        containerId: c.Id,
        mode: 'import',
        reason: `named volumes (${volumes.join(', ')}) travel only in Podman's export`,
      };
    }
    const dir = bundleOf(c);
    if (existsSync(join(dir, 'pre-checkpoint'))) {
      // a pre-dump is there: the configuration request would start a real incremental dump
      return {
        containerId: c.Id,
        mode: 'import',
        reason: 'a pre-dump is waiting in the container directory',
      };
    }
    try {
      await this.podman.writeCheckpointConfig(name);
      return {
        containerId: c.Id,
        mode: 'prepared',
        configDump: readFileSync(join(dir, 'config.dump')),
        specDump: readFileSync(join(dir, 'spec.dump')),
      };
    } catch (err) {
      this.log.warn(
        "cannot read the container's checkpoint configuration: Podman's export/import will move it",
        {
          container: name,
          error: errorMessage(err),
        },
      );
      return {
        containerId: c.Id,
        mode: 'import',
        reason: `no checkpoint configuration: ${errorMessage(err)}`,
      };
    }
  }

  /**
   * Freezes and dumps the container (`keep` is always set: the images are
   * the way back), then streams the archive. The returned stream errors if
   * anything fails while it is produced; the container's directory is left
   * as Podman's own export leaves it.
   */
  async dump(
    name: string,
    mode: TransferMode,
    opts: CheckpointOptions,
  ): Promise<{ archive: Readable; dumpMs: number }> {
    const t0 = Date.now();
    if (mode === 'import') {
      const archive = await this.podman.checkpointExport(name, { ...opts, keep: true });
      return { archive, dumpMs: Date.now() - t0 };
    }
    const c = await this.podman.inspectContainer(name);
    const dir = bundleOf(c);
    // images of an earlier dump would be streamed along with this one's
    if (c.State.Running && !opts.withPrevious)
      rmSync(join(dir, 'checkpoint'), { recursive: true, force: true });
    // CRIU's statistics go along in the archive (stats-dump)
    await this.podman.checkpoint(name, { ...opts, keep: true, printStats: true });
    const dumpMs = Date.now() - t0;
    // computed while the images stream; it goes last, as in Podman's export
    const diff = writeRootfsDiff(this.podman, name, dir, this.inHost);
    diff.catch(() => undefined);
    return { archive: this.members(dir, diff), dumpMs };
  }

  private members(dir: string, diff: Promise<RootfsDiff>): Readable {
    const names = async function* (): AsyncGenerator<string> {
      for (const name of [...TOP_MEMBERS, ...IMAGE_DIRS]) if (existsSync(join(dir, name))) yield name;
      yield* (await diff).members;
    };
    const archive = packDirectory(dir, names());
    // as Podman's export does, the diff members go once they are packed (or the stream failed)
    archive.once(
      'close',
      () =>
        void diff.then(
          (d) => removeRootfsDiff(dir, d.members),
          () => undefined,
        ),
    );
    return archive;
  }
}
