import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesUnder, versionsKeptAfter } from './storage-bench.ts';
import { keysForMb } from './redis-fill.ts';

describe('storage bench logic', () => {
  test('versions kept after N ticks follow Algorithm 1: at most three groups of VG versions', () => {
    assert.equal(versionsKeptAfter(0, 5), 0);
    assert.equal(versionsKeptAfter(4, 5), 4);
    assert.equal(versionsKeptAfter(15, 5), 15);
    // the 16th dump opens group 3; group 0 goes
    assert.equal(versionsKeptAfter(16, 5), 11);
    assert.equal(versionsKeptAfter(30, 5), 15);
    assert.equal(versionsKeptAfter(31, 5), 11);
    assert.equal(versionsKeptAfter(5, 1), 3);
    assert.equal(versionsKeptAfter(100, 1), 3);
    assert.equal(versionsKeptAfter(10, 2, 2), 4);
  });

  test("bytes under a directory: every file, recursively, without the store's dot-files", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-store-bytes-'));
    try {
      mkdirSync(join(dir, '0'));
      mkdirSync(join(dir, '.deleting-1'));
      writeFileSync(join(dir, '0', '0.lbx'), Buffer.alloc(1000));
      writeFileSync(join(dir, '0', '0.json'), Buffer.alloc(24));
      writeFileSync(join(dir, '0', '.tmp-x'), Buffer.alloc(500));
      writeFileSync(join(dir, '.deleting-1', '1.lbx'), Buffer.alloc(700));
      assert.deepEqual(await bytesUnder(dir), { bytes: 1024, files: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('populate sizes: about 1100 bytes per key, at least one key', () => {
    assert.equal(keysForMb(11), 10_000);
    assert.equal(keysForMb(0.0001), 1);
  });
});
