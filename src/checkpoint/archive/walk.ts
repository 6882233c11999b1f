import type { Header } from 'tar-stream';
import { createLogger } from '../../util/log.ts';
import { ArchiveInfoCollector, type ArchiveInfo } from './archive-info.ts';
import { HostileArchiveError } from './errors.ts';
import type { SourceHostPaths } from './host-paths.ts';
import type { ArchiveLimits } from './limits.ts';
import { BUFFERED_ROLES, classifyOuterMember, type MemberRole } from './member-policy.ts';
import { NestedTarInspector } from './nested-tar.ts';
import { TarScanner, type TarEntry } from './tar-scanner.ts';

const log = createLogger('checkpoint/archive');

export interface ArchiveMember {
  /** Header as read; `header.name` is the raw name (kept as is when re-packing). */
  header: Header;
  /** Normalized name: `checkpoint/`, `./checkpoint` -> `checkpoint`. */
  name: string;
  role: MemberRole;
}

/** Receives each member once it passed its checks, in archive order. */
export interface ArchiveVisitor {
  /** Small metadata, read whole (bounded); `json` is the parsed config.dump / spec.dump. */
  buffered(member: ArchiveMember, data: Buffer, json: Record<string, unknown> | undefined): Promise<void>;
  /** Everything else; `chunks` must be read to the end. Directories and links yield nothing. */
  streamed(member: ArchiveMember, chunks: AsyncIterable<Buffer>): Promise<void>;
}

/** Source host paths known at this point of the walk (from config.dump when it came first). */
export type SourcePathsProbe = () => { known: boolean; paths: SourceHostPaths };

/**
 * Network streams arrive in TLS-record pieces (16 KiB); every piece costs the
 * tar reader and each member's consumer a round of promises. Joined into
 * larger blocks first, a checkpoint archive is checked and written about a
 * third faster.
 */
const COALESCE_BYTES = 512 * 1024;

async function* coalesce(input: AsyncIterable<Uint8Array>, min: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (size === 0 && buf.length >= min) {
      yield buf;
      continue;
    }
    parts.push(buf);
    size += buf.length;
    if (size >= min) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

async function readAll(entry: TarEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function* passThrough(entry: TarEntry, nested: NestedTarInspector | undefined): AsyncGenerator<Buffer> {
  for await (const chunk of entry) {
    const buf = chunk as Buffer;
    if (nested !== undefined) await nested.write(buf);
    yield buf;
  }
}

/**
 * Reads a checkpoint archive once, checking every rule on the way, and hands
 * each member to `visitor`. Both validation and host rewrite run on this, so
 * they refuse exactly the same archives. Rejects with HostileArchiveError;
 * the input is destroyed on any failure.
 */
export async function walkCheckpointArchive(
  input: AsyncIterable<Uint8Array>,
  limits: ArchiveLimits,
  visitor: ArchiveVisitor | ((probe: SourcePathsProbe) => ArchiveVisitor),
): Promise<ArchiveInfo> {
  const collector = new ArchiveInfoCollector();
  const probe: SourcePathsProbe = () => ({
    known: collector.hasConfig(),
    paths: collector.sourceHostPaths(),
  });
  const visit = typeof visitor === 'function' ? visitor(probe) : visitor;
  const seen = new Set<string>();
  let memberCount = 0;
  let totalBytes = 0;

  const scanner = new TarScanner(undefined, async (entry) => {
    const header = entry.header;
    if (++memberCount > limits.maxMembers) {
      throw new HostileArchiveError(
        'too-many-members',
        { member: header.name },
        `more than ${limits.maxMembers} members`,
      );
    }
    const { name, role } = classifyOuterMember(header, limits);
    if (seen.has(name)) {
      throw new HostileArchiveError('duplicate-member', { member: header.name }, 'appears more than once');
    }
    seen.add(name);
    totalBytes += header.type === 'file' ? header.size : 0;
    if (totalBytes > limits.maxTotalBytes) {
      throw new HostileArchiveError(
        'total-size',
        { member: header.name },
        `members add up to more than the ${limits.maxTotalBytes}-byte limit`,
      );
    }
    const member: ArchiveMember = { header, name, role };
    if (BUFFERED_ROLES.has(role)) {
      const data = await readAll(entry);
      const json = collector.add(name, role, data);
      await visit.buffered(member, data, json);
      return;
    }
    collector.add(name, role);
    const nested = role === 'nested-tar' ? new NestedTarInspector(name, limits) : undefined;
    try {
      await visit.streamed(member, passThrough(entry, nested));
      if (nested !== undefined) collector.addNested(name, await nested.end());
    } catch (err) {
      nested?.abort(err);
      throw err;
    }
  });

  try {
    for await (const chunk of coalesce(input, COALESCE_BYTES)) await scanner.write(chunk);
    const { bytes } = await scanner.end();
    return collector.finish({ memberCount, totalBytes, archiveBytes: bytes });
  } catch (err) {
    scanner.abort(err);
    if (err instanceof HostileArchiveError) {
      log.warn('checkpoint archive rejected', {
        rule: err.rule,
        member: err.member,
        inside: err.inside,
      });
    }
    throw err;
  }
}
