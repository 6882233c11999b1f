import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeMachine, type MachineInfo } from './machine-info.ts';
import { formatStats, summarize, type Stats } from './stats.ts';
import { stackedBarSvg, type StackedBarPlot } from './svg-plot.ts';

export { summarize, formatStats, type Stats } from './stats.ts';

/** One measured run: a variant (`group`) and the numbers taken in it. */
export interface Sample {
  group: string;
  run: number;
  metrics: Record<string, number>;
  /** Anything else worth keeping per run (sizes, hosts, error text). */
  info?: Record<string, string | number | boolean>;
}

export interface SummaryRow {
  group: string;
  metric: string;
  stats: Stats;
}

export interface ResultTable {
  columns: string[];
  rows: string[][];
}

/** What a bench returns; the framework adds timing, machine and the files. */
export interface BenchOutcome {
  params: Record<string, unknown>;
  samples: Sample[];
  table: ResultTable;
  plot: StackedBarPlot;
  /** Derived figures (ratios, shares) keyed by name. */
  derived?: Record<string, number>;
  /** What was skipped and why, caveats about the numbers. */
  notes: string[];
  /** Anything else the JSON should keep (the chaos bench's plan, faults and violations). */
  details?: Record<string, unknown>;
  /** A bench that checks rather than only measures says whether its checks held (the CLI exits 1 if not). */
  verdict?: { ok: boolean; summary: string };
}

export interface BenchReport extends BenchOutcome {
  schema: 1;
  bench: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  summary: SummaryRow[];
}

export interface WrittenFiles {
  json: string;
  md: string;
  svg: string;
}

/** Per group and metric, in order of first appearance. */
export function summarizeSamples(samples: readonly Sample[]): SummaryRow[] {
  const keys: string[] = [];
  const values = new Map<string, number[]>();
  for (const s of samples) {
    for (const [metric, v] of Object.entries(s.metrics)) {
      const k = `${s.group}\u0000${metric}`;
      if (!values.has(k)) {
        keys.push(k);
        values.set(k, []);
      }
      values.get(k)!.push(v);
    }
  }
  const rows: SummaryRow[] = [];
  for (const k of keys) {
    const stats = summarize(values.get(k)!);
    const [group, metric] = k.split('\u0000') as [string, string];
    if (stats) rows.push({ group, metric, stats });
  }
  return rows;
}

/** The median of one group's metric, if measured. */
export function medianOf(rows: readonly SummaryRow[], group: string, metric: string): number | undefined {
  return rows.find((r) => r.group === group && r.metric === metric)?.stats.median;
}

export function markdownTable(t: ResultTable): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `| ${t.columns.map(cell).join(' | ')} |`,
    `| ${t.columns.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

export function reportMarkdown(r: BenchReport): string {
  const lines = [
    `# lifeboat bench ${r.bench}`,
    '',
    `- command: \`${r.command}\``,
    `- started: ${r.startedAt}, finished: ${r.finishedAt}`,
    `- machine: ${describeMachine(r.machine)}`,
    `- parameters: \`${JSON.stringify(r.params)}\``,
    '',
    markdownTable(r.table),
    '',
  ];
  if (r.derived && Object.keys(r.derived).length > 0) {
    lines.push('Derived:', '');
    for (const [k, v] of Object.entries(r.derived)) lines.push(`- ${k}: ${+v.toPrecision(4)}`);
    lines.push('');
  }
  if (r.verdict) lines.push(`Verdict: ${r.verdict.ok ? 'passed' : 'FAILED'}: ${r.verdict.summary}`, '');
  if (r.notes.length > 0) {
    lines.push('Notes:', '');
    for (const n of r.notes) lines.push(`- ${n}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** `2025-01-31T12-00-00Z`: sortable and safe in file names. */
export function fileStamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Writes `<dir>/<bench>-<timestamp>.{json,md,svg}`. */
export function writeReport(dir: string, r: BenchReport): WrittenFiles {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${r.bench}-${fileStamp(new Date(r.startedAt))}`);
  const files = { json: `${base}.json`, md: `${base}.md`, svg: `${base}.svg` };
  writeAtomic(files.json, JSON.stringify(r, null, 2) + '\n');
  writeAtomic(files.md, reportMarkdown(r));
  writeAtomic(files.svg, stackedBarSvg(r.plot));
  return files;
}

/** A table cell of `summary`: the median of `metric` in `group` with its spread, or an em dash. */
export function summaryCell(
  summary: readonly SummaryRow[],
): (group: string, metric: string, digits?: number) => string {
  return (group, metric, digits = 0) =>
    formatStats(summary.find((r) => r.group === group && r.metric === metric)?.stats, digits);
}
