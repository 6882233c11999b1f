import { execFile } from 'node:child_process';
import { criuPath } from './capabilities.ts';

let cached: Promise<boolean> | undefined;

/**
 * Whether this machine's kernel tracks dirty memory (CONFIG_MEM_SOFT_DIRTY),
 * as CRIU itself decides it. Asked once per process.
 */
export function hostHasSoftDirty(): Promise<boolean> {
  cached ??= new Promise((resolve) => {
    execFile(criuPath(), ['check', '--feature', 'mem_dirty_track'], { timeout: 30_000 }, (err) =>
      resolve(!err),
    );
  });
  return cached;
}
