import { EmbeddedStore } from './embedded-store.ts';
import { EtcdStore, type EtcdStoreOptions } from './etcd-store.ts';
import type { ClusterStore } from './store.ts';
import { parseStoreUrl } from './store-url.ts';

export type OpenStoreOptions = Pick<EtcdStoreOptions, 'callTimeoutMs' | 'retryBudgetMs' | 'tls'>;

/** Opens the store a URL names (see store-url.ts for the forms). */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<ClusterStore> {
  const u = parseStoreUrl(url);
  switch (u.kind) {
    case 'memory':
      return EmbeddedStore.open();
    case 'embedded':
      return EmbeddedStore.open({ path: u.path });
    case 'etcd':
      return EtcdStore.open({ endpoints: u.endpoints, prefix: u.prefix, ...opts });
  }
}
