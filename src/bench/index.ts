import type { Bench } from './bench.ts';
import { chaosBench } from './chaos-bench.ts';
import { drainBench } from './drain-bench.ts';
import { failoverBench } from './failover-bench.ts';
import { migrateBench } from './migrate-bench.ts';
import { scaleBench } from './scale/scale-bench.ts';
import { storageBench } from './storage-bench.ts';
import { tickerOverheadBench } from './ticker-overhead-bench.ts';

/** Every benchmark `lifeboat bench <name>` knows, in the order of the thesis' chapter 4, then the chaos run and the control plane at scale. */
export const BENCHES: readonly Bench[] = [
  migrateBench,
  tickerOverheadBench,
  failoverBench,
  storageBench,
  drainBench,
  chaosBench,
  scaleBench,
];

export { runBench, type Bench, type BenchOptions } from './bench.ts';
