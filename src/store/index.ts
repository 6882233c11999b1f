export type {
  CampaignOptions,
  ClusterStore,
  Entry,
  LeaderObserver,
  Lease,
  LeaseId,
  Leadership,
  PrefixSnapshot,
  PutOptions,
  TxnCompare,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  Watch,
  WatchEvent,
  WatchOptions,
} from './store.ts';
export { EmbeddedStore, type EmbeddedStoreOptions } from './embedded-store.ts';
export { EtcdStore, DEFAULT_ETCD_PREFIX, type EtcdStoreOptions } from './etcd-store.ts';
export { openStore, type OpenStoreOptions } from './open-store.ts';
export { parseStoreUrl, type StoreUrl } from './store-url.ts';
export { ELECTION_PREFIX, DEFAULT_CAMPAIGN_TTL_SECONDS } from './election.ts';
export {
  startEtcdCluster,
  EtcdStartError,
  type EtcdCluster,
  type EtcdClusterOptions,
  type EtcdMember,
} from './etcd-cluster.ts';
export {
  CampaignAbortedError,
  LeaseLostError,
  LeadershipLostError,
  StoreClosedError,
  StoreCompactedError,
  StoreCorruptError,
  StoreLockedError,
  StoreUnavailableError,
} from './errors.ts';
