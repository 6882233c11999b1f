import { constants } from 'node:fs';
import { open, readFile, rename, unlink, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StoreLockedError } from './errors.ts';

/**
 * Replaces `path` with `data` so that a crash at any moment leaves either the
 * old or the new content: write a temp file beside it, fsync it, rename it
 * over the target, fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<path>.lock` (holding our pid) so that two managers never write the
 * same state file. A lock left by a dead process is taken over. Resolves to a
 * release function.
 */
export async function lockFile(path: string): Promise<() => Promise<void>> {
  const lock = `${path}.lock`;
  await mkdir(dirname(lock), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(lock, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`, 'utf8');
      } finally {
        await fh.close();
      }
      return async () => {
        await unlink(lock).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
    // Our own pid counts as taken: a second open in this process would clobber the first.
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) throw new StoreLockedError(path, holder);
    await unlink(lock).catch(() => undefined);
  }
  throw new StoreLockedError(path, 0);
}
