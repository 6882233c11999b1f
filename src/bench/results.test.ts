import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markdownTable, summarizeSamples, writeReport, type BenchReport } from './results.ts';
import { summarize } from './stats.ts';
import { stackedBarSvg } from './svg-plot.ts';

describe('bench results', () => {
  test('summarize: median, quartiles, min/max; non-finite values ignored', () => {
    assert.deepEqual(summarize([3, 1, 2, NaN]), {
      n: 3,
      median: 2,
      min: 1,
      max: 3,
      q1: 1.5,
      q3: 2.5,
      iqr: 1,
    });
    assert.equal(summarize([4])?.iqr, 0);
    assert.equal(summarize([NaN]), undefined);
  });

  test('summarizeSamples groups per variant and metric in order of appearance', () => {
    const rows = summarizeSamples([
      { group: 'a', run: 1, metrics: { t: 10, d: 1 } },
      { group: 'a', run: 2, metrics: { t: 20, d: NaN } },
      { group: 'b', run: 1, metrics: { t: 5 } },
    ]);
    assert.deepEqual(
      rows.map((r) => [r.group, r.metric, r.stats.median, r.stats.n]),
      [
        ['a', 't', 15, 2],
        ['a', 'd', 1, 1],
        ['b', 't', 5, 1],
      ],
    );
  });

  test('markdown table escapes pipes; SVG has one rect per positive segment and escapes labels', () => {
    assert.equal(
      markdownTable({ columns: ['x', 'y'], rows: [['a|b', '1']] }),
      '| x | y |\n| --- | --- |\n| a\\|b | 1 |',
    );
    const svg = stackedBarSvg({
      title: 'T <&>',
      unit: 'ms',
      bars: [
        {
          label: 'one',
          segments: [
            { name: 'p', value: 2 },
            { name: 'q', value: 0 },
          ],
        },
        {
          label: 'two',
          segments: [
            { name: 'p', value: 1 },
            { name: 'q', value: 3 },
          ],
        },
      ],
    });
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal((svg.match(/<rect x="\d+" y="[\d.]+" width="46"/g) ?? []).length, 3);
    assert.ok(svg.includes('T &#60;&#38;&#62;'));
  });

  test('writeReport writes json, md and svg named after bench and start time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-bench-'));
    try {
      const r: BenchReport = {
        schema: 1,
        bench: 'demo',
        command: 'lifeboat bench demo',
        startedAt: '2025-01-02T03:04:05.678Z',
        finishedAt: '2025-01-02T03:05:00.000Z',
        machine: {
          cpuModel: 'cpu',
          cores: 2,
          memoryBytes: 2 ** 30,
          kernel: 'k',
          os: null,
          criu: '4.2',
          podman: '4.3.1',
          node: 'v20',
        },
        params: {},
        samples: [],
        summary: [],
        table: { columns: ['a'], rows: [['1']] },
        plot: { title: 't', unit: 'ms', bars: [] },
        notes: ['n'],
      };
      const f = writeReport(dir, r);
      assert.equal(f.json, join(dir, 'demo-2025-01-02T03-04-05Z.json'));
      assert.equal((JSON.parse(readFileSync(f.json, 'utf8')) as BenchReport).bench, 'demo');
      assert.match(readFileSync(f.md, 'utf8'), /\| a \|\n\| --- \|\n\| 1 \|/);
      assert.match(readFileSync(f.svg, 'utf8'), /<svg/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
