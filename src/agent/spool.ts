import { once } from 'node:events';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { validateArchive, type ArchiveInfo } from '../checkpoint/archive/index.ts';
import { fsSpace, SpoolFullError } from '../checkpoint/store/space.ts';

/** Room for an archive of about `expectedBytes` in the spool (and 64 MiB to spare), before a dump starts. */
export async function checkSpoolSpace(spoolDir: string, expectedBytes: number): Promise<void> {
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const { availableBytes } = await fsSpace(spoolDir);
  if (availableBytes < expectedBytes + SPOOL_SPARE_BYTES)
    throw new SpoolFullError(spoolDir, expectedBytes, availableBytes);
}

const SPOOL_SPARE_BYTES = 64 * 1024 ** 2;

/**
 * Receives a checkpoint archive into a private spool file (0600) while
 * validating it in the same pass. Podman only ever sees archives that passed
 * validation in full: a hostile member at the very end is refused before
 * restore begins, and the spool file is removed.
 */
export async function spoolAndValidate(
  input: Readable | AsyncIterable<Uint8Array>,
  spoolDir: string,
): Promise<{ path: string; info: ArchiveInfo; bytes: number; remove: () => void }> {
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const path = join(spoolDir, `restore-${Date.now()}-${randomBytes(4).toString('hex')}.tar`);
  const remove = (): void => rmSync(path, { force: true });
  const out = createWriteStream(path, { mode: 0o600 });
  const feed = new PassThrough({ highWaterMark: 1 << 20 });
  let failure: unknown;
  const validating = validateArchive(feed).catch((err: unknown) => {
    failure = err;
    feed.resume();
    throw err;
  });
  // observed here so an early rejection is never "unhandled"; it is rethrown below
  validating.catch(() => undefined);
  let bytes = 0;
  try {
    for await (const chunk of input as AsyncIterable<Uint8Array>) {
      if (failure) break;
      bytes += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
      if (!feed.write(chunk) && !failure)
        await Promise.race([once(feed, 'drain'), validating.catch(() => undefined)]);
    }
    feed.end();
    out.end();
    await finished(out);
    const info = await validating;
    return { path, info, bytes, remove };
  } catch (err) {
    out.destroy();
    feed.destroy();
    remove();
    throw failure ?? err;
  }
}
