import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MARKER_DIR, StoreMarkers } from './store-markers.ts';

test('a host writes its marker, sees the others, and lists at most every 10 s', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lb-markers-'));
  let now = 1_000_000;
  try {
    const a = new StoreMarkers(root, 'a', 'boot-a', 30_000, () => now);
    assert.deepEqual(await a.sees(), ['a'], 'writes its own, even into a missing directory');
    writeFileSync(join(root, MARKER_DIR, 'b'), '{}');
    assert.deepEqual(await a.sees(), ['a'], 'the listing is kept for a while');
    now += 10_000;
    assert.deepEqual(await a.sees(), ['a', 'b']);
    writeFileSync(join(root, MARKER_DIR, '.c.tmp'), '{}');
    now += 10_000;
    assert.deepEqual(await a.sees(), ['a', 'b'], 'temporary files are not markers');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
