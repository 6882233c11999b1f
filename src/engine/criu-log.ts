import { readFileSync, statSync } from 'node:fs';

/**
 * The error lines of a CRIU log (dump.log, restore.log): Podman and runc say
 * only that CRIU failed, these say why (a refused option, an address in use,
 * an in-flight connection). Lines about RLIMIT_NOFILE are CRIU's routine
 * notices, not errors. Undefined when there is no log, or only one older
 * than `since` (epoch ms), which says nothing about this run.
 */
export function criuLogErrors(path: string, opts: { since?: number } = {}): string[] | undefined {
  try {
    if (opts.since !== undefined && statSync(path).mtimeMs < opts.since - 1000) return undefined;
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.includes('Error') && !l.includes('RLIMIT'));
  } catch {
    return undefined;
  }
}
