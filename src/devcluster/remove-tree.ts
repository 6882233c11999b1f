import { rmSync } from 'node:fs';
import { sh } from './sh.ts';

/**
 * rm -rf that survives what a host's storage leaves: overlay mounts still
 * held by an exiting process (EBUSY) are lazily unmounted, then retried.
 */
export async function removeTree(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EBUSY' && code !== 'ENOTEMPTY') throw err;
      const mounts = (await sh('findmnt', ['-rn', '-o', 'TARGET'], { allowFail: true }))
        .split('\n')
        .filter((m) => m.startsWith(dir + '/'))
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) await sh('umount', ['-l', m], { allowFail: true });
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
