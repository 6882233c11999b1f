import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Proof that the checkpoint store is shared: each agent writes a marker
 * named after its host into the store (`<root>/.lifeboat-hosts/<node>`) and
 * reports the markers it sees. A store every host mounts shows every host's
 * marker; a private directory shows only its own host's, and checkpoints
 * written there would die with the host (the manager then refuses to run
 * tickers into it: store-sharing.ts).
 */
export const MARKER_DIR = '.lifeboat-hosts';

export class StoreMarkers {
  private lastWrite = 0;

  constructor(
    private readonly root: string,
    private readonly node: string,
    private readonly bootId: string,
    private readonly rewriteMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes this host's marker (at most every rewriteMs) and lists the hosts whose markers are there. */
  async sees(): Promise<string[]> {
    const dir = join(this.root, MARKER_DIR);
    if (this.now() - this.lastWrite >= this.rewriteMs) {
      await mkdir(dir, { recursive: true });
      const tmp = join(dir, `.${this.node}.tmp`);
      await writeFile(
        tmp,
        JSON.stringify({ node: this.node, bootId: this.bootId, at: new Date(this.now()).toISOString() }),
      );
      await rename(tmp, join(dir, this.node));
      this.lastWrite = this.now();
    }
    return (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  }
}
