import type { webcrypto } from 'node:crypto';
import * as x509 from './x509.ts';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ValidationError } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';
import { clockSkewMs, cryptoImpl, loadClusterCa } from './ca.ts';
import type { ClusterCa } from './ca.ts';
import { PkiError } from './errors.ts';
import { certificatePaths } from './layout.ts';
import type { CertificatePaths, CertLayout } from './layout.ts';
import { extendedKeyUsagesFor, roleToOu } from './roles.ts';
import type { Role } from './roles.ts';
import {
  certificateMode,
  ensurePrivateDir,
  fileExists,
  privateKeyMode,
  writeFileAtomic,
} from './secure-files.ts';

const log = createLogger('pki');
const subtle = cryptoImpl.subtle;

export const defaultValidDays = 365;
export const maxValidDays = 3650;

export interface IssueOptions {
  role: Role;
  /** Node name for managers and agents, user name for clients; becomes the CN. */
  name: string;
  /** Host names the holder serves under. A manager's or agent's own name is added when it is a host name. */
  dnsNames?: string[];
  /** Addresses the holder serves on, as IP SANs, so clients verify IP-addressed nodes instead of skipping checks. */
  ipAddresses?: string[];
  validDays?: number;
}

export interface IssuedCertificate {
  role: Role;
  name: string;
  certPem: string;
  /** PKCS#8 PEM, unencrypted: Node's tls and the docker CLI read it as is. */
  keyPem: string;
  /** The issuing CA's certificate, for the holder's ca.pem. */
  caPem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
}

const namePattern = /^[A-Za-z0-9](?:[A-Za-z0-9._@-]{0,62}[A-Za-z0-9])?$/;
const dnsPattern =
  /^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function validateName(name: string): void {
  if (!namePattern.test(name)) {
    throw new ValidationError(
      `invalid certificate name ${JSON.stringify(name)}`,
      'use 1 to 64 letters, digits, ".", "_", "@" or "-", starting and ending with a letter or digit',
    );
  }
}

function subjectAltNames(opts: IssueOptions): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = new Set<string>();
  const ipAddresses = new Set<string>();
  for (const dns of opts.dnsNames ?? []) {
    if (isIP(dns) !== 0) {
      throw new ValidationError(
        `"${dns}" is an IP address, not a DNS name`,
        'pass it as an IP address instead',
      );
    }
    if (!dnsPattern.test(dns) || dns.length > 253)
      throw new ValidationError(`invalid DNS name ${JSON.stringify(dns)}`);
    dnsNames.add(dns.toLowerCase());
  }
  for (const ip of opts.ipAddresses ?? []) {
    if (isIP(ip) === 0) throw new ValidationError(`invalid IP address ${JSON.stringify(ip)}`);
    ipAddresses.add(ip);
  }
  // A server is usually addressed by its name; saying so twice should not be required.
  if (opts.role !== 'client') {
    if (isIP(opts.name) !== 0) ipAddresses.add(opts.name);
    else if (dnsPattern.test(opts.name)) dnsNames.add(opts.name.toLowerCase());
  }
  return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] };
}

/** A certificate signed by the CA, without its key: what a CSR gets back. */
export type SignedCertificate = Omit<IssuedCertificate, 'keyPem'>;

/**
 * Signs a certificate for `publicKey` with role `role`. The role is written
 * as OU=lifeboat-<role>, which servers read back after the handshake (see
 * tls.ts), and as extended key usages, which OpenSSL enforces: a client
 * certificate cannot serve, so it cannot impersonate a node. Used for keys
 * made here (issueCertificate) and for keys that never leave their host
 * (a CSR sent by `lifeboat join`).
 */
export async function signCertificate(
  ca: ClusterCa,
  opts: IssueOptions,
  publicKey: webcrypto.CryptoKey,
): Promise<SignedCertificate> {
  validateName(opts.name);
  const validDays = opts.validDays ?? defaultValidDays;
  if (!Number.isInteger(validDays) || validDays < 1 || validDays > maxValidDays) {
    throw new ValidationError(
      `validity must be a whole number of days from 1 to ${maxValidDays}, got ${validDays}`,
    );
  }
  const { dnsNames, ipAddresses } = subjectAltNames(opts);

  const now = Date.now();
  const notBefore = new Date(now - clockSkewMs);
  let notAfter = new Date(now + validDays * 86_400_000);
  if (notAfter > ca.certificate.notAfter) {
    notAfter = ca.certificate.notAfter;
    log.warn('certificate validity cut to the CA expiry', {
      name: opts.name,
      notAfter: notAfter.toISOString(),
    });
  }

  const caKeyId = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(extendedKeyUsagesFor(opts.role), false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false, cryptoImpl),
    caKeyId === undefined
      ? await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey, false, cryptoImpl)
      : new x509.AuthorityKeyIdentifierExtension(caKeyId),
  ];
  if (dnsNames.length > 0 || ipAddresses.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
    );
  }

  const certificate = await x509.X509CertificateGenerator.create(
    {
      subject: [{ O: ['lifeboat'] }, { OU: [roleToOu(opts.role)] }, { CN: [opts.name] }],
      issuer: ca.certificate.subjectName,
      publicKey,
      signingKey: ca.privateKey,
      signingAlgorithm: ca.signingAlgorithm,
      notBefore,
      notAfter,
      extensions,
    },
    cryptoImpl,
  );
  log.info('issued certificate', {
    role: opts.role,
    name: opts.name,
    serial: certificate.serialNumber,
    notAfter: notAfter.toISOString(),
  });
  return {
    role: opts.role,
    name: opts.name,
    certPem: certificate.toString('pem') + '\n',
    caPem: ca.certPem,
    serialNumber: certificate.serialNumber,
    notBefore,
    notAfter,
    dnsNames,
    ipAddresses,
  };
}

/** A fresh ECDSA P-256 key pair, its private half as PKCS#8 PEM (what Node's tls and the docker CLI read). */
export async function generateKeyPair(): Promise<{ keys: webcrypto.CryptoKeyPair; keyPem: string }> {
  const keys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const keyPem =
    x509.PemConverter.encode(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') + '\n';
  return { keys, keyPem };
}

/** Issues a certificate and a fresh ECDSA P-256 key for `role` (the CA's machine makes both). */
export async function issueCertificate(ca: ClusterCa, opts: IssueOptions): Promise<IssuedCertificate> {
  validateName(opts.name);
  const { keys, keyPem } = await generateKeyPair();
  return { ...(await signCertificate(ca, opts, keys.publicKey)), keyPem };
}

export interface CertificateMaterial {
  certPem: string;
  keyPem: string;
  /** Trust anchors for the holder: the cluster CA, or during a CA rotation the old and new CAs concatenated. */
  caPem: string;
}

export interface WriteOptions {
  /** Replace existing files (re-issue, rotation). Without it existing files are an error. */
  overwrite?: boolean;
}

async function refuseExisting(paths: CertificatePaths): Promise<void> {
  for (const path of [paths.certPath, paths.keyPath]) {
    if (await fileExists(path)) {
      throw new PkiError('pki_cert_exists', `${path} already exists`, {
        status: 409,
        hint: 'choose another directory, or overwrite it (`--force`) to replace the certificate',
      });
    }
  }
}

/**
 * Writes an identity's certificate (0644), key (0600) and CA bundle (0644)
 * into `dir`, created 0700 if missing. Each file is replaced atomically.
 */
export async function writeCertificate(
  dir: string,
  layout: CertLayout,
  material: CertificateMaterial,
  opts: WriteOptions = {},
): Promise<CertificatePaths> {
  const paths = certificatePaths(dir, layout);
  if (opts.overwrite !== true) await refuseExisting(paths);
  await ensurePrivateDir(dir);
  await writeFileAtomic(paths.keyPath, material.keyPem, privateKeyMode);
  await writeFileAtomic(paths.certPath, material.certPem, certificateMode);
  await writeFileAtomic(paths.caPath, material.caPem, certificateMode);
  return paths;
}

/**
 * Writes ca.pem, cert.pem and key.pem so that `dir` works as DOCKER_CERT_PATH:
 *   DOCKER_HOST=tcp://MANAGER:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=dir docker ps
 */
export function writeDockerCertPath(
  dir: string,
  material: CertificateMaterial,
  opts: WriteOptions = {},
): Promise<CertificatePaths> {
  return writeCertificate(dir, 'docker', material, opts);
}

export interface IssueToDirectoryOptions extends WriteOptions {
  dnsNames?: string[];
  ipAddresses?: string[];
  validDays?: number;
  /** Default `docker`: every identity directory doubles as a DOCKER_CERT_PATH. */
  layout?: CertLayout;
  /** More CA certificates to trust besides the issuing one, e.g. the old CA during a rotation. */
  extraTrustPem?: string;
}

/** What `lifeboat cert issue` does: load the CA from `caDir`, issue, write to `outDir`. */
export async function issueToDirectory(
  caDir: string,
  role: Role,
  name: string,
  outDir: string,
  opts: IssueToDirectoryOptions = {},
): Promise<{ issued: IssuedCertificate; paths: CertificatePaths }> {
  if (resolve(caDir) === resolve(outDir)) {
    throw new ValidationError(
      'the output directory is the CA directory',
      'write certificates elsewhere: the CA key must not travel with them',
    );
  }
  const ca = await loadClusterCa(caDir);
  const issueOpts: IssueOptions = { role, name };
  if (opts.dnsNames !== undefined) issueOpts.dnsNames = opts.dnsNames;
  if (opts.ipAddresses !== undefined) issueOpts.ipAddresses = opts.ipAddresses;
  if (opts.validDays !== undefined) issueOpts.validDays = opts.validDays;
  const layout = opts.layout ?? 'docker';
  // Checked before issuing too, so no certificate is logged as issued and then thrown away.
  if (opts.overwrite !== true) await refuseExisting(certificatePaths(outDir, layout));
  const issued = await issueCertificate(ca, issueOpts);
  const caPem =
    opts.extraTrustPem === undefined ? issued.caPem : issued.caPem + opts.extraTrustPem.trimEnd() + '\n';
  const paths = await writeCertificate(
    outDir,
    layout,
    { ...issued, caPem },
    { overwrite: opts.overwrite === true },
  );
  return { issued, paths };
}
