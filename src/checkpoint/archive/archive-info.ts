import type { CriuDumpStatsFull } from './criu-stats.ts';
import { parseCriuStats } from './criu-stats.ts';
import { CriuStatsFormatError, HostileArchiveError } from './errors.ts';
import { cgroupParentOf, storageRootOf, type SourceHostPaths } from './host-paths.ts';
import type { MemberRole } from './member-policy.ts';
import { PARENT_LINK, pathComponents } from './member-policy.ts';
import type { NestedSymlink, NestedTarSummary } from './nested-tar.ts';

export interface RootfsDiffInfo {
  entries: number;
  bytes: number;
  symlinkCount: number;
  absoluteSymlinkCount: number;
  /** The first symlinks found (see ArchiveLimits.maxRecordedSymlinks). */
  symlinks: NestedSymlink[];
}

/** What a checkpoint archive holds, learnt while checking it. */
export interface ArchiveInfo {
  containerName: string;
  containerId: string;
  /** Restore needs an image with this exact ID on the target host. */
  imageId: string | undefined;
  imageName: string | undefined;
  /** Source host's container cgroup parent (config.dump, else spec.dump linux.cgroupsPath). */
  cgroupParent: string | undefined;
  /** Source host's Podman runroot, from config.dump conmonPidFile / pid_file. */
  runroot: string | undefined;
  /** Source host's Podman graphroot, from config.dump staticDir / ShmDir. */
  graphroot: string | undefined;
  /**
   * CRIU dumped established TCP connections (checkpoint/tcp-stream-*.img):
   * the restore must pass tcpEstablished=true.
   */
  tcpEstablished: boolean;
  /** `pre-checkpoint`: a pre-dump export (memory only), not restorable by itself. */
  kind: 'checkpoint' | 'pre-checkpoint';
  /** Dumped --with-previous: restoring also needs the matching pre-checkpoint archive. */
  withPrevious: boolean;
  memberCount: number;
  /** Sum of member sizes. */
  totalBytes: number;
  /** Size of the archive stream itself. */
  archiveBytes: number;
  hasRootfsDiff: boolean;
  rootfsDiff: RootfsDiffInfo | undefined;
  /** Paths deleted.files removes from the container's root file system on restore. */
  deletedFiles: number;
  volumes: string[];
  /** CRIU's own statistics of the dump (stats-dump), when present and readable. */
  dumpStats: CriuDumpStatsFull | undefined;
  warnings: string[];
}

type Json = Record<string, unknown>;

function parseJsonObject(name: string, data: Buffer): Json {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new HostileArchiveError(
      'invalid-json',
      { member: name },
      `not valid JSON (${(err as Error).message})`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HostileArchiveError('invalid-json', { member: name }, 'JSON document is not an object');
  }
  return value as Json;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Gathers ArchiveInfo member by member and runs the checks that need the
 * whole archive (required members, deleted.files against rootfs symlinks).
 */
export class ArchiveInfoCollector {
  private config: Json | undefined;
  private spec: Json | undefined;
  private deleted: string[] = [];
  private rootfs: NestedTarSummary | undefined;
  private dumpStats: CriuDumpStatsFull | undefined;
  private readonly names = new Set<string>();
  private readonly volumes: string[] = [];
  private readonly warnings: string[] = [];
  private tcpEstablished = false;
  private withPrevious = false;

  /** Records a member; buffered members pass their bytes and come back parsed (JSON documents). */
  add(name: string, role: MemberRole, data?: Buffer): Json | undefined {
    this.names.add(name);
    if (/^checkpoint\/tcp-stream-[0-9a-f]+\.img$/.test(name)) this.tcpEstablished = true;
    if (role === 'parent-link' && name === PARENT_LINK.name) this.withPrevious = true;
    if (role === 'nested-tar' && name.startsWith('volumes/')) this.volumes.push(name.slice(8, -4));
    if (data === undefined) return undefined;
    switch (role) {
      case 'config-dump':
        this.config = parseJsonObject(name, data);
        if (str(this.config['id']) === undefined || str(this.config['name']) === undefined) {
          throw new HostileArchiveError(
            'invalid-json',
            { member: name },
            'lacks the container "id" and "name"',
          );
        }
        return this.config;
      case 'spec-dump':
        this.spec = parseJsonObject(name, data);
        return this.spec;
      case 'deleted-files':
        this.deleted = this.parseDeletedFiles(name, data);
        return undefined;
      case 'stats-dump':
        try {
          this.dumpStats = parseCriuStats(data).dump;
        } catch (err) {
          if (!(err instanceof CriuStatsFormatError)) throw err;
          this.warnings.push(`stats-dump ignored: ${err.message}`);
        }
        return undefined;
      default:
        return undefined;
    }
  }

  addNested(name: string, summary: NestedTarSummary): void {
    if (name === 'rootfs-diff.tar') this.rootfs = summary;
  }

  /** Source host paths as far as known so far (config.dump, else spec.dump for the cgroup parent). */
  sourceHostPaths(): SourceHostPaths {
    const cfg = this.config ?? {};
    const id = str(cfg['id']) ?? '';
    const linux = this.spec?.['linux'];
    const cgroupsPath =
      typeof linux === 'object' && linux !== null ? (linux as Json)['cgroupsPath'] : undefined;
    const out: SourceHostPaths = {};
    const runroot = storageRootOf(cfg['conmonPidFile'], id) ?? storageRootOf(cfg['pid_file'], id);
    const graphroot = storageRootOf(cfg['staticDir'], id) ?? storageRootOf(cfg['ShmDir'], id);
    const cgroupParent = str(cfg['cgroupParent']) ?? cgroupParentOf(cgroupsPath, id);
    if (runroot !== undefined) out.runroot = runroot;
    if (graphroot !== undefined) out.graphroot = graphroot;
    if (cgroupParent !== undefined) out.cgroupParent = cgroupParent;
    return out;
  }

  hasConfig(): boolean {
    return this.config !== undefined;
  }

  finish(totals: { memberCount: number; totalBytes: number; archiveBytes: number }): ArchiveInfo {
    for (const required of ['config.dump', 'spec.dump']) {
      if (!this.names.has(required)) {
        throw new HostileArchiveError('missing-member', { member: required }, 'required member is missing');
      }
    }
    const kind = this.names.has('checkpoint/inventory.img')
      ? 'checkpoint'
      : this.names.has('pre-checkpoint/inventory.img')
        ? 'pre-checkpoint'
        : undefined;
    if (kind === undefined) {
      throw new HostileArchiveError(
        'missing-member',
        { member: 'checkpoint/inventory.img' },
        'required member is missing (no CRIU images)',
      );
    }
    this.checkDeletedAgainstSymlinks();

    const cfg = this.config ?? {};
    const paths = this.sourceHostPaths();
    if (paths.runroot === undefined)
      this.warnings.push('source runroot unknown (config.dump conmonPidFile/pid_file)');
    if (paths.graphroot === undefined)
      this.warnings.push('source graphroot unknown (config.dump staticDir/ShmDir)');
    const rootfs = this.rootfs;
    return {
      containerName: str(cfg['name']) ?? '',
      containerId: str(cfg['id']) ?? '',
      imageId: str(cfg['rootfsImageID']),
      imageName: str(cfg['rootfsImageName']),
      cgroupParent: paths.cgroupParent,
      runroot: paths.runroot,
      graphroot: paths.graphroot,
      tcpEstablished: this.tcpEstablished,
      kind,
      withPrevious: this.withPrevious,
      memberCount: totals.memberCount,
      totalBytes: totals.totalBytes,
      archiveBytes: totals.archiveBytes,
      hasRootfsDiff: this.names.has('rootfs-diff.tar'),
      rootfsDiff:
        rootfs === undefined
          ? undefined
          : {
              entries: rootfs.entries,
              bytes: rootfs.bytes,
              symlinkCount: rootfs.symlinkCount,
              absoluteSymlinkCount: rootfs.absoluteSymlinkCount,
              symlinks: rootfs.symlinks,
            },
      deletedFiles: this.deleted.length,
      volumes: this.volumes,
      dumpStats: this.dumpStats,
      warnings: this.warnings,
    };
  }

  // libpod's CRRemoveDeletedFiles runs os.RemoveAll(filepath.Join(rootfs, entry))
  // on the host for each entry: a ".." there deletes host files.
  private parseDeletedFiles(name: string, data: Buffer): string[] {
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw new HostileArchiveError(
        'invalid-json',
        { member: name },
        `not valid JSON (${(err as Error).message})`,
      );
    }
    if (value === null) return [];
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
      throw new HostileArchiveError('invalid-json', { member: name }, 'not a JSON list of paths');
    }
    for (const path of value) {
      if (path.includes('\0') || path.split('/').includes('..')) {
        throw new HostileArchiveError(
          'deleted-files-escape',
          { member: name },
          `entry ${JSON.stringify(path)} would delete outside the container's root file system`,
        );
      }
    }
    return value;
  }

  private checkDeletedAgainstSymlinks(): void {
    const links = this.rootfs?.symlinkPaths;
    if (links === undefined || links.size === 0) return;
    for (const path of this.deleted) {
      const parts = pathComponents(path);
      for (let i = 1; i < parts.length; i++) {
        const prefix = parts.slice(0, i).join('/');
        if (links.has(prefix)) {
          throw new HostileArchiveError(
            'deleted-files-escape',
            { member: 'deleted.files' },
            `entry ${JSON.stringify(path)} lies beneath ${JSON.stringify(prefix)}, a symlink in rootfs-diff.tar`,
          );
        }
      }
    }
  }
}
