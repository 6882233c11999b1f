import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { PkiError } from '../pki/errors.ts';

/**
 * A join token, as Swarm's: `LBTKN-1-<CA digest>-<secret>`.
 * - The digest (sha256 of the cluster CA certificate, hex) lets the joining
 *   host check the CA a manager hands it before trusting anything it says.
 * - The secret (16 random bytes, hex) proves to the manager that the host
 *   was let in by an operator. Managers keep only its sha256, so reading the
 *   store is not enough to join.
 * The role is not in the token: a manager finds it by which role's secret
 * matches, so a host cannot ask for more than it was given.
 */
export const TOKEN_PREFIX = 'LBTKN-1-';
const TOKEN_RE = /^LBTKN-1-([0-9a-f]{64})-([0-9a-f]{32})$/;

export interface JoinToken {
  caDigest: string;
  secret: string;
}

/** sha256 of the first certificate in `caPem`, hex: what a token pins. */
export function caDigest(caPem: string): string {
  return createHash('sha256').update(new X509Certificate(caPem).raw).digest('hex');
}

export function newSecret(): string {
  return randomBytes(16).toString('hex');
}

export function formatJoinToken(caPem: string, secret: string): string {
  return `${TOKEN_PREFIX}${caDigest(caPem)}-${secret}`;
}

export function parseJoinToken(text: string): JoinToken {
  const m = TOKEN_RE.exec(text.trim());
  if (!m)
    throw new PkiError('join_token_malformed', 'this is not a lifeboat join token', {
      status: 400,
      hint: 'a token looks like LBTKN-1-<64 hex digits>-<32 hex digits>; `lifeboat join-token rotate agent` on a manager prints a new one',
    });
  return { caDigest: m[1]!, secret: m[2]! };
}

/** What a manager stores for a token: sha256 of the secret, hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A short name for a token in lists and logs: the first 8 hex digits of its secret's hash. */
export function tokenId(hash: string): string {
  return hash.slice(0, 8);
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
