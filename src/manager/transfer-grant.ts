import { randomBytes } from 'node:crypto';
import type { TransferGrant } from '../node-api/node-client.ts';

/** How long a granted transfer may wait for its peer; the frozen phase itself is not bounded by it. */
export const GRANT_TTL_MS = 120_000;

/** A new grant: 256 random bits a peer must present, for one subject and one target host. */
export function newGrant(
  kind: TransferGrant['kind'],
  subject: string,
  target: string,
  ttlMs = GRANT_TTL_MS,
): TransferGrant {
  return { id: randomBytes(32).toString('base64url'), kind, subject, target, ttlMs };
}
