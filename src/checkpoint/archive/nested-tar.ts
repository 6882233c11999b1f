import { HostileArchiveError } from './errors.ts';
import type { ArchiveLimits } from './limits.ts';
import { checkNestedMember, pathComponents } from './member-policy.ts';
import { TarScanner } from './tar-scanner.ts';

export interface NestedSymlink {
  path: string;
  target: string;
}

/** What a nested tar (rootfs-diff.tar, volumes/*.tar, devshm-checkpoint.tar) holds. */
export interface NestedTarSummary {
  entries: number;
  /** Bytes of the nested tar itself. */
  bytes: number;
  symlinkCount: number;
  /** Absolute symlinks resolve inside the container at run time; counted so operators can see them. */
  absoluteSymlinkCount: number;
  /** The first `maxRecordedSymlinks` symlinks. */
  symlinks: NestedSymlink[];
  /** Paths of every symlink (for checks that need them later, e.g. deleted.files). */
  symlinkPaths: ReadonlySet<string>;
}

/**
 * Checks a tar nested inside the checkpoint archive while its bytes stream
 * past: feed it the member's chunks with `write()`, then `end()`. Nothing is
 * buffered beyond tar-stream's own small window.
 */
export class NestedTarInspector {
  private readonly scanner: TarScanner;
  private readonly symlinkPaths = new Set<string>();
  private readonly symlinks: NestedSymlink[] = [];
  private symlinkCount = 0;
  private absoluteSymlinkCount = 0;
  private entries = 0;

  constructor(
    private readonly inside: string,
    private readonly limits: ArchiveLimits,
  ) {
    this.scanner = new TarScanner(inside, async (entry) => {
      if (++this.entries > this.limits.maxNestedEntries) {
        throw new HostileArchiveError(
          'too-many-members',
          { member: entry.header.name, inside: this.inside },
          `more than ${this.limits.maxNestedEntries} members in one nested tar`,
        );
      }
      const target = checkNestedMember(entry.header, this.inside, this.symlinkPaths);
      if (target !== undefined) this.recordSymlink(entry.header.name, target);
      for await (const _chunk of entry) {
        // Bodies are not inspected, only walked past.
      }
    });
  }

  write(chunk: Buffer): Promise<void> {
    return this.scanner.write(chunk);
  }

  async end(): Promise<NestedTarSummary> {
    const { entries, bytes } = await this.scanner.end();
    return {
      entries,
      bytes,
      symlinkCount: this.symlinkCount,
      absoluteSymlinkCount: this.absoluteSymlinkCount,
      symlinks: this.symlinks,
      symlinkPaths: this.symlinkPaths,
    };
  }

  abort(err: unknown): void {
    this.scanner.abort(err);
  }

  private recordSymlink(name: string, target: string): void {
    this.symlinkCount++;
    if (target.startsWith('/')) this.absoluteSymlinkCount++;
    if (this.symlinks.length < this.limits.maxRecordedSymlinks) {
      this.symlinks.push({ path: pathComponents(name).join('/'), target });
    }
  }
}
