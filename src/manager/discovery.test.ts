import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoveredAddresses, expandRange, parseDiscovery, parseDiscoveryFile } from './discovery.ts';

test('nodes:// lists HOST:PORT entries, duplicates once', () => {
  assert.deepEqual(parseDiscovery('nodes://10.0.0.1:7443,10.0.0.2:7443,10.0.0.1:7443'), {
    kind: 'nodes',
    addresses: ['10.0.0.1:7443', '10.0.0.2:7443'],
  });
  assert.deepEqual(parseDiscovery('nodes://[fd00::1]:7443').kind, 'nodes');
});

test("Swarm's range pattern expands", () => {
  assert.deepEqual(expandRange('10.0.0.[10:12]:7443'), [
    '10.0.0.10:7443',
    '10.0.0.11:7443',
    '10.0.0.12:7443',
  ]);
  assert.deepEqual(
    parseDiscovery('nodes://h[1:2]:7443').kind === 'nodes' && parseDiscovery('nodes://h[1:2]:7443'),
    {
      kind: 'nodes',
      addresses: ['h1:7443', 'h2:7443'],
    },
  );
});

test('bad discovery forms are refused with the form to use', () => {
  for (const [spec, why] of [
    ['consul://x', /unknown form/],
    ['nodes://', /empty entry/],
    ['nodes://10.0.0.1', /not HOST:PORT/],
    ['nodes://10.0.0.1:99999', /not HOST:PORT/],
    ['nodes://10.0.0.[3:1]:7443', /runs backwards/],
    ['nodes://10.0.0.[1:9999]:7443', /more than/],
    ['nodes://10.0.0.[1:x]:7443', /malformed range/],
    ['file://relative/path', /absolute/],
  ] as const) {
    assert.throws(
      () => parseDiscovery(spec),
      (e: Error & { hint?: string }) => why.test(e.message),
      spec,
    );
  }
});

test('a discovery file: comments and blank lines skipped, re-read each time', async () => {
  assert.deepEqual(parseDiscoveryFile('# hosts\n10.0.0.1:7443\n\n10.0.0.[2:3]:7443 # rack b\n', '/f'), [
    '10.0.0.1:7443',
    '10.0.0.2:7443',
    '10.0.0.3:7443',
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'lb-disc-'));
  try {
    const f = join(dir, 'cluster');
    const d = parseDiscovery(`file://${f}`);
    await assert.rejects(discoveredAddresses(d), /cannot be read/);
    writeFileSync(f, 'a:1\n');
    assert.deepEqual(await discoveredAddresses(d), ['a:1']);
    writeFileSync(f, 'a:1\nb:2\n');
    assert.deepEqual(await discoveredAddresses(d), ['a:1', 'b:2']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
