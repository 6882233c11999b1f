// One copy of the RESP client: it lives with the benchmarks, which need it at run time.
import { waitFor } from './wait.ts';

export { RedisClient } from '../../src/bench/redis-client.ts';

/**
 * A redis PING sent from inside container `from` (busybox `nc`) to `to`
 * (an address or a name) on port 6379, through the docker CLI given: its
 * answer once one comes (`+PONG`), retried for `ms` (a new container learns
 * the cluster's routes with its host's next heartbeat answer).
 */
export function redisPingFrom(
  docker: (...args: string[]) => Promise<string>,
  from: string,
  to: string,
  ms: number,
): Promise<string> {
  return waitFor(`${from} reaches ${to}`, ms, async () =>
    docker('exec', from, 'sh', '-c', `printf 'PING\\r\\n' | nc -w 1 ${to} 6379`).catch(() => undefined),
  );
}
