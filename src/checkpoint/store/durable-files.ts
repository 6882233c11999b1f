import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { basename, dirname, join } from 'node:path';
import { tempName } from './layout.ts';

export const privateDirMode = 0o700;
export const privateFileMode = 0o600;

export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: privateDirMode });
}

/**
 * Makes renames in `dir` survive a power loss. Some filesystems (FUSE ones
 * among them) refuse fsync on a directory; their renames are then as durable
 * as they make them.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    if (!['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EISDIR', 'EBADF'].includes(errnoCode(err) ?? ''))
      throw err;
  } finally {
    await fh.close();
  }
}

/** Writes `data` to a hidden temp file beside `path`, fsyncs it, then renames it into place. */
export async function writeFileDurably(path: string, data: string): Promise<void> {
  const tmp = join(dirname(path), tempName(basename(path)));
  try {
    const fh = await open(tmp, 'wx', privateFileMode);
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/**
 * A Writable over an open handle that fsyncs in `final`, so a pipeline into
 * it resolves only once the bytes are on stable storage. (A FileHandle's own
 * write stream with autoClose: false keeps the handle referenced and makes
 * close() wait forever.)
 */
export function durableSink(fh: FileHandle): Writable {
  const writeAll = async (buf: Buffer) => {
    for (let off = 0; off < buf.length;) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
  };
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writeAll(chunk).then(() => callback(), callback);
    },
    final(callback) {
      fh.sync().then(() => callback(), callback);
    },
  });
}
