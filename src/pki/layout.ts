import { join } from 'node:path';
import { ValidationError } from '../util/errors.ts';

/**
 * How an identity's files are named in its directory. `docker` is what the
 * docker CLI reads from DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem);
 * `{ prefix }` lets several identities share one directory
 * (`<prefix>.pem`, `<prefix>-key.pem`, one shared ca.pem).
 */
export type CertLayout = 'docker' | { prefix: string };

export interface CertificatePaths {
  dir: string;
  caPath: string;
  certPath: string;
  keyPath: string;
}

export function certificatePaths(dir: string, layout: CertLayout): CertificatePaths {
  if (layout === 'docker') {
    return {
      dir,
      caPath: join(dir, 'ca.pem'),
      certPath: join(dir, 'cert.pem'),
      keyPath: join(dir, 'key.pem'),
    };
  }
  const { prefix } = layout;
  // "ca" and "ca-key" would land on the CA's own files.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(prefix) || prefix === 'ca') {
    throw new ValidationError(
      `invalid certificate file prefix ${JSON.stringify(prefix)}`,
      'use letters, digits, ".", "_" or "-" (not "ca"), e.g. "agent"',
    );
  }
  return {
    dir,
    caPath: join(dir, 'ca.pem'),
    certPath: join(dir, `${prefix}.pem`),
    keyPath: join(dir, `${prefix}-key.pem`),
  };
}
