export { caCertFile, caKeyFile, caPaths, createClusterCa, firstCertificatePem, loadClusterCa } from './ca.ts';
export type { ClusterCa, CreateClusterCaOptions, CreatedClusterCa } from './ca.ts';
export { PkiError } from './errors.ts';
export {
  defaultValidDays,
  issueCertificate,
  issueToDirectory,
  maxValidDays,
  writeCertificate,
  writeDockerCertPath,
} from './issue.ts';
export type {
  CertificateMaterial,
  IssuedCertificate,
  IssueOptions,
  IssueToDirectoryOptions,
  WriteOptions,
} from './issue.ts';
export { certificatePaths } from './layout.ts';
export type { CertificatePaths, CertLayout } from './layout.ts';
export { isRole, parseRole, roles } from './roles.ts';
export type { Role } from './roles.ts';
export {
  authorizePeer,
  clientTlsOptions,
  createMutualTlsServer,
  loadTlsBundle,
  peerIdentity,
  requireRoles,
  serverIdentityCheck,
  serverTlsOptions,
} from './tls.ts';
export type {
  AuthorizedHandler,
  ClientTlsOptions,
  ClientTlsSettings,
  MutualTlsServerSettings,
  PeerIdentity,
  ServerTlsSettings,
  TlsBundle,
  TlsMinVersion,
} from './tls.ts';
