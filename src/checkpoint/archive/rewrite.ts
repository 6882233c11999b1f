import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { createLogger } from '../../util/log.ts';
import type { ArchiveInfo } from './archive-info.ts';
import { ArchiveRewriteError } from './errors.ts';
import {
  checkTargetPaths,
  rewriteConfigDump,
  rewriteSpecDump,
  type HostPaths,
  type JsonRewrite,
  type SourceHostPaths,
} from './host-paths.ts';
import { resolveLimits, type ArchiveLimits } from './limits.ts';
import { drainedOrClosed } from './tar-scanner.ts';
import { walkCheckpointArchive, type ArchiveMember } from './walk.ts';

const log = createLogger('checkpoint/archive');

export type RewriteTarget = HostPaths;

export interface RewriteOptions {
  limits?: Partial<ArchiveLimits>;
  /**
   * Source host paths, e.g. from a prior validateArchive(). Without them they
   * are read from config.dump, which Podman writes before spec.dump.
   */
  source?: SourceHostPaths;
}

export interface RewriteSummary {
  /** Source host paths that were replaced. */
  source: SourceHostPaths;
  target: HostPaths;
  configStringsChanged: number;
  specStringsChanged: number;
  cgroupsPath?: { from: string; to: string };
}

/** ArchiveInfo of the input archive, plus what the rewrite changed. */
export type RewrittenArchiveInfo = ArchiveInfo & { rewrite: RewriteSummary };

type Pack = ReturnType<typeof tar.pack>;
type Sink = ReturnType<Pack['entry']>;

// tar-stream's pack replaces a zero mode with its default; a bit above the
// permission mask keeps it non-zero and is masked off when encoding.
const ZERO_MODE = 0o1000000;

function packHeader(h: Header, size: number): Header {
  const pax = h.pax && typeof h.pax === 'object' ? { ...(h.pax as Record<string, string>) } : undefined;
  // tar-stream writes path, linkpath and size itself; copying them would duplicate records.
  if (pax !== undefined) for (const key of ['path', 'linkpath', 'size']) delete pax[key];
  return {
    name: h.name,
    type: h.type,
    size,
    mode: h.mode === 0 ? ZERO_MODE : h.mode,
    mtime: h.mtime,
    linkname: h.linkname ?? '',
    uid: h.uid,
    gid: h.gid,
    uname: h.uname,
    gname: h.gname,
    devmajor: h.devmajor,
    devminor: h.devminor,
    pax: pax !== undefined && Object.keys(pax).length > 0 ? pax : null,
  };
}

function outputClosed(cause?: unknown): ArchiveRewriteError {
  // Not the archive's fault: whoever read `output` stopped early (500, not 400).
  return new ArchiveRewriteError('rewritten archive output was closed before the archive was complete', {
    status: 500,
    cause,
  });
}

/** Entry callback: a failure caused by the consumer abandoning `output` is reported as such. */
function settle(
  pack: Pack,
  resolve: () => void,
  reject: (err: unknown) => void,
): (err?: Error | null) => void {
  return (err) => (err ? reject(pack.destroying ? outputClosed(err) : err) : resolve());
}

// Errors of a destroyed entry sink are reported through its callback; without
// a listener the 'error' event would crash the process.
const ignoreErrors = (sink: Sink): void => void sink.on('error', () => undefined);

function addBuffered(pack: Pack, header: Header, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pack.destroying) return reject(outputClosed());
    ignoreErrors(pack.entry(header, data, settle(pack, resolve, reject)));
  });
}

async function addStreamed(pack: Pack, header: Header, chunks: AsyncIterable<Buffer>): Promise<void> {
  if (pack.destroying) throw outputClosed();
  let sink!: Sink;
  const finished = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, settle(pack, resolve, reject));
  });
  ignoreErrors(sink);
  finished.catch(() => undefined);
  for await (const chunk of chunks) {
    if (!sink.write(chunk)) await drainedOrClosed(sink);
    if (sink.destroying) throw outputClosed();
  }
  sink.end(undefined);
  await finished;
}

/**
 * Re-packs a checkpoint archive for another host: config.dump and spec.dump
 * get the target's runroot, graphroot and cgroup parent; every other member
 * streams through byte for byte, in order, with its mode and mtime. The
 * input is checked by the same rules as validateArchive() on the way.
 *
 * Read `output` to the end (it is backpressured), then await `info`. On any
 * failure `output` errors and `info` rejects with the same error; discard
 * what was written.
 */
export function rewriteArchive(
  input: AsyncIterable<Uint8Array>,
  target: RewriteTarget,
  opts: RewriteOptions = {},
): { output: Readable; info: Promise<RewrittenArchiveInfo> } {
  const limits = resolveLimits(opts.limits);
  const tgt = checkTargetPaths(target);
  const pack = tar.pack();
  const output = Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
  const summary: RewriteSummary = { source: {}, target: tgt, configStringsChanged: 0, specStringsChanged: 0 };
  const warnings: string[] = [];

  const run = async (): Promise<RewrittenArchiveInfo> => {
    const info = await walkCheckpointArchive(input, limits, (probe) => {
      const sourcePaths = (member: string): SourceHostPaths => {
        if (opts.source !== undefined) return opts.source;
        const { known, paths } = probe();
        if (!known) {
          throw new ArchiveRewriteError(
            `${member} comes before config.dump, so the source host paths are not known yet`,
            { hint: 'Validate the archive first and pass the ArchiveInfo paths as options.source.' },
          );
        }
        return paths;
      };
      const apply = (member: ArchiveMember, text: string): JsonRewrite | undefined => {
        if (member.role === 'config-dump') return rewriteConfigDump(text, sourcePaths(member.name), tgt);
        if (member.role === 'spec-dump') return rewriteSpecDump(text, sourcePaths(member.name), tgt);
        return undefined;
      };
      return {
        async buffered(member, data) {
          const rewritten = apply(member, data.toString('utf8'));
          let body = data;
          if (rewritten !== undefined) {
            body = Buffer.from(rewritten.text, 'utf8');
            warnings.push(...rewritten.warnings.map((w) => `${member.name}: ${w}`));
            summary.source = sourcePaths(member.name);
            if (member.role === 'config-dump') summary.configStringsChanged = rewritten.changed;
            else summary.specStringsChanged = rewritten.changed;
            if (rewritten.cgroupsPath !== undefined) summary.cgroupsPath = rewritten.cgroupsPath;
          }
          await addBuffered(pack, packHeader(member.header, body.length), body);
        },
        async streamed(member, chunks) {
          const size = member.header.type === 'file' ? member.header.size : 0;
          await addStreamed(pack, packHeader(member.header, size), chunks);
        },
      };
    });
    pack.finalize();
    log.debug('checkpoint archive rewritten', {
      container: info.containerName,
      config: summary.configStringsChanged,
      spec: summary.specStringsChanged,
    });
    return { ...info, warnings: [...info.warnings, ...warnings], rewrite: summary };
  };

  const info = run().catch((err: unknown) => {
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  });
  // Callers that only consume `output` still see the failure there; this keeps
  // an unobserved `info` from becoming an unhandled rejection.
  info.catch(() => undefined);
  return { output, info };
}
