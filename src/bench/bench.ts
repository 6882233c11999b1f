import { machineInfo } from './machine-info.ts';
import {
  summarizeSamples,
  writeReport,
  type BenchOutcome,
  type BenchReport,
  type WrittenFiles,
} from './results.ts';

/** What `lifeboat bench <name>` passes to a benchmark. */
export interface BenchOptions {
  /** A short smoke run (CI): tiny data, one run, one interval. */
  quick: boolean;
  /** Repetitions per variant (default per bench). */
  runs?: number;
  /** Data sizes in MB (migrate, failover, storage). */
  sizesMb?: number[];
  /** Checkpoint storage variants: dir, tmpfs, gluster. */
  storage?: string[];
  /** Checkpoint ticker intervals in seconds (ticker-overhead: one variant each; failover, storage: the first). */
  intervalsSec?: number[];
  /** Checkpoint ticks to let happen before measuring (storage). */
  ticks?: number;
  /** Shape the bench hosts' links to this rate each way (tc tbf syntax, e.g. 1gbit). */
  link?: string;
  /** Compression of lifeboat's agent-to-agent streams (migrate): none, gzip or auto. */
  compression?: 'none' | 'gzip' | 'auto';
  /** Seed of the chaos bench's fault plan (default: a random one, reported). */
  seed?: number;
  /** Faults the chaos bench injects (default: 24 with --quick, else 200). */
  faults?: number;
  /** Hollow hosts per variant (scale). */
  hosts?: number[];
  /** Manager replicas per variant (scale). */
  replicas?: number[];
  /** Containers each hollow host reports (scale). */
  containers?: number;
  /** Where the result files go (the chaos bench keeps the cluster's logs there when a check fails). */
  resultsDir?: string;
  /** Progress lines for the user (stderr). */
  log: (line: string) => void;
}

export interface Bench {
  name: string;
  /** One line for `lifeboat bench --help`, naming the thesis figure or table. */
  description: string;
  run(o: BenchOptions): Promise<BenchOutcome>;
}

/** Runs a bench and writes its JSON, Markdown and SVG beside each other. */
export async function runBench(
  bench: Bench,
  o: BenchOptions & { resultsDir: string; command: string },
): Promise<{ report: BenchReport; files: WrittenFiles }> {
  const startedAt = new Date().toISOString();
  const machine = await machineInfo();
  const outcome = await bench.run(o);
  const report: BenchReport = {
    schema: 1,
    bench: bench.name,
    command: o.command,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    ...outcome,
    summary: summarizeSamples(outcome.samples),
  };
  return { report, files: writeReport(o.resultsDir, report) };
}
