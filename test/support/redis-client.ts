// One copy of the RESP client: it lives with the benchmarks, which need it at run time.
export { RedisClient } from '../../src/bench/redis-client.ts';
