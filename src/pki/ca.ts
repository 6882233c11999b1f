import * as x509 from './x509.ts';
import { createPrivateKey, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { createLogger } from '../util/log.ts';
import { errorMessage } from '../util/errors.ts';
import { PkiError } from './errors.ts';
import {
  assertPrivateKeyFile,
  certificateMode,
  ensurePrivateDir,
  errnoCode,
  fileExists,
  privateKeyMode,
  readPemFile,
  writeFileAtomic,
} from './secure-files.ts';

const log = createLogger('pki');

/** Passed explicitly so nothing depends on the library's global provider being set. */
export const cryptoImpl = webcrypto;
const subtle = webcrypto.subtle;

export const caCertFile = 'ca.pem';
export const caKeyFile = 'ca-key.pem';

export const caValidityYears = 10;
/** Hosts' clocks drift; a certificate that starts "now" on one host may be in the future on another. */
export const clockSkewMs = 5 * 60 * 1000;

export interface ClusterCa {
  dir: string;
  certPath: string;
  keyPath: string;
  /** PEM of the CA certificate: the trust anchor every node and client gets as ca.pem. */
  certPem: string;
  certificate: x509.X509Certificate;
  privateKey: webcrypto.CryptoKey;
  /** Signature algorithm matching the CA key (ECDSA P-256 for CAs lifeboat creates). */
  signingAlgorithm: webcrypto.EcdsaParams | webcrypto.Algorithm;
}

export interface CreatedClusterCa extends ClusterCa {
  /** False when an existing CA was found and loaded instead. */
  created: boolean;
}

export interface CreateClusterCaOptions {
  commonName?: string;
}

export function caPaths(dir: string): { certPath: string; keyPath: string } {
  return { certPath: join(dir, caCertFile), keyPath: join(dir, caKeyFile) };
}

const caHint = 'point to the directory holding the cluster CA (ca.pem and ca-key.pem), or create one there';

/**
 * Creates the cluster CA in `dir`, or loads it if one is there already: an
 * existing CA is never replaced, since every certificate it issued would stop
 * being trusted.
 */
export async function createClusterCa(
  dir: string,
  opts: CreateClusterCaOptions = {},
): Promise<CreatedClusterCa> {
  const { certPath, keyPath } = caPaths(dir);
  const [haveCert, haveKey] = await Promise.all([fileExists(certPath), fileExists(keyPath)]);
  if (haveCert && haveKey) return { ...(await loadClusterCa(dir)), created: false };
  if (haveCert || haveKey) {
    const [present, missing] = haveCert ? [certPath, keyPath] : [keyPath, certPath];
    throw new PkiError(
      'pki_ca_incomplete',
      `cluster CA in ${dir} is incomplete: ${present} exists but ${missing} does not`,
      {
        hint: `restore ${missing} from a backup; only remove ${present} to start a new CA, which invalidates every certificate the old one issued`,
      },
    );
  }

  const commonName = opts.commonName ?? 'lifeboat cluster CA';
  if (commonName.trim() === '' || commonName.length > 64) {
    throw new PkiError(
      'pki_invalid_name',
      `CA common name must be 1 to 64 characters, got ${JSON.stringify(commonName)}`,
      {
        status: 400,
      },
    );
  }

  await ensurePrivateDir(dir);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' };
  const keys = await subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + caValidityYears);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [commonName] }, { O: ['lifeboat'] }],
      keys,
      notBefore: new Date(now - clockSkewMs),
      notAfter,
      signingAlgorithm,
      extensions: [
        // pathLength 0: the CA signs node and client certificates, never other CAs.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, cryptoImpl),
      ],
    },
    cryptoImpl,
  );
  const pkcs8 = await subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n';
  const certPem = certificate.toString('pem') + '\n';

  try {
    // The key goes first: whoever links it owns the CA, a concurrent creator loads it instead.
    await writeFileAtomic(keyPath, keyPem, privateKeyMode, { exclusive: true });
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    return { ...(await loadAfterRace(dir)), created: false };
  }
  await writeFileAtomic(certPath, certPem, certificateMode, { exclusive: true });
  log.info('created cluster CA', { dir, subject: certificate.subject, notAfter: notAfter.toISOString() });

  // Held non-extractable from here on, as a loaded CA key is.
  const privateKey = await subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
  return { dir, certPath, keyPath, certPem, certificate, privateKey, signingAlgorithm, created: true };
}

async function loadAfterRace(dir: string): Promise<ClusterCa> {
  const deadline = Date.now() + 2000;
  for (;;) {
    try {
      return await loadClusterCa(dir);
    } catch (err) {
      if (!(err instanceof PkiError) || err.code !== 'pki_file_missing' || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Loads the CA that signs the cluster's certificates. Refuses a key readable
 * by group or others, a certificate that is not a CA, a key that does not
 * belong to the certificate, and an expired CA. CAs made the way Docker's
 * "Protect the Docker daemon socket" guide makes them (RSA, PKCS#1 key) load
 * too, so an existing DOCKER_CERT_PATH setup can be kept.
 */
export async function loadClusterCa(dir: string): Promise<ClusterCa> {
  const { certPath, keyPath } = caPaths(dir);
  const certPem = await readPemFile(certPath, 'CA certificate', caHint);
  await assertPrivateKeyFile(keyPath);
  const keyPem = await readPemFile(keyPath, 'CA private key', caHint);

  const first = firstCertificatePem(certPem, certPath);
  let certificate: x509.X509Certificate;
  let nodeCert: NodeX509Certificate;
  try {
    certificate = new x509.X509Certificate(first);
    nodeCert = new NodeX509Certificate(first);
  } catch (err) {
    throw new PkiError(
      'pki_invalid_pem',
      `${certPath} does not hold a valid certificate: ${errorMessage(err)}`,
    );
  }
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (constraints === null || !constraints.ca) {
    throw new PkiError(
      'pki_not_a_ca',
      `${certPath} is not a CA certificate (basicConstraints CA is not set)`,
      {
        hint: caHint,
      },
    );
  }

  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(keyPem);
  } catch (err) {
    throw new PkiError('pki_key_invalid', `cannot read the CA private key ${keyPath}: ${errorMessage(err)}`, {
      hint: 'the key must be an unencrypted PEM private key (decrypt it with `openssl pkey -in KEY -out KEY`)',
      cause: err,
    });
  }
  if (!nodeCert.checkPrivateKey(keyObject)) {
    throw new PkiError('pki_key_mismatch', `${keyPath} is not the private key of ${certPath}`, {
      hint: 'restore the matching pair from a backup',
    });
  }
  if (certificate.notAfter.getTime() < Date.now()) {
    throw new PkiError(
      'pki_ca_expired',
      `cluster CA ${certPath} expired on ${certificate.notAfter.toISOString()}`,
      {
        hint: 'rotate the CA (see src/pki/README.md) and reissue every certificate',
      },
    );
  }

  const { importAlgorithm, signingAlgorithm } = algorithmsFor(keyObject, keyPath);
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  const privateKey = await subtle.importKey('pkcs8', pkcs8, importAlgorithm, false, ['sign']);
  return { dir, certPath, keyPath, certPem: first + '\n', certificate, privateKey, signingAlgorithm };
}

/** The first PEM certificate of a file or bundle (a CA bundle may hold the old and new CA during a rotation). */
export function firstCertificatePem(pem: string, path: string): string {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (match === null) throw new PkiError('pki_invalid_pem', `${path} holds no PEM certificate`);
  return match[0];
}

function algorithmsFor(
  key: KeyObject,
  keyPath: string,
): {
  importAlgorithm: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  signingAlgorithm: webcrypto.Algorithm;
} {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const curves: Record<string, { namedCurve: string; hash: string }> = {
      prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
      secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
      secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
    };
    const curve = details.namedCurve === undefined ? undefined : curves[details.namedCurve];
    if (curve !== undefined) {
      const signing: webcrypto.EcdsaParams = { name: 'ECDSA', hash: curve.hash };
      return { importAlgorithm: { name: 'ECDSA', namedCurve: curve.namedCurve }, signingAlgorithm: signing };
    }
  } else if (key.asymmetricKeyType === 'rsa') {
    return {
      importAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.Algorithm,
    };
  }
  throw new PkiError(
    'pki_key_unsupported',
    `CA key ${keyPath} is ${key.asymmetricKeyType ?? 'unknown'}${details.namedCurve ? ` (${details.namedCurve})` : ''}`,
    { hint: 'lifeboat signs with ECDSA (P-256, P-384, P-521) or RSA CA keys' },
  );
}
