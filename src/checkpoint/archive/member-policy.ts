import type { Header } from 'tar-stream';
import { HostileArchiveError, type ArchiveLocation } from './errors.ts';
import type { ArchiveLimits } from './limits.ts';

/**
 * What an outer member is for, which decides how it is read:
 * small metadata is buffered (bounded), nested tars are inspected while
 * streaming, blobs (CRIU images, logs) stream through untouched.
 */
export type MemberRole =
  | 'directory'
  | 'config-dump'
  | 'spec-dump'
  | 'deleted-files'
  | 'stats-dump'
  | 'metadata'
  | 'nested-tar'
  | 'blob'
  | 'parent-link';

/** Roles read whole into memory; they are bounded by `maxMetadataBytes`. */
export const BUFFERED_ROLES: ReadonlySet<MemberRole> = new Set([
  'config-dump',
  'spec-dump',
  'deleted-files',
  'stats-dump',
  'metadata',
]);

// The members `podman container checkpoint --export` writes (libpod's
// exportCheckpoint and CRCreateRootFsDiffTar), and nothing else.
const TOP_LEVEL_FILES: ReadonlyMap<string, MemberRole> = new Map([
  ['config.dump', 'config-dump'],
  ['spec.dump', 'spec-dump'],
  ['deleted.files', 'deleted-files'],
  ['stats-dump', 'stats-dump'],
  ['network.status', 'metadata'],
  ['bind.mounts', 'metadata'],
  ['pod.options', 'metadata'],
  ['pod.dump', 'metadata'],
  ['ctr.log', 'blob'],
  ['rootfs-diff.tar', 'nested-tar'],
  ['devshm-checkpoint.tar', 'nested-tar'],
]);
const DIRECTORIES: ReadonlySet<string> = new Set([
  '',
  'artifacts',
  'checkpoint',
  'pre-checkpoint',
  'volumes',
]);
const CRIU_IMAGE = /^[A-Za-z0-9][A-Za-z0-9._-]*\.img$/;
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const VOLUME_TAR = /^[A-Za-z0-9][A-Za-z0-9_.-]*\.tar$/;
/** Podman links a with-previous dump to its pre-dump with exactly this relative symlink. */
export const PARENT_LINK = { name: 'checkpoint/parent', target: '../pre-checkpoint' } as const;

/** `./checkpoint/` -> `checkpoint`; `./` -> `` (the archive root). */
export function normalizeMemberName(raw: string): string {
  let name = raw;
  while (name.startsWith('./')) name = name.slice(2);
  if (name === '.') name = '';
  while (name.endsWith('/')) name = name.slice(0, -1);
  return name;
}

/** Path components that matter for resolution: no empty or `.` parts. */
export function pathComponents(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** Rules every member name obeys, outer or nested: no NUL, not absolute, no `..`. */
export function checkPathSafety(raw: string, loc: ArchiveLocation, what = 'member name'): void {
  if (raw.includes('\0')) throw new HostileArchiveError('nul-byte', loc, `${what} contains a NUL byte`);
  if (raw.startsWith('/')) throw new HostileArchiveError('absolute-path', loc, `${what} is an absolute path`);
  if (raw.split('/').includes('..'))
    throw new HostileArchiveError('dot-dot', loc, `${what} has a ".." component`);
}

function roleByName(name: string): MemberRole | undefined {
  if (DIRECTORIES.has(name)) return 'directory';
  const top = TOP_LEVEL_FILES.get(name);
  if (top !== undefined) return top;
  const slash = name.indexOf('/');
  if (slash < 0) return undefined;
  const dir = name.slice(0, slash);
  const base = name.slice(slash + 1);
  if (dir === 'checkpoint' || dir === 'pre-checkpoint') {
    if (CRIU_IMAGE.test(base) || base === 'irmap-cache') return 'blob';
    if (base === 'descriptors.json') return 'metadata';
    return undefined;
  }
  if (dir === 'volumes') return VOLUME_TAR.test(base) ? 'nested-tar' : undefined;
  if (dir === 'artifacts') return PLAIN_NAME.test(base) ? 'blob' : undefined;
  return undefined;
}

/**
 * Checks one outer member's header against the allow-list and returns its
 * normalized name and role. Sizes are checked here, from the header, so an
 * oversized member is refused before any of its bytes are read.
 */
export function classifyOuterMember(
  header: Header,
  limits: ArchiveLimits,
): { name: string; role: MemberRole } {
  const raw = header.name;
  const loc = { member: raw };
  checkPathSafety(raw, loc);
  const linkname = header.linkname ?? '';
  if (linkname.includes('\0'))
    throw new HostileArchiveError('nul-byte', loc, 'link target contains a NUL byte');
  const name = normalizeMemberName(raw);

  switch (header.type) {
    case 'link':
      throw new HostileArchiveError(
        'hardlink-member',
        loc,
        `hard link (to ${JSON.stringify(linkname)}) not allowed`,
      );
    case 'symlink':
      if (name === PARENT_LINK.name && linkname === PARENT_LINK.target) return { name, role: 'parent-link' };
      throw new HostileArchiveError(
        'symlink-member',
        loc,
        `symbolic link (to ${JSON.stringify(linkname)}) not allowed`,
      );
    case 'file':
    case 'directory':
      break;
    default:
      throw new HostileArchiveError('special-member', loc, `member of type ${header.type} not allowed`);
  }

  const role = roleByName(name);
  if (role === undefined) {
    throw new HostileArchiveError(
      'unexpected-member',
      loc,
      'not a member Podman writes into a checkpoint archive',
    );
  }
  if ((role === 'directory') !== (header.type === 'directory')) {
    throw new HostileArchiveError(
      'unexpected-member',
      loc,
      role === 'directory' ? 'must be a directory' : 'must be a regular file',
    );
  }
  if (BUFFERED_ROLES.has(role) && header.size > limits.maxMetadataBytes) {
    throw new HostileArchiveError(
      'oversize',
      loc,
      `${header.size} bytes exceeds the ${limits.maxMetadataBytes}-byte limit for metadata members`,
    );
  }
  return { name, role };
}

/**
 * Checks one member of a nested tar (rootfs-diff.tar and friends). Podman
 * unpacks these into the container's root file system or a volume, so
 * nothing may climb out: no `..`, no hard link outside, and no member
 * written through a symlink an earlier member planted. Symlinks themselves
 * may be absolute: they resolve inside the container.
 * Returns the symlink target when the member is a symlink.
 */
export function checkNestedMember(header: Header, inside: string, symlinks: Set<string>): string | undefined {
  const raw = header.name;
  const loc = { member: raw, inside };
  checkPathSafety(raw, loc);
  const components = pathComponents(raw);
  throughSymlink(components, symlinks, loc, 'member');

  const linkname = header.linkname ?? '';
  if (linkname.includes('\0'))
    throw new HostileArchiveError('nul-byte', loc, 'link target contains a NUL byte');
  if (header.type === 'link') {
    if (linkname.startsWith('/') || linkname.split('/').includes('..')) {
      throw new HostileArchiveError(
        'link-escape',
        loc,
        `hard link target ${JSON.stringify(linkname)} escapes the tree`,
      );
    }
    throughSymlink(pathComponents(linkname), symlinks, loc, 'hard link target');
  }
  if (header.type === 'symlink') {
    if (components.length > 0) symlinks.add(components.join('/'));
    return linkname;
  }
  return undefined;
}

function throughSymlink(
  components: string[],
  symlinks: Set<string>,
  loc: ArchiveLocation,
  what: string,
): void {
  if (symlinks.size === 0) return;
  for (let i = 1; i < components.length; i++) {
    const prefix = components.slice(0, i).join('/');
    if (symlinks.has(prefix)) {
      throw new HostileArchiveError(
        'through-symlink',
        loc,
        `${what} lies beneath ${JSON.stringify(prefix)}, a symlink set earlier in the same tar`,
      );
    }
  }
}
