import type { ClusterStore } from './store.ts';

/** The requests timed: reads, writes, transactions and lease grants (watches and elections are long-lived). */
const TIMED = new Set([
  'get',
  'getPrefix',
  'snapshotPrefix',
  'put',
  'delete',
  'deletePrefix',
  'txn',
  'grantLease',
  'leader',
]);

/**
 * The store with each request's duration reported to `observe` (op, seconds,
 * ok): the manager's `lifeboat_store_request_duration_seconds`. Everything
 * else passes through untouched.
 */
export function timedStore(
  store: ClusterStore,
  observe: (op: string, seconds: number, ok: boolean) => void,
): ClusterStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || !TIMED.has(prop) || typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          const r: unknown = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          observe(prop, (performance.now() - t0) / 1000, true);
          return r;
        } catch (err) {
          observe(prop, (performance.now() - t0) / 1000, false);
          throw err;
        }
      };
    },
  });
}
