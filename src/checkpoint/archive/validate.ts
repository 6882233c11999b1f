import type { ArchiveInfo } from './archive-info.ts';
import { resolveLimits, type ArchiveLimits } from './limits.ts';
import { walkCheckpointArchive } from './walk.ts';

/**
 * Reads a `podman container checkpoint --export` archive (uncompressed tar)
 * as a stream and returns what it holds, or rejects with HostileArchiveError
 * naming the member and the rule it breaks. Nothing is written to disk and
 * only small metadata members are held in memory.
 */
export async function validateArchive(
  input: AsyncIterable<Uint8Array>,
  limits: Partial<ArchiveLimits> = {},
): Promise<ArchiveInfo> {
  return walkCheckpointArchive(input, resolveLimits(limits), {
    async buffered() {},
    async streamed(_member, chunks) {
      for await (const _chunk of chunks) {
        // Drained only: the walk checks as the bytes pass.
      }
    },
  });
}
