import { readFile } from 'node:fs/promises';
import { ValidationError } from '../util/errors.ts';

/**
 * Static host lists, as Swarm's `file://` and `nodes://` discovery: the
 * manager is told where the agents' node APIs are and polls them, instead
 * of the agents heartbeating to it.
 *
 *   nodes://10.0.0.1:7443,10.0.0.2:7443
 *   nodes://10.0.0.[1:3]:7443          (Swarm's range pattern)
 *   file:///etc/lifeboat/cluster       (one HOST:PORT or pattern per line, # comments; re-read every poll)
 */
export type Discovery = { kind: 'nodes'; addresses: string[] } | { kind: 'file'; path: string };

export const DISCOVERY_HINT =
  'use nodes://HOST:PORT[,HOST:PORT...] or file:///PATH (one HOST:PORT per line); ranges as 10.0.0.[1:3]:7443';

const MAX_RANGE = 1024;

export function parseDiscovery(spec: string): Discovery {
  if (spec.startsWith('file://')) {
    const path = spec.slice('file://'.length);
    if (!path.startsWith('/'))
      throw new ValidationError(`discovery ${spec}: the file path must be absolute`, DISCOVERY_HINT);
    return { kind: 'file', path };
  }
  if (spec.startsWith('nodes://')) {
    const list = spec.slice('nodes://'.length);
    const addresses = expandEntries(list.split(','), `discovery ${spec}`);
    if (addresses.length === 0)
      throw new ValidationError(`discovery ${spec}: no hosts listed`, DISCOVERY_HINT);
    return { kind: 'nodes', addresses };
  }
  throw new ValidationError(`discovery "${spec}": unknown form`, DISCOVERY_HINT);
}

/** The file's addresses: blank lines and `#` comments skipped, patterns expanded. */
export function parseDiscoveryFile(text: string, path: string): string[] {
  const lines = text.split('\n').map((l) => l.replace(/#.*$/, '').trim());
  return expandEntries(
    lines.filter((l) => l !== ''),
    `discovery file ${path}`,
  );
}

/** The addresses a discovery lists now (a file is read again each time, so hosts can be added). */
export async function discoveredAddresses(d: Discovery): Promise<string[]> {
  if (d.kind === 'nodes') return d.addresses;
  let text: string;
  try {
    text = await readFile(d.path, 'utf8');
  } catch (err) {
    throw new ValidationError(
      `discovery file ${d.path} cannot be read: ${(err as Error).message}`,
      'create it with one HOST:PORT per line',
    );
  }
  return parseDiscoveryFile(text, d.path);
}

function expandEntries(entries: string[], where: string): string[] {
  const out: string[] = [];
  for (const raw of entries) {
    const e = raw.trim();
    if (e === '') throw new ValidationError(`${where}: empty entry`, DISCOVERY_HINT);
    for (const a of expandRange(e, where)) {
      checkHostPort(a, where);
      if (!out.includes(a)) out.push(a);
    }
  }
  return out;
}

/** Swarm's pattern: one `[start:end]` numeric range, e.g. 10.0.0.[10:12]:7443 → three addresses. */
export function expandRange(pattern: string, where = 'discovery'): string[] {
  const m = /^(.*)\[(\d+):(\d+)\](.*)$/.exec(pattern);
  if (!m) {
    if (/[[\]]/.test(pattern) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(pattern))
      throw new ValidationError(`${where}: "${pattern}" has a malformed range`, DISCOVERY_HINT);
    return [pattern];
  }
  const [, pre, a, b, post] = m as unknown as [string, string, string, string, string];
  const start = Number(a);
  const end = Number(b);
  if (end < start)
    throw new ValidationError(`${where}: range [${a}:${b}] in "${pattern}" runs backwards`, DISCOVERY_HINT);
  if (end - start + 1 > MAX_RANGE)
    throw new ValidationError(`${where}: range [${a}:${b}] lists more than ${MAX_RANGE} hosts`);
  const out: string[] = [];
  for (let i = start; i <= end; i++) out.push(`${pre}${i}${post}`);
  return out;
}

function checkHostPort(a: string, where: string): void {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(a);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    throw new ValidationError(`${where}: "${a}" is not HOST:PORT`, DISCOVERY_HINT);
}
