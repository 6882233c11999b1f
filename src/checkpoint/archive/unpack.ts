import { createWriteStream, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { ArchiveInfo } from './archive-info.ts';
import { resolveLimits, type ArchiveLimits } from './limits.ts';
import { PARENT_LINK } from './member-policy.ts';
import { walkCheckpointArchive } from './walk.ts';

/**
 * Unpacks a checkpoint archive into `dir` (which must exist and be private)
 * while checking it by the same rules as validateArchive(): member names are
 * checked before anything is created, so nothing lands outside `dir`, and
 * nested tars (rootfs diff, /dev/shm, volumes) are inspected while they are
 * written. Resolves once the whole archive passed; on rejection the caller
 * removes `dir`, nothing of it having reached Podman. Memory stays bounded:
 * CRIU images stream to their files with backpressure.
 */
export async function unpackArchive(
  input: AsyncIterable<Uint8Array>,
  dir: string,
  opts: {
    limits?: Partial<ArchiveLimits>;
    /**
     * Called once config.dump and spec.dump have both passed their checks,
     * while the rest still streams in: what needs only the configuration
     * (creating the container) need not wait for the memory pages.
     */
    onConfig?: (config: { configDump: Buffer; specDump: Buffer }) => void;
  } = {},
): Promise<ArchiveInfo> {
  const config: { configDump?: Buffer; specDump?: Buffer } = {};
  return walkCheckpointArchive(input, resolveLimits(opts.limits), {
    async buffered(member, data) {
      mkdirSync(dirname(join(dir, member.name)), { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, member.name), data, { mode: 0o600 });
      if (member.role === 'config-dump') config.configDump = data;
      if (member.role === 'spec-dump') config.specDump = data;
      if (
        (member.role === 'config-dump' || member.role === 'spec-dump') &&
        config.configDump &&
        config.specDump
      )
        opts.onConfig?.({ configDump: config.configDump, specDump: config.specDump });
    },
    async streamed(member, chunks) {
      const path = join(dir, member.name);
      if (member.role === 'directory') {
        mkdirSync(path, { recursive: true, mode: 0o700 });
        for await (const _ of chunks) {
          // directories have no body
        }
        return;
      }
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      if (member.role === 'parent-link') {
        symlinkSync(PARENT_LINK.target, path);
        return;
      }
      const out = createWriteStream(path, { mode: 0o600, highWaterMark: 1 << 20 });
      // reported through `finished` below; a late error (the directory removed after a refusal
      // while the file was still being opened) must not become an uncaught exception
      out.on('error', () => undefined);
      try {
        for await (const chunk of chunks) {
          if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
        }
        out.end();
        await finished(out);
      } catch (err) {
        out.destroy();
        throw err;
      }
    },
  });
}
