export {
  ClusterKey,
  Keyring,
  clusterKeyLength,
  generateClusterKey,
  keyIdLength,
  keyIdOf,
  loadClusterKey,
  loadKeyring,
  parseClusterKey,
} from './cluster-key.ts';
export { DecryptStream, createDecryptStream, type DecryptOptions } from './decrypt-stream.ts';
export { EncryptStream, createEncryptStream, type EncryptOptions } from './encrypt-stream.ts';
export {
  ArchiveIntegrityError,
  ClusterKeyError,
  describeLocation,
  type ArchiveIntegrityReason,
  type ArchiveLocation,
  type VersionLocation,
} from './errors.ts';
export {
  archiveMagic,
  assertChunkSize,
  defaultChunkSize,
  headerLength,
  maxChunkSize,
  minChunkSize,
  tagLength,
} from './format.ts';
