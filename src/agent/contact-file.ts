import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The file where an agent keeps its last accepted heartbeat: the wall-clock
 * time of it and the fence deadline in force then. A restarted agent counts
 * its predecessor's silence from it; the fence guard (fence-guard.ts) watches
 * it change. Older agents wrote the bare time; it still reads.
 */
export interface Contact {
  /** Date.now() of the last accepted heartbeat. */
  at: number;
  /** How long without contact before the host must be fenced (the managers' failure timeout minus a margin). */
  fenceAfterMs?: number;
}

/**
 * Its directory is made when missing: a host that never spooled an archive
 * had no spool directory, so no contact was ever recorded and neither the
 * restarted agent nor the fence guard could tell how long it had been (the
 * chaos bench found a dead agent's Swarm container running twice).
 */
export function writeContact(path: string, c: Contact): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(c) + '\n');
}

/** undefined: no file, or nothing readable in it. */
export function readContact(path: string): Contact | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
  return parseContact(text);
}

export function parseContact(text: string): Contact | undefined {
  if (/^\d+$/.test(text)) return { at: Number(text) };
  try {
    const v = JSON.parse(text) as { at?: unknown; fenceAfterMs?: unknown };
    if (typeof v.at !== 'number' || !Number.isFinite(v.at)) return undefined;
    return {
      at: v.at,
      ...(typeof v.fenceAfterMs === 'number' && v.fenceAfterMs > 0 ? { fenceAfterMs: v.fenceAfterMs } : {}),
    };
  } catch {
    return undefined;
  }
}
