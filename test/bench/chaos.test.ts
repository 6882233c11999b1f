import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchReport } from '../../src/bench/results.ts';

// `lifeboat bench chaos --quick` as CI runs it: its own 3-host cluster with two
// managers on etcd, at least 20 seeded faults, and every invariant holding.
// A fixed seed keeps CI reproducible; LIFEBOAT_CHAOS_SEED explores others.
const run = promisify(execFile);
const BIN = resolve(fileURLToPath(new URL('../../bin/lifeboat', import.meta.url)));
const SEED = process.env['LIFEBOAT_CHAOS_SEED'] ?? '20261206';
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-chaos-test-'));

let passed = false;

describe('lifeboat bench chaos --quick', () => {
  after(async () => {
    // a failed run keeps its report and the cluster's logs for the post-mortem
    if (passed) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`chaos results and logs kept in ${dir}\n`);
    // the bench takes its cluster down itself: nothing of it may remain
    assert.equal(existsSync('/sys/class/net/lbchaos0'), false, 'no chaos bridge left');
    const { stdout } = await run('ps', ['-eo', 'args']);
    assert.ok(!stdout.includes('/var/tmp/lifeboat-chaos/'), 'no chaos cluster process left');
    const { stdout: netns } = await run('ip', ['netns', 'list']);
    assert.ok(!/\blb-c\d+\b/.test(netns), 'no chaos host namespace left');
  });

  test('at least 20 faults, no invariant violated', { timeout: 20 * 60_000 }, async () => {
    let stdout = '';
    try {
      ({ stdout } = await run(BIN, ['bench', 'chaos', '--quick', '--seed', SEED, '--results', dir], {
        timeout: 19 * 60_000,
        maxBuffer: 64 * 1024 * 1024,
      }));
    } catch (err) {
      // exit code 1 means violations: the report below says which
      stdout = (err as { stdout?: string }).stdout ?? '';
      if (!stdout.includes('FAILED: chaos')) throw err;
    }
    const files = readdirSync(dir).filter((f) => /^chaos-.*\.json$/.test(f));
    assert.equal(files.length, 1, `one JSON result in ${readdirSync(dir).join(', ')}`);
    const r = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as BenchReport;
    assert.equal(r.bench, 'chaos');
    assert.equal(r.params['quick'], true);
    assert.equal(r.params['seed'], Number(SEED));
    const faults = r.derived?.['faults injected'] ?? 0;
    const violations = (r.details?.['violations'] ?? []) as {
      invariant: string;
      message: string;
      replay: string;
    }[];
    assert.ok(faults >= 20, `${faults} faults injected`);
    assert.deepEqual(
      violations.map((v) => `[${v.invariant}] ${v.message} (replay: ${v.replay})`),
      [],
      `seed ${SEED}`,
    );
    assert.equal(r.verdict?.ok, true);
    assert.ok((r.derived?.['Docker API calls'] ?? 0) > 0, 'the Docker API load ran');
    assert.ok((r.derived?.['acknowledged writes'] ?? 0) > 0, 'the writers ran');
    assert.ok(
      Number.isFinite(r.derived?.['Docker API p99 ms during faults']),
      'latency during faults measured',
    );
    assert.match(stdout, /passed: chaos: \d+ faults, 0 violation/);
    passed = true;
  });
});
