import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { CLUSTER_NETWORK } from './cluster-network.ts';

/** Where Podman's dnsname plugin keeps a network's dnsmasq files (per host: /run is the host's own). */
export const DNSNAME_DIR = join('/run/containers/cni/dnsname', CLUSTER_NETWORK);
const MARK = '# lifeboat';

/** Our lines of an addnhosts file: `address<TAB>name aliases... # lifeboat`, sorted. */
export function ourLines(names: readonly string[][]): string[] {
  return names.map(([ip, ...n]) => `${ip}\t${n.join(' ')} ${MARK}`).sort();
}

/** The lines of `text` that are ours. */
export function linesOf(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.endsWith(MARK))
    .sort();
}

/**
 * Names that follow their containers. On each host, Podman's dnsname plugin
 * runs a dnsmasq on the cluster network's bridge that answers for the
 * containers of that host. The agent adds the other hosts' containers to the
 * same hosts file (its lines marked `# lifeboat`), under dnsname's own lock,
 * and asks dnsmasq to read it again (SIGHUP). A host with no container on
 * the network has no dnsmasq, and nobody there to ask.
 */
export class HostNames {
  private applying: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly dir = DNSNAME_DIR,
  ) {}

  apply(names: readonly string[][]): Promise<void> {
    this.applying ??= this.applyNow(names)
      .catch((err: unknown) =>
        this.log.warn('could not update the cluster network names', { error: errorMessage(err) }),
      )
      .finally(() => (this.applying = undefined));
    return this.applying;
  }

  private async applyNow(names: readonly string[][]): Promise<void> {
    const hostsFile = join(this.dir, 'addnhosts');
    let text: string;
    let pid: number;
    try {
      text = await readFile(hostsFile, 'utf8');
      pid = Number((await readFile(join(this.dir, 'pidfile'), 'utf8')).trim());
    } catch {
      return; // no dnsmasq here yet
    }
    const want = ourLines(names);
    if (JSON.stringify(linesOf(text)) === JSON.stringify(want)) return;
    // read and written again under the plugin's lock: its own edits in between are kept
    await new Promise<void>((resolve, reject) => {
      const p = spawn(
        'flock',
        [
          join(this.dir, 'lock'),
          'sh',
          '-c',
          `grep -v ' ${MARK}$' "$0" > "$0.lifeboat"; cat >> "$0.lifeboat" && cat "$0.lifeboat" > "$0"; rm -f "$0.lifeboat"`,
          hostsFile,
        ],
        { stdio: ['pipe', 'ignore', 'pipe'] },
      );
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', reject);
      p.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`flock/sh exited ${code}: ${err.trim()}`)),
      );
      p.stdin.end(want.map((l) => l + '\n').join(''));
    });
    if (Number.isInteger(pid) && pid > 1) process.kill(pid, 'SIGHUP');
    this.log.info('cluster network names updated', { names: want.length });
  }
}
