import { ValidationError } from '../../util/errors.ts';

/** Bounds that keep a hostile archive from exhausting memory, disk or time. */
export interface ArchiveLimits {
  /** Largest small metadata member (config.dump, spec.dump, network.status, deleted.files, stats-dump, ...). */
  maxMetadataBytes: number;
  /** Sum of all member sizes in the outer archive. */
  maxTotalBytes: number;
  /** Members in the outer archive. */
  maxMembers: number;
  /** Members of each nested tar (rootfs-diff.tar, volumes/*.tar, devshm-checkpoint.tar). */
  maxNestedEntries: number;
  /** Symlinks of rootfs-diff.tar listed by name in ArchiveInfo (all are counted). */
  maxRecordedSymlinks: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxMetadataBytes: 8 * MiB,
  maxTotalBytes: 64 * GiB,
  maxMembers: 100_000,
  maxNestedEntries: 1_000_000,
  maxRecordedSymlinks: 256,
});

export function resolveLimits(partial: Partial<ArchiveLimits> = {}): ArchiveLimits {
  const limits = { ...DEFAULT_ARCHIVE_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ValidationError(`archive limit ${key} must be a non-negative integer, got ${String(value)}`);
    }
  }
  return limits;
}
