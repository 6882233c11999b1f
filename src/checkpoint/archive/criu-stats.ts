import type { CriuDumpStats, CriuRestoreStats } from '../../engine/types.ts';
import { CriuStatsFormatError } from './errors.ts';
import { ProtobufDecodeError, readFields } from './protobuf-reader.ts';

/** First magic of CRIU's service images (images/magic.h: IMG_SERVICE_MAGIC, "Zlatoust"). */
export const IMG_SERVICE_MAGIC = 0x55105940;
/** Second magic of `stats-dump` / `stats-restore` (images/magic.h: STATS_MAGIC). */
export const STATS_MAGIC = 0x57093306;

/** DumpStatsEntry of CRIU's images/stats.proto; times in microseconds. */
export interface CriuDumpStatsFull extends CriuDumpStats {
  irmapResolveUs?: number;
  pagesLazy?: number;
  pagePipes?: number;
  pagePipeBufs?: number;
  shpagesScanned?: number;
  shpagesSkippedParent?: number;
  shpagesWritten?: number;
}

/** RestoreStatsEntry of CRIU's images/stats.proto; times in microseconds. */
export interface CriuRestoreStatsFull extends CriuRestoreStats {
  pagesCompared?: number;
  pagesSkippedCow?: number;
}

export interface CriuStatsImage {
  dump?: CriuDumpStatsFull;
  restore?: CriuRestoreStatsFull;
}

const DUMP_FIELDS: Record<number, keyof CriuDumpStatsFull> = {
  1: 'freezingTimeUs',
  2: 'frozenTimeUs',
  3: 'memdumpTimeUs',
  4: 'memwriteTimeUs',
  5: 'pagesScanned',
  6: 'pagesSkippedParent',
  7: 'pagesWritten',
  8: 'irmapResolveUs',
  9: 'pagesLazy',
  10: 'pagePipes',
  11: 'pagePipeBufs',
  12: 'shpagesScanned',
  13: 'shpagesSkippedParent',
  14: 'shpagesWritten',
};

const RESTORE_FIELDS: Record<number, keyof CriuRestoreStatsFull> = {
  1: 'pagesCompared',
  2: 'pagesSkippedCow',
  3: 'forkingTimeUs',
  4: 'restoreTimeUs',
  5: 'pagesRestored',
};

function decodeNumbers<T extends object>(bytes: Uint8Array, names: Record<number, keyof T>): T {
  const out: Record<string, number> = {};
  for (const f of readFields(bytes)) {
    const name = names[f.field];
    // Fields CRIU may add later are skipped, as protobuf readers do.
    if (name === undefined) continue;
    if (f.wireType !== 0) throw new CriuStatsFormatError(`field ${String(name)} is not a varint`);
    out[name as string] = f.value;
  }
  return out as T;
}

/**
 * Parses CRIU's stats image: two little-endian u32 magics, then one entry
 * framed as u32 length + protobuf `StatsEntry { dump = 1; restore = 2; }`.
 */
export function parseCriuStats(buf: Uint8Array): CriuStatsImage {
  if (buf.length < 12) throw new CriuStatsFormatError(`${buf.length} bytes is too short`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== IMG_SERVICE_MAGIC) throw new CriuStatsFormatError(`bad image magic 0x${magic.toString(16)}`);
  const statsMagic = view.getUint32(4, true);
  if (statsMagic !== STATS_MAGIC)
    throw new CriuStatsFormatError(`bad stats magic 0x${statsMagic.toString(16)}`);
  const size = view.getUint32(8, true);
  if (12 + size > buf.length) throw new CriuStatsFormatError(`entry of ${size} bytes runs past the end`);
  const entry = buf.subarray(12, 12 + size);

  const result: CriuStatsImage = {};
  try {
    for (const f of readFields(entry)) {
      if (f.field !== 1 && f.field !== 2) continue;
      if (f.wireType !== 2) throw new CriuStatsFormatError(`StatsEntry field ${f.field} is not a message`);
      if (f.field === 1) result.dump = decodeNumbers<CriuDumpStatsFull>(f.bytes, DUMP_FIELDS);
      else result.restore = decodeNumbers<CriuRestoreStatsFull>(f.bytes, RESTORE_FIELDS);
    }
  } catch (err) {
    if (err instanceof ProtobufDecodeError) throw new CriuStatsFormatError(err.message);
    throw err;
  }
  return result;
}
