import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream, createEncryptStream, type Keyring } from '../../checkpoint/crypto/index.ts';
import { ValidationError } from '../../util/errors.ts';
import { CheckpointExistsError, NoSuchCheckpointError } from './errors.ts';
import type { DockerCheckpoint } from './types.ts';
import { validateCheckpointDir, validateCheckpointId, validateContainerName } from './validate.ts';

const PLAIN_SUFFIX = '.tar';
/** An archive sealed with the cluster key (src/checkpoint/crypto): not a tar until decrypted. */
const SEALED_SUFFIX = '.tar.sealed';

/**
 * Checkpoints made through the Docker API, one archive file each:
 * `<dir>/<container name>/<checkpoint ID>.tar`, where `<dir>` is the
 * client's CheckpointDir or this store's base directory. One file per
 * checkpoint keeps shared filesystems fast (see HOST-FACTS: GlusterFS).
 */
export class CheckpointArchives {
  readonly baseDir: string;
  private readonly suffix: string;

  /**
   * With `keyring` every archive is encrypted and authenticated (AES-256-GCM,
   * chunked, bound to its container and checkpoint ID) under the cluster key:
   * it holds the container's memory. Without it archives are plain tar files.
   */
  constructor(
    baseDir: string,
    private readonly keyring?: Keyring,
  ) {
    const dir = validateCheckpointDir(baseDir);
    if (dir === undefined) throw new Error('checkpoint base directory is required');
    this.baseDir = dir;
    this.suffix = keyring ? SEALED_SUFFIX : PLAIN_SUFFIX;
  }

  get sealed(): boolean {
    return this.keyring !== undefined;
  }

  dirOf(container: string, dir?: string): string {
    return join(validateCheckpointDir(dir) ?? this.baseDir, validateContainerName(container));
  }

  pathOf(container: string, checkpoint: string, dir?: string): string {
    return join(this.dirOf(container, dir), validateCheckpointId(checkpoint) + this.suffix);
  }

  async exists(container: string, checkpoint: string, dir?: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(container, checkpoint, dir))).isFile();
    } catch {
      return false;
    }
  }

  /** Opens an archive for reading; 404 when it is not there. */
  async open(
    container: string,
    checkpoint: string,
    dir?: string,
  ): Promise<{ path: string; stream: Readable }> {
    const path = this.pathOf(container, checkpoint, dir);
    if (!(await this.exists(container, checkpoint, dir)))
      throw new NoSuchCheckpointError(container, checkpoint, this.dirOf(container, dir));
    const file = createReadStream(path);
    if (!this.keyring) return { path, stream: file };
    // plaintext leaves only chunk by authenticated chunk; a flipped byte or a cut end is an error naming the checkpoint
    const plain = createDecryptStream(this.keyring, {
      context: sealContext(container, checkpoint),
      location: { container, dockerCheckpoint: checkpoint },
    });
    file.on('error', (err) => plain.destroy(err));
    plain.on('close', () => file.destroy());
    return { path, stream: file.pipe(plain) };
  }

  /**
   * Writes an archive under a temporary name, flushed to disk, then links it
   * into place: a reader never sees half an archive, and an existing
   * checkpoint is never overwritten (409).
   */
  async write(
    container: string,
    checkpoint: string,
    source: () => Promise<Readable>,
    dir?: string,
  ): Promise<string> {
    const path = this.pathOf(container, checkpoint, dir);
    if (await this.exists(container, checkpoint, dir)) throw new CheckpointExistsError(container, checkpoint);
    try {
      await makeDirs(this.dirOf(container, dir));
    } catch (err) {
      throw unusableDir(dir, err);
    }
    const tmp = `${path}.partial-${process.pid}-${Date.now()}`;
    try {
      // An archive holds the container's whole memory: readable by its owner (root) only.
      const sink = createWriteStream(tmp, { flush: true, mode: 0o600 });
      if (this.keyring)
        await pipeline(
          await source(),
          createEncryptStream(this.keyring, { context: sealContext(container, checkpoint) }),
          sink,
        );
      else await pipeline(await source(), sink);
      try {
        await link(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw new CheckpointExistsError(container, checkpoint);
        throw err;
      }
    } finally {
      await rm(tmp, { force: true });
    }
    return path;
  }

  /** Oldest first; an absent directory is an empty list. */
  async list(container: string, dir?: string): Promise<DockerCheckpoint[]> {
    const d = this.dirOf(container, dir);
    let names: string[];
    try {
      names = await readdir(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw unusableDir(dir, err);
    }
    const found: { name: string; mtime: number }[] = [];
    for (const n of names) {
      if (!n.endsWith(this.suffix)) continue;
      try {
        const s = await stat(join(d, n));
        if (s.isFile()) found.push({ name: n.slice(0, -this.suffix.length), mtime: s.mtimeMs });
      } catch {
        // removed meanwhile
      }
    }
    found.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name));
    return found.map((f) => ({ Name: f.name }));
  }

  async remove(container: string, checkpoint: string, dir?: string): Promise<void> {
    try {
      await unlink(this.pathOf(container, checkpoint, dir));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR')
        throw new NoSuchCheckpointError(container, checkpoint, this.dirOf(container, dir));
      throw unusableDir(dir, err);
    }
  }

  /** Drops every checkpoint of a container in the base directory (client-chosen directories are the client's). */
  async removeAll(container: string): Promise<void> {
    await rm(this.dirOf(container), { recursive: true, force: true });
  }
}

/** Binds a sealed archive to its checkpoint: renamed to another one, it fails authentication. */
function sealContext(container: string, checkpoint: string): string {
  return `lifeboat docker checkpoint\0${container}\0${checkpoint}`;
}

/**
 * A directory the client named (CheckpointDir, checkpoint-dir, dir) that
 * cannot hold checkpoints is the client's mistake: a 400 naming it. The
 * backend's own directory failing stays a server error.
 */
function unusableDir(dir: string | undefined, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (dir === undefined || code === undefined) return err;
  return new ValidationError(
    `checkpoint directory "${dir}" cannot hold checkpoints (${code})`,
    'name a directory the engine host can create and write, or leave the directory out',
  );
}

/**
 * `mkdir -p` one level at a time, new directories 0700 (existing ones, such
 * as a client's /tmp, keep their mode). Node's recursive mkdir never returns for
 * a path below /proc/self (mkdir answers ENOENT under an existing parent
 * and Node retries forever, pinning a libuv thread), and the directory
 * here can be the client's.
 */
export async function makeDirs(dir: string): Promise<void> {
  let path = '';
  for (const part of dir.split('/').filter((p) => p !== '')) {
    path += `/${part}`;
    try {
      await mkdir(path, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
