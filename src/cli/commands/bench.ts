import { Option, type Command } from 'commander';
import { runBench } from '../../bench/bench.ts';
import { BENCHES } from '../../bench/index.ts';
import { describeMachine } from '../../bench/machine-info.ts';
import { markdownTable } from '../../bench/results.ts';
import { ValidationError } from '../../util/errors.ts';

function positiveInts(flag: string, v: string): number[] {
  const out = v.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isFinite(n) || n <= 0))
    throw new ValidationError(`${flag} ${v}: give positive numbers separated by commas, e.g. 10,100,500`);
  return out;
}

/** Where results go unless --results says otherwise: beside lifeboat's state, never into a checkout. */
const DEFAULT_RESULTS_DIR = '/var/lib/lifeboat/bench-results';

function linkRate(v: string): string {
  if (!/^\d+(\.\d+)?(bit|kbit|mbit|gbit)$/i.test(v))
    throw new ValidationError(`--link ${v}`, 'give a rate as tc writes it, e.g. 1gbit, 500mbit');
  return v.toLowerCase();
}

function wholeNumber(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ValidationError(`${flag} ${v}: give a whole number >= 1`);
  return n;
}

export function registerBench(program: Command): void {
  program
    .command('bench <name>')
    .description("measure lifeboat against the thesis' experiments (chapter 4) on a local bench cluster")
    .option('--quick', 'a short smoke run: tiny data, one run')
    .option('--runs <n>', 'repetitions per variant')
    .option('--sizes <mb,...>', 'Redis data sizes in MB (migrate, failover, storage), e.g. 10,100,500')
    .option('--storage <kind,...>', 'checkpoint storage variants: dir, tmpfs, gluster', 'dir')
    .option(
      '--intervals <s,...>',
      'checkpoint intervals in seconds (ticker-overhead: one variant each; failover, storage: the first)',
    )
    .option('--ticks <n>', 'checkpoints to let the ticker write before measuring (storage)')
    .option(
      '--link <rate>',
      "shape each bench host's link to this rate each way with tc tbf, e.g. 1gbit (migrate: the baseline's copy crosses it too)",
    )
    .addOption(
      new Option('--compression <how>', "lifeboat's stream compression between agents (migrate)")
        .choices(['none', 'gzip', 'auto'])
        .default('none'),
    )
    .option('--seed <n>', 'chaos: seed of the fault plan (default random, reported for replay)')
    .option('--faults <n>', 'chaos: faults to inject (default 24 with --quick, else 200)')
    .option('--hosts <n,...>', 'scale: hollow (simulated) hosts per variant, e.g. 50,200,500')
    .option('--replicas <n,...>', 'scale: manager replicas per variant, e.g. 1,3')
    .option('--containers <n>', 'scale: containers each hollow host reports (default 50; 20 with --quick)')
    .option('--results <dir>', 'where the JSON, Markdown and SVG files go', DEFAULT_RESULTS_DIR)
    .option('--json', 'print the whole report as JSON on stdout')
    .addHelpText(
      'after',
      `
Benchmarks:
${BENCHES.map((b) => `  ${b.name.padEnd(16)} ${b.description}`).join('\n')}

Each run brings up its own 2-host cluster (root /var/tmp/lifeboat-bench,
bridge lbbench0, 10.95.0.0/24) and takes it down again; chaos brings up
3 (--quick) or 5 hosts with two managers on etcd (root /var/tmp/lifeboat-chaos,
bridge lbchaos0, 10.89.0.0/24) and exits 1 when an invariant was violated. Results land in
<results>/<name>-<timestamp>.json, .md (table) and .svg (plot)
(default ${DEFAULT_RESULTS_DIR}). Examples:
  lifeboat bench migrate --sizes 10,100 --runs 3
  lifeboat bench migrate --sizes 100,500 --link 1gbit --compression auto
  lifeboat bench ticker-overhead --intervals 5,10,30 --runs 3
  lifeboat bench failover --sizes 10,100 --runs 3
  lifeboat bench storage --ticks 30
  lifeboat bench chaos --quick --seed 42   (own 3-host cluster lbchaos0, 10.89.0.0/24)
  lifeboat bench scale --hosts 200 --containers 50 --replicas 1
                     (hollow hosts and managers on 127.0.0.1, free ports, a 3-member etcd,
                      root /var/tmp/lifeboat-scale-*; no Podman, no bridge)
  lifeboat bench <name> --quick     (a short smoke run, as CI does)`,
    )
    .action(
      async (
        name: string,
        o: {
          quick?: boolean;
          runs?: string;
          sizes?: string;
          storage: string;
          intervals?: string;
          ticks?: string;
          link?: string;
          compression: 'none' | 'gzip' | 'auto';
          seed?: string;
          faults?: string;
          hosts?: string;
          replicas?: string;
          containers?: string;
          results: string;
          json?: boolean;
        },
      ) => {
        const bench = BENCHES.find((b) => b.name === name);
        if (!bench)
          throw new ValidationError(
            `no benchmark "${name}"`,
            `choose one of ${BENCHES.map((b) => b.name).join(', ')}`,
          );
        const runs = o.runs === undefined ? undefined : wholeNumber('--runs', o.runs);
        const ticks = o.ticks === undefined ? undefined : wholeNumber('--ticks', o.ticks);
        const seed = o.seed === undefined ? undefined : wholeNumber('--seed', o.seed);
        const faults = o.faults === undefined ? undefined : wholeNumber('--faults', o.faults);
        const { report, files } = await runBench(bench, {
          quick: o.quick === true,
          ...(runs !== undefined ? { runs } : {}),
          ...(o.sizes !== undefined ? { sizesMb: positiveInts('--sizes', o.sizes) } : {}),
          ...(o.intervals !== undefined ? { intervalsSec: positiveInts('--intervals', o.intervals) } : {}),
          ...(ticks !== undefined ? { ticks } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(faults !== undefined ? { faults } : {}),
          ...(o.hosts !== undefined ? { hosts: positiveInts('--hosts', o.hosts) } : {}),
          ...(o.replicas !== undefined ? { replicas: positiveInts('--replicas', o.replicas) } : {}),
          ...(o.containers !== undefined ? { containers: wholeNumber('--containers', o.containers) } : {}),
          ...(o.link !== undefined ? { link: linkRate(o.link) } : {}),
          compression: o.compression,
          storage: o.storage.split(',').map((s) => s.trim()),
          resultsDir: o.results,
          command: `lifeboat ${process.argv.slice(2).join(' ')}`,
          log: (line) => process.stderr.write(`[bench] ${line}\n`),
        });
        if (report.verdict && !report.verdict.ok) process.exitCode = 1;
        if (o.json) {
          process.stdout.write(JSON.stringify(report, null, 2) + '\n');
          return;
        }
        process.stdout.write(
          [
            `${report.bench} on ${describeMachine(report.machine)}`,
            '',
            markdownTable(report.table),
            '',
            ...Object.entries(report.derived ?? {}).map(([k, v]) => `${k}: ${+v.toPrecision(3)}`),
            ...report.notes.map((n) => `note: ${n}`),
            ...(report.verdict
              ? ['', `${report.verdict.ok ? 'passed' : 'FAILED'}: ${report.verdict.summary}`]
              : []),
            '',
            `results: ${files.json}`,
            `         ${files.md}`,
            `         ${files.svg}`,
            '',
          ].join('\n'),
        );
      },
    );
}
