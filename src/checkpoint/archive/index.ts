export type { ArchiveInfo, RootfsDiffInfo } from './archive-info.ts';
export {
  parseCriuStats,
  IMG_SERVICE_MAGIC,
  STATS_MAGIC,
  type CriuDumpStatsFull,
  type CriuRestoreStatsFull,
  type CriuStatsImage,
} from './criu-stats.ts';
export {
  ArchiveRewriteError,
  CriuStatsFormatError,
  HostileArchiveError,
  type ArchiveLocation,
  type ArchiveRule,
} from './errors.ts';
export {
  checkTargetPaths,
  rewriteConfigDump,
  rewriteSpecDump,
  type HostPaths,
  type SourceHostPaths,
} from './host-paths.ts';
export { DEFAULT_ARCHIVE_LIMITS, resolveLimits, type ArchiveLimits } from './limits.ts';
export type { NestedSymlink } from './nested-tar.ts';
export {
  rewriteArchive,
  type RewriteOptions,
  type RewriteSummary,
  type RewriteTarget,
  type RewrittenArchiveInfo,
} from './rewrite.ts';
export { unpackArchive } from './unpack.ts';
export { validateArchive } from './validate.ts';
