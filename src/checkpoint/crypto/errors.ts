import { LifeboatError } from '../../util/errors.ts';

/** What exactly made an archive unusable; stable for scripts and tests. */
export type ArchiveIntegrityReason =
  | 'bad_magic'
  | 'unsupported_format'
  | 'bad_header'
  | 'unknown_key'
  | 'auth_failed'
  | 'truncated'
  | 'trailing_data'
  | 'checksum_mismatch'
  | 'size_mismatch'
  | 'bad_manifest';

/** The checkpoint an archive belongs to, so an error names it: a stored version, or a Docker API checkpoint. */
export type ArchiveLocation =
  VersionLocation | { readonly container: string; readonly dockerCheckpoint: string };

/** A version in the checkpoint store (tickers, migrations via the store). */
export interface VersionLocation {
  readonly container: string;
  readonly group: number;
  readonly version: number | 'pre-dump';
}

export function describeLocation(loc: ArchiveLocation): string {
  if ('dockerCheckpoint' in loc) return `docker checkpoint ${loc.dockerCheckpoint} of ${loc.container}`;
  const v = loc.version === 'pre-dump' ? 'pre-dump' : `version ${loc.version}`;
  return `checkpoint ${loc.container} group ${loc.group} ${v}`;
}

const hints: Record<ArchiveIntegrityReason, string> = {
  bad_magic: 'the file is not a lifeboat encrypted archive (plain tar stored as encrypted, or another file)',
  unsupported_format: 'the archive was written by a newer lifeboat: upgrade this node',
  bad_header: 'the archive header is damaged: restore from an older checkpoint version',
  unknown_key:
    'add the key the archive was encrypted with to the keyring (as a previous key) on this node, or restore from a newer version',
  auth_failed:
    'the archive was modified, damaged, or belongs to another checkpoint: restore from an older checkpoint version',
  truncated:
    'the archive is incomplete (interrupted write or copy): restore from an older checkpoint version',
  trailing_data: 'bytes were appended after the end of the archive: restore from an older checkpoint version',
  checksum_mismatch:
    'the stored file does not match its manifest (damaged storage or a concurrent writer): restore from an older checkpoint version',
  size_mismatch:
    'the stored file does not match its manifest (damaged storage or a concurrent writer): restore from an older checkpoint version',
  bad_manifest:
    'the manifest is damaged or was not written by lifeboat: restore from an older checkpoint version',
};

/**
 * A checkpoint archive failed an integrity check. Never restore from it: the
 * bytes are not what lifeboat wrote (or not for this checkpoint).
 */
export class ArchiveIntegrityError extends LifeboatError {
  readonly reason: ArchiveIntegrityReason;
  /** Index of the chunk that failed, where one did. */
  readonly chunk: number | undefined;
  readonly location: ArchiveLocation | undefined;

  constructor(
    reason: ArchiveIntegrityReason,
    detail: string,
    opts: { chunk?: number; location?: ArchiveLocation; cause?: unknown } = {},
  ) {
    const where = opts.location === undefined ? 'archive' : describeLocation(opts.location);
    super('archive_corrupt', `${where}: corrupt: ${detail}`, {
      hint: hints[reason],
      status: 500,
      ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    });
    this.reason = reason;
    this.chunk = opts.chunk;
    this.location = opts.location;
  }
}

/** A cluster key file that cannot be used as given. */
export class ClusterKeyError extends LifeboatError {
  constructor(message: string, hint: string, cause?: unknown) {
    super('cluster_key_invalid', message, { hint, status: 500, ...(cause === undefined ? {} : { cause }) });
  }
}
