import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IMG_SERVICE_MAGIC, parseCriuStats, STATS_MAGIC } from './criu-stats.ts';
import { CriuStatsFormatError } from './errors.ts';
import { readFields, readVarint, ProtobufDecodeError } from './protobuf-reader.ts';

// stats-dump members of two real Podman 4.3 / CRIU 4.2 checkpoints (busybox loop, redis).
const COUNTER =
  '4059105506330957230000000a2108c61c1085a10a188d0920a2012831300038234000480050085808600068007000';
const REDIS =
  '4059105506330957250000000a2308c51f10a4c50a18e51e20990928d705300038e3044000480050085808600068007000';

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function statsImage(entry: number[]): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(IMG_SERVICE_MAGIC, 0);
  head.writeUInt32LE(STATS_MAGIC, 4);
  head.writeUInt32LE(entry.length, 8);
  return Buffer.concat([head, Buffer.from(entry)]);
}

describe('parseCriuStats', () => {
  test('reads the dump statistics of a real busybox checkpoint', () => {
    const stats = parseCriuStats(Buffer.from(COUNTER, 'hex'));
    assert.deepEqual(stats, {
      dump: {
        freezingTimeUs: 3654,
        frozenTimeUs: 168069,
        memdumpTimeUs: 1165,
        memwriteTimeUs: 162,
        pagesScanned: 49,
        pagesSkippedParent: 0,
        pagesWritten: 35,
        irmapResolveUs: 0,
        pagesLazy: 0,
        pagePipes: 8,
        pagePipeBufs: 8,
        shpagesScanned: 0,
        shpagesSkippedParent: 0,
        shpagesWritten: 0,
      },
    });
  });

  test('reads the dump statistics of a real redis checkpoint', () => {
    const dump = parseCriuStats(Buffer.from(REDIS, 'hex')).dump;
    assert.equal(dump?.frozenTimeUs, 172708);
    assert.equal(dump?.pagesScanned, 727);
    assert.equal(dump?.pagesWritten, 611);
    assert.equal(dump?.memwriteTimeUs, 1177);
  });

  test('reads restore statistics (stats-restore)', () => {
    const restore = [
      0x08,
      ...varint(10),
      0x10,
      ...varint(2),
      0x18,
      ...varint(1500),
      0x20,
      ...varint(250000),
      0x28,
      ...varint(611),
    ];
    const stats = parseCriuStats(statsImage([0x12, restore.length, ...restore]));
    assert.deepEqual(stats, {
      restore: {
        pagesCompared: 10,
        pagesSkippedCow: 2,
        forkingTimeUs: 1500,
        restoreTimeUs: 250000,
        pagesRestored: 611,
      },
    });
  });

  test('skips fields it does not know, as protobuf readers do', () => {
    const dump = [0x08, 5, 0x78, ...varint(99), 0x82, 0x01, 2, 0xaa, 0xbb, 0x38, 7];
    const stats = parseCriuStats(statsImage([0x0a, dump.length, ...dump, 0x1a, 1, 0]));
    assert.deepEqual(stats, { dump: { freezingTimeUs: 5, pagesWritten: 7 } });
  });

  test('keeps 64-bit page counters', () => {
    const big = 2 ** 40 + 3;
    const dump = [0x38, ...varint(big)];
    assert.equal(parseCriuStats(statsImage([0x0a, dump.length, ...dump])).dump?.pagesWritten, big);
  });

  test('refuses what is not a stats image', () => {
    const good = Buffer.from(COUNTER, 'hex');
    const badMagic = Buffer.from(good);
    badMagic.writeUInt32LE(0x54564319, 0);
    const badStats = Buffer.from(good);
    badStats.writeUInt32LE(0x12345678, 4);
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.alloc(4), /too short/],
      [badMagic, /bad image magic 0x54564319/],
      [badStats, /bad stats magic 0x12345678/],
      [good.subarray(0, good.length - 5), /runs past the end/],
      [statsImage([0x0a, 0x05, 0x08]), /runs past the end/],
      [statsImage([0x0a, 0x02, 0x0d, 0x00]), /fixed field 1 runs past the end|not a varint/],
      [statsImage([0x08, 0x01]), /not a message/],
    ];
    for (const [buf, message] of cases) {
      assert.throws(
        () => parseCriuStats(buf),
        (err: unknown) =>
          err instanceof CriuStatsFormatError &&
          err.code === 'criu_stats_invalid' &&
          message.test(err.message),
        message.source,
      );
    }
  });
});

describe('protobuf reader', () => {
  test('decodes multi-byte varints', () => {
    assert.deepEqual(readVarint(Uint8Array.from([0xac, 0x02]), 0), { value: 300, next: 2 });
    assert.deepEqual(readVarint(Uint8Array.from([0, 0x96, 0x01]), 1), { value: 150, next: 3 });
  });

  test('splits fields of every wire type', () => {
    const buf = Uint8Array.from([
      0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x02, 0x68, 0x69, 0x25, 9, 9, 9, 9,
    ]);
    const fields = [...readFields(buf)].map((f) => ({ field: f.field, wireType: f.wireType }));
    assert.deepEqual(fields, [
      { field: 1, wireType: 0 },
      { field: 2, wireType: 1 },
      { field: 3, wireType: 2 },
      { field: 4, wireType: 5 },
    ]);
  });

  test('refuses groups, overlong varints and field 0', () => {
    assert.throws(() => [...readFields(Uint8Array.from([0x0b]))], ProtobufDecodeError);
    assert.throws(() => readVarint(new Uint8Array(11).fill(0xff), 0), /longer than 10 bytes/);
    assert.throws(() => [...readFields(Uint8Array.from([0x00, 0x01]))], /field number 0/);
  });
});
