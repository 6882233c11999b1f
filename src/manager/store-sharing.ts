/**
 * Whether a host's checkpoint store is the cluster's shared one, from the
 * markers each agent reports seeing (src/agent/store-markers.ts):
 * - shared: it and at least half of the other reporting hosts see each
 *   other's markers (one odd host does not taint the rest);
 * - private: it shares its store with fewer (its checkpoints would die with
 *   it, or be restored nowhere: tickers refuse to run there);
 * - unverified: no other host reports a store to compare with.
 */
export type StoreSharing = 'shared' | 'private' | 'unverified';

export interface StoreView {
  name: string;
  /** Hosts whose markers this host sees; absent when it has no checkpoint store. */
  sees?: string[];
}

export function storeSharing(
  host: string,
  views: readonly StoreView[],
): { sharing: StoreSharing; apart: string[] } {
  const me = views.find((v) => v.name === host);
  if (!me?.sees) return { sharing: 'unverified', apart: [] };
  const others = views.filter((v) => v.name !== host && v.sees);
  if (others.length === 0) return { sharing: 'unverified', apart: [] };
  const apart = others
    .filter((o) => !me.sees!.includes(o.name) || !o.sees!.includes(host))
    .map((o) => o.name);
  const mutual = others.length - apart.length;
  return { sharing: mutual * 2 >= others.length && mutual > 0 ? 'shared' : 'private', apart };
}
