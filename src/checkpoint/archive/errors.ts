import { LifeboatError } from '../../util/errors.ts';

/** Stable identifiers of the rules an archive can break (scripts and tests match on these). */
export type ArchiveRule =
  | 'not-tar'
  | 'truncated'
  | 'nul-byte'
  | 'absolute-path'
  | 'dot-dot'
  | 'hardlink-member'
  | 'symlink-member'
  | 'special-member'
  | 'unexpected-member'
  | 'duplicate-member'
  | 'oversize'
  | 'total-size'
  | 'too-many-members'
  | 'missing-member'
  | 'invalid-json'
  | 'link-escape'
  | 'through-symlink'
  | 'deleted-files-escape'
  | 'config-mismatch';

/** Where a broken rule was found: an outer member, or a member of a tar nested in one. */
export interface ArchiveLocation {
  member: string;
  /** Outer member (e.g. `rootfs-diff.tar`) the offending member sits in. */
  inside?: string;
}

const quote = (s: string): string => JSON.stringify(s.length > 200 ? s.slice(0, 200) + '…' : s);

export function describeLocation(loc: ArchiveLocation): string {
  return loc.inside === undefined
    ? `member ${quote(loc.member)}`
    : `member ${quote(loc.member)} inside ${quote(loc.inside)}`;
}

/**
 * A checkpoint archive that must not reach Podman: it escapes the directory it
 * is unpacked into, carries what `podman container checkpoint --export` never
 * writes, or is incomplete. Checked before anything is unpacked or restored.
 */
export class HostileArchiveError extends LifeboatError {
  readonly rule: ArchiveRule;
  readonly member: string;
  readonly inside: string | undefined;

  constructor(rule: ArchiveRule, loc: ArchiveLocation, detail: string) {
    super(
      'archive_rejected',
      `checkpoint archive rejected: ${describeLocation(loc)}: ${detail} (rule ${rule})`,
      {
        status: 400,
        hint:
          'Only archives written by `podman container checkpoint --export` (uncompressed) are accepted. ' +
          'Do not restore this file; take a new checkpoint of the source container.',
      },
    );
    this.rule = rule;
    this.member = loc.member;
    this.inside = loc.inside;
  }
}

/** A valid archive that cannot be rewritten for another host as asked. */
export class ArchiveRewriteError extends LifeboatError {
  constructor(message: string, opts: { hint?: string; cause?: unknown; status?: number } = {}) {
    super('archive_rewrite_failed', message, { status: 400, ...opts });
  }
}

/** A CRIU statistics image (`stats-dump`, `stats-restore`) that does not parse. */
export class CriuStatsFormatError extends LifeboatError {
  constructor(message: string) {
    super('criu_stats_invalid', `CRIU statistics image: ${message}`, {
      status: 400,
      hint: 'The file is not a CRIU stats image (or CRIU changed its format); the checkpoint itself may still restore.',
    });
  }
}
