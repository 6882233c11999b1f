import type { Bench } from './bench.ts';
import { migrateBench } from './migrate-bench.ts';

/** Every benchmark `lifeboat bench <name>` knows, in the order of the thesis' chapter 4. */
export const BENCHES: readonly Bench[] = [migrateBench];

export { runBench, type Bench, type BenchOptions } from './bench.ts';
