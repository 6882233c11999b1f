import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchReport } from '../../src/bench/results.ts';

// `lifeboat bench migrate --quick` as CI runs it: the files come out well-formed.
// Timings are not judged here (a shared CI machine); only the shape of the output.
const run = promisify(execFile);
const BIN = resolve(fileURLToPath(new URL('../../bin/lifeboat', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-smoke-'));

describe('lifeboat bench --quick', () => {
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    // the bench takes its cluster down itself; nothing of it may remain
    assert.equal(existsSync('/sys/class/net/lbbench0'), false, 'no bench bridge left');
    const { stdout } = await run('ps', ['-eo', 'args']);
    assert.ok(!stdout.includes('/var/tmp/lifeboat-bench/'), 'no bench cluster process left');
  });

  test('migrate --quick writes JSON, Markdown and SVG results', { timeout: 240_000 }, async () => {
    await run(BIN, ['bench', 'migrate', '--quick', '--results', dir], { timeout: 230_000 });
    const files = readdirSync(dir).sort();
    const base = files.find((f) => /^migrate-.*\.json$/.test(f))?.replace(/\.json$/, '');
    assert.ok(base, `a JSON result in ${files.join(', ')}`);
    assert.deepEqual(files, [`${base}.json`, `${base}.md`, `${base}.svg`]);

    const r = JSON.parse(readFileSync(join(dir, `${base}.json`), 'utf8')) as BenchReport;
    assert.equal(r.schema, 1);
    assert.equal(r.bench, 'migrate');
    assert.ok(r.machine.cores >= 1 && r.machine.kernel.length > 0);
    const groups = new Set(r.samples.map((s) => s.group));
    for (const g of ['lifeboat stream 5MB dir', 'lifeboat store 5MB dir', 'podman baseline 5MB dir'])
      assert.ok(groups.has(g), `samples of ${g}`);
    for (const s of r.samples)
      for (const m of ['totalMs', 'checkpointMs', 'transferMs', 'restoreMs', 'removeMs', 'criuShare'])
        assert.equal(typeof s.metrics[m], 'number', `${s.group} ${m}`);
    assert.ok(r.summary.some((x) => x.metric === 'totalMs' && x.stats.n >= 1));
    assert.ok(Object.keys(r.derived ?? {}).some((k) => k.startsWith('total ratio')));
    assert.ok(r.notes.some((n) => /pre-dump/.test(n)));

    const md = readFileSync(join(dir, `${base}.md`), 'utf8');
    assert.match(md, /^\| variant \| total ms \|/m);
    assert.match(md, /^\| --- \|/m);

    const svg = readFileSync(join(dir, `${base}.svg`), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
    assert.match(svg, /<\/svg>\s*$/);
    assert.equal((svg.match(/<svg/g) ?? []).length, (svg.match(/<\/svg>/g) ?? []).length);
  });
});
