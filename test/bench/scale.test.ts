import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchReport } from '../../src/bench/results.ts';

// `lifeboat bench scale --quick` as CI runs it: 50 hollow hosts, one manager, a 3-member etcd.
// Only the shape of the results and that every phase completed are checked, never timings
// (they are the bench's output, on a shared machine).
const run = promisify(execFile);
const BIN = resolve(fileURLToPath(new URL('../../bin/lifeboat', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-scale-'));

async function leftovers(): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'args']);
  return stdout
    .split('\n')
    .filter((l) => l.includes('/var/tmp/lifeboat-scale-') || l.includes('hollow/fleet-main'));
}

describe('lifeboat bench scale --quick', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test(
    'hollow hosts join, every phase is measured, and nothing is left behind',
    { timeout: 300_000 },
    async () => {
      const before = readdirSync('/var/tmp').filter((f) => f.startsWith('lifeboat-scale-'));
      const { stdout } = await run(BIN, ['bench', 'scale', '--quick', '--results', dir], {
        timeout: 290_000,
        env: { ...process.env, LIFEBOAT_LOG_LEVEL: 'warn' },
      });
      const files = readdirSync(dir).sort();
      const base = files.find((f) => /^scale-.*\.json$/.test(f))?.replace(/\.json$/, '');
      assert.ok(base, `a JSON result in ${files.join(', ')}`);
      assert.deepEqual(files, [`${base}.json`, `${base}.md`, `${base}.svg`]);
      const r = JSON.parse(readFileSync(join(dir, `${base}.json`), 'utf8')) as BenchReport;
      assert.equal(r.bench, 'scale');
      assert.equal(r.params['quick'], true);
      assert.deepEqual(
        r.samples.map((s) => s.group),
        ['50x20/1m'],
        `every variant completed (notes: ${r.notes.join('; ')})`,
      );
      const m = r.samples[0]!.metrics;
      for (const k of [
        'manager_cpu_cores',
        'manager_rss_max_mb',
        'etcd_writes_per_s',
        'etcd_db_mb',
        'heartbeat_rtt_p99_ms',
        'place_p99_ms',
        'ps_p99_ms',
        'inspect_p99_ms',
        'node_ls_p99_ms',
        'detect_1_ms',
        'detect_5_last_ms',
        'restore_all_s',
      ])
        assert.ok(Number.isFinite(m[k]), `${k} measured (${m[k]})`);
      // `docker ps -a` lists every reported container and every managed one
      assert.equal(m['ps_rows'], 50 * 20 + 100);
      assert.equal(m['place_errors'], 0, String(r.samples[0]!.info?.['place_error']));
      assert.equal(m['restored'], 100, 'every managed container of the dead hosts came back');
      assert.match(stdout, /^\| variant \|/m);
      assert.match(readFileSync(join(dir, `${base}.md`), 'utf8'), /^\| variant \|/m);
      // the bench took down what it started
      assert.deepEqual(await leftovers(), []);
      const after = readdirSync('/var/tmp').filter((f) => f.startsWith('lifeboat-scale-'));
      assert.deepEqual(after, before, 'no scale root left under /var/tmp');
      assert.equal(existsSync(join(dir, 'scale-failed-logs')), false);
    },
  );
});
