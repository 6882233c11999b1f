export {
  CheckpointStore,
  type CheckpointGroup,
  type CheckpointStoreOptions,
  type GcOptions,
  type VerifyOptions,
  type WriteOptions,
} from './checkpoint-store.ts';
export {
  CheckpointExistsError,
  CheckpointNotFoundError,
  StoreConfigError,
  UnencryptedArchiveError,
} from './errors.ts';
export { maxContainerKeyLength, validateContainerKey, type CheckpointRef, type Slot } from './layout.ts';
export type {
  AnyManifest,
  CheckpointKind,
  CheckpointManifest,
  CheckpointMeta,
  ManifestBase,
  PreDumpManifest,
  PreDumpMeta,
} from './manifest.ts';
