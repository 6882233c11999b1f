import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

/**
 * The process table as /proc shows it, for finding every process a simulated
 * host owns (its cgroup, its mount namespace, their descendants) and killing
 * them the way a power loss would.
 */
export interface ProcEntry {
  pid: number;
  ppid: number;
  /** R, S, D, Z, T ... (Z: exited, waiting for its parent) */
  state: string;
  argv: string[];
}

function readEntry(pid: number): ProcEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields start after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    return { pid, ppid: Number(rest[1]), state: rest[0] ?? '?', argv };
  } catch {
    return undefined;
  }
}

export function processTable(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const e = readEntry(Number(name));
    if (e) out.push(e);
  }
  return out;
}

/** Alive and not a zombie: a zombie holds no resources and only waits to be reaped. */
export function isAlive(pid: number): boolean {
  const e = readEntry(pid);
  return e !== undefined && e.state !== 'Z' && e.state !== 'X';
}

/** The inode identifying a namespace, from its nsfs file (a bind mount or /proc/PID/ns/X). */
export function namespaceId(nsFile: string): number | undefined {
  try {
    return statSync(nsFile).ino;
  } catch {
    return undefined;
  }
}

/** PIDs whose mount namespace is the one bound at `nsFile`. */
export function pidsInMountNamespace(nsFile: string, table = processTable()): number[] {
  const id = namespaceId(nsFile);
  if (id === undefined) return [];
  const want = `mnt:[${id}]`;
  return table
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p.pid}/ns/mnt`) === want;
      } catch {
        return false;
      }
    })
    .map((p) => p.pid);
}

/** `seeds` plus all their descendants. */
export function withDescendants(seeds: number[], table = processTable()): number[] {
  const children = new Map<number, number[]>();
  for (const p of table) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const out = new Set<number>();
  const stack = [...seeds];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (out.has(pid)) continue;
    out.add(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return [...out];
}

/** This process and its ancestors: never to be killed by a sweep. */
export function ownLineage(table = processTable()): Set<number> {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const out = new Set<number>();
  let pid: number | undefined = process.pid;
  while (pid !== undefined && pid > 0 && !out.has(pid)) {
    out.add(pid);
    pid = byPid.get(pid)?.ppid;
  }
  return out;
}

export function signal(pids: Iterable<number>, sig: NodeJS.Signals): void {
  const spare = ownLineage();
  for (const pid of pids) {
    if (spare.has(pid)) continue;
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until none of `pids` is alive; returns the ones still alive at the deadline. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(isAlive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(isAlive);
  }
  return left;
}

/** SIGTERM, then SIGKILL what is still alive after `graceMs`. */
export async function terminate(pids: number[], graceMs = 5_000): Promise<void> {
  const alive = pids.filter(isAlive);
  if (alive.length === 0) return;
  signal(alive, 'SIGTERM');
  const left = await waitGone(alive, graceMs);
  if (left.length === 0) return;
  signal(left, 'SIGKILL');
  await waitGone(left, 5_000);
}
