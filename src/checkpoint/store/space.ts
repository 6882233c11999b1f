import { readdir, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LifeboatError } from '../../util/errors.ts';

/** Bytes an unprivileged write may still use on the file system holding `dir`, and its size. */
export interface FsSpace {
  availableBytes: number;
  totalBytes: number;
}

/** The file system `dir` will be on: its nearest existing ancestor's (a store's root appears at its first write). */
export async function fsSpace(dir: string): Promise<FsSpace> {
  let at = dir;
  for (;;) {
    try {
      const s = await statfs(at);
      return { availableBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    } catch (err) {
      const parent = dirname(at);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw err;
      at = parent;
    }
  }
}

/** The free space a store keeps by default: 5% of its file system, at most 1 GiB. */
export function defaultReserveBytes(totalBytes: number): number {
  return Math.min(1024 ** 3, Math.floor(totalBytes * 0.05));
}

/** Bytes of every file under `dir` (0 when it does not exist). */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await treeBytes(p);
    else if (e.isFile()) total += (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

const MB = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/** The store's file system has too little free space left for another version. */
export class StoreFullError extends LifeboatError {
  constructor(where: string, needBytes: number, space: FsSpace, reserveBytes: number) {
    super(
      'checkpoint_store_full',
      `the checkpoint store at ${where} has ${MB(space.availableBytes)} free, and keeps ${MB(reserveBytes)} free: no room for a version of about ${MB(needBytes)}; the versions stored so far are kept`,
      {
        status: 507,
        hint: "free space on the checkpoint storage, lower the checkpoint frequency or versions (lifeboat.checkpoint.version-group), or remove containers' old checkpoints (lifeboat checkpoints rm)",
      },
    );
  }
}

/** A container's versions would take more than its quota. */
export class StoreQuotaError extends LifeboatError {
  constructor(container: string, usedBytes: number, needBytes: number, quotaBytes: number) {
    super(
      'checkpoint_quota_exceeded',
      `container ${container}'s checkpoints take ${MB(usedBytes)} of its ${MB(quotaBytes)} quota: no room for another version of about ${MB(needBytes)}; the versions stored so far are kept`,
      {
        status: 507,
        hint: "raise the agents' --store-quota, keep fewer versions (lifeboat.checkpoint.version-group), or give the container less memory to dump",
      },
    );
  }
}

/** The local spool (where a dump lands before it is checked and stored) is out of room. */
export class SpoolFullError extends LifeboatError {
  constructor(dir: string, needBytes: number, availableBytes: number) {
    super(
      'spool_full',
      `the spool directory ${dir} has ${MB(availableBytes)} free: no room for a dump of about ${MB(needBytes)}; nothing was dumped`,
      { status: 507, hint: "free space there, or point the agent's --spool-dir at a larger file system" },
    );
  }
}
