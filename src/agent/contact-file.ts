import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * The fence guard's record of what it stopped, beside the contact file. The
 * guard and the agent reach the same deadline at nearly the same moment; when
 * the guard kills first, the agent's own fence finds nothing left to stop and
 * would tell the managers nothing. If contact then returns within the failure
 * timeout, no manager declares the host failed and the guard's containers stay
 * dead (the chaos bench found two on-node-failure containers left stopped for
 * good). The agent reads this record and names those containers as fenced
 * until a manager has heard of them, then clears it.
 */
export function fenceRecordPath(contactFile: string): string {
  return `${contactFile}.fenced`;
}

/** Adds `names` to the record (the guard may fence more than once before the agent reads it). */
export function recordFence(path: string, names: readonly string[]): void {
  if (names.length === 0) return;
  const merged = [...new Set([...readFenceRecord(path), ...names])];
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // written whole under another name, then renamed: the agent never reads half a record
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ at: Date.now(), names: merged }) + '\n');
  renameSync(tmp, path);
}

/**
 * Takes the record: the names the guard stopped, [] without one. It is renamed
 * away before it is read, so a name the guard adds meanwhile lands in a new
 * record rather than being lost. The agent keeps the names until a manager has
 * heard of them; an agent that dies first starts with a new boot id, which the
 * managers treat as a restart anyway.
 */
export function takeFenceRecord(path: string): string[] {
  const taken = `${path}.taken-${process.pid}`;
  try {
    renameSync(path, taken);
  } catch {
    return [];
  }
  let text: string;
  try {
    text = readFileSync(taken, 'utf8');
  } catch {
    return [];
  } finally {
    rmSync(taken, { force: true });
  }
  return parseNames(text);
}

function readFenceRecord(path: string): string[] {
  try {
    return parseNames(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

function parseNames(text: string): string[] {
  try {
    const v = JSON.parse(text) as { names?: unknown };
    return Array.isArray(v.names) ? v.names.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}
