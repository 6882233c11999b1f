import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchReport } from '../../src/bench/results.ts';

// `lifeboat bench NAME --quick` as CI runs it: the files come out well-formed.
// Timings are not judged here (a shared CI machine); only the shape of the output.
const run = promisify(execFile);
const BIN = resolve(fileURLToPath(new URL('../../bin/lifeboat', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-smoke-'));

/** Runs `lifeboat bench NAME --quick` into its own directory; checks the three files and returns them. */
async function quick(
  name: string,
  timeoutMs: number,
): Promise<{ r: BenchReport; md: string; svg: string; stdout: string }> {
  const out = join(dir, name);
  mkdirSync(out);
  const { stdout } = await run(BIN, ['bench', name, '--quick', '--results', out], { timeout: timeoutMs });
  const files = readdirSync(out).sort();
  const base = files.find((f) => new RegExp(`^${name}-.*\\.json$`).test(f))?.replace(/\.json$/, '');
  assert.ok(base, `a JSON result in ${files.join(', ')}`);
  assert.deepEqual(files, [`${base}.json`, `${base}.md`, `${base}.svg`]);
  const r = JSON.parse(readFileSync(join(out, `${base}.json`), 'utf8')) as BenchReport;
  assert.equal(r.schema, 1);
  assert.equal(r.bench, name);
  assert.equal(r.params['quick'], true);
  assert.ok(r.machine.cores >= 1 && r.machine.kernel.length > 0);
  const md = readFileSync(join(out, `${base}.md`), 'utf8');
  assert.match(md, /^\| variant \|/m);
  assert.match(md, /^\| --- \|/m);
  const svg = readFileSync(join(out, `${base}.svg`), 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
  assert.match(svg, /<\/svg>\s*$/);
  assert.equal((svg.match(/<svg/g) ?? []).length, (svg.match(/<\/svg>/g) ?? []).length);
  assert.ok(svg.includes('<rect x="'), 'at least one bar');
  // the table is printed too
  assert.match(stdout, /^\| variant \|/m);
  return { r, md, svg, stdout };
}

function assertMetrics(r: BenchReport, metrics: string[]): void {
  assert.ok(r.samples.length > 0, 'samples');
  for (const s of r.samples)
    for (const m of metrics) assert.equal(typeof s.metrics[m], 'number', `${s.group} ${m}`);
}

describe('lifeboat bench --quick', () => {
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    // the bench takes its cluster down itself; nothing of it may remain
    assert.equal(existsSync('/sys/class/net/lbbench0'), false, 'no bench bridge left');
    const { stdout } = await run('ps', ['-eo', 'args']);
    assert.ok(!stdout.includes('/var/tmp/lifeboat-bench/'), 'no bench cluster process left');
  });

  test('migrate --quick writes JSON, Markdown and SVG results', { timeout: 240_000 }, async () => {
    const { r, md } = await quick('migrate', 230_000);
    const groups = new Set(r.samples.map((s) => s.group));
    for (const g of ['lifeboat stream 5MB dir', 'lifeboat store 5MB dir', 'podman baseline 5MB dir'])
      assert.ok(groups.has(g), `samples of ${g}`);
    assertMetrics(r, ['totalMs', 'checkpointMs', 'transferMs', 'restoreMs', 'removeMs', 'criuShare']);
    // the connected client (issue 19): its one connection carried through the move on the cluster network
    const conn = r.samples.find((s) => s.group === 'lifeboat stream, connected client, 5MB dir');
    assert.ok(conn, 'a connected-client run');
    assert.equal(
      conn.metrics['connectionSurvived'],
      1,
      `the connection survived: ${JSON.stringify(conn.info)}`,
    );
    assert.equal(conn.metrics['writesLost'], 0);
    assert.ok(conn.metrics['longestGapMs']! > 0);
    assert.ok(r.summary.some((x) => x.metric === 'totalMs' && x.stats.n >= 1));
    assert.ok(Object.keys(r.derived ?? {}).some((k) => k.startsWith('total ratio')));
    assert.ok(r.notes.some((n) => /pre-dump/.test(n)));
    assert.match(md, /^\| variant \| total ms \|/m);
  });

  test(
    'ticker-overhead --quick: a job without and with a 2 s ticker, slowdown against the baseline',
    { timeout: 180_000 },
    async () => {
      const { r, md } = await quick('ticker-overhead', 170_000);
      assert.deepEqual([...new Set(r.samples.map((s) => s.group))], ['no checkpoints dir', 'every 2s dir']);
      assertMetrics(r, ['runSec', 'slowdownPct', 'checkpoints', 'frozenMs']);
      const base = r.samples.find((s) => s.group === 'no checkpoints dir')!;
      assert.equal(base.metrics['checkpoints'], 0, 'no ticker, no checkpoint');
      assert.equal(base.metrics['slowdownPct'], 0);
      assert.ok(base.metrics['runSec']! > 0);
      // the ticker ran: a dump that met the job's exit fails, and is counted as such
      const ticked = r.samples.find((s) => s.group === 'every 2s dir')!.metrics;
      assert.ok(ticked['checkpoints']! + ticked['failedCheckpoints']! >= 1, 'the ticker ran');
      assert.ok(Object.keys(r.derived ?? {}).some((k) => k.startsWith('slowdown % every 2s')));
      assert.deepEqual(r.params['intervalsSec'], [2]);
      assert.match(md, /^\| variant \| run time s \| slowdown % \|/m);
    },
  );

  test(
    'failover --quick: time to serve and writes lost, checkpoint restore vs Swarm restart',
    { timeout: 240_000 },
    async () => {
      const { r, md } = await quick('failover', 230_000);
      const groups = new Set(r.samples.map((s) => s.group));
      for (const g of ['lifeboat checkpoint 5MB dir', 'swarm on-node-failure 5MB dir'])
        assert.ok(groups.has(g), `samples of ${g} (notes: ${r.notes.join(' / ')})`);
      assertMetrics(r, ['totalMs', 'detectMs', 'writesAcked', 'writesLost', 'populatedKeptPct']);
      for (const s of r.samples) {
        assert.ok(s.metrics['writesAcked']! > 0, `${s.group}: the client wrote`);
        assert.ok(s.metrics['writesLost']! <= s.metrics['writesAcked']!);
      }
      // Swarm's restart has no state by design
      const swarm = r.samples.find((s) => s.group.startsWith('swarm'))!;
      assert.equal(swarm.metrics['populatedKeptPct'], 0);
      assert.match(md, /^\| variant \| kill → serving ms \|/m);
    },
  );

  test('storage --quick: store bytes with retention vs all archives', { timeout: 180_000 }, async () => {
    const { r, md } = await quick('storage', 170_000);
    assert.deepEqual([...new Set(r.samples.map((s) => s.group))], ['redis 1MB VG1 dir']);
    assertMetrics(r, ['ticks', 'versionsKept', 'versionsExpected', 'storeMB', 'allArchivesMB', 'ratio']);
    const s = r.samples[0]!;
    assert.ok(s.metrics['ticks']! >= 5);
    assert.ok(s.metrics['versionsKept']! >= 1 && s.metrics['versionsKept']! <= s.metrics['ticks']!);
    assert.ok(s.metrics['storeMB']! > 0 && s.metrics['allArchivesMB']! > 0);
    assert.ok(r.notes.some((n) => /soft-dirty/.test(n)));
    assert.match(md, /^\| variant \| ticks \| versions kept \|/m);
  });

  test(
    'drain --quick: a drain of N Redis under client load vs N sequential moves',
    { timeout: 240_000 },
    async () => {
      const { r, md } = await quick('drain', 230_000);
      assert.deepEqual(
        r.samples.map((s) => s.group),
        ['N=1', 'N=2'],
      );
      assertMetrics(r, ['drainMs', 'sequentialMs', 'ratio', 'drainDowntimeMaxMs', 'singleDowntimeMedianMs']);
      for (const s of r.samples) assert.ok(s.metrics['drainMs']! > 0 && s.metrics['sequentialMs']! > 0);
      assert.match(md, /^\| variant \| parallel \| drain ms \|/m);
    },
  );
});
