import type { ClusterStore } from '../store/index.ts';
import { PkiError } from '../pki/errors.ts';
import { formatJoinToken, hashSecret, newSecret, secretMatches, tokenId } from './token.ts';

/** The roles a host can join as; operators' client certificates come from `lifeboat cert issue`. */
export const JOIN_ROLES = ['agent', 'manager'] as const;
export type JoinRole = (typeof JOIN_ROLES)[number];

export function parseJoinRole(v: string): JoinRole {
  if ((JOIN_ROLES as readonly string[]).includes(v)) return v as JoinRole;
  throw new PkiError('join_role_invalid', `a join token is for an agent or a manager, not "${v}"`, {
    status: 400,
    hint: 'operators get client certificates from `lifeboat cert issue --role client`',
  });
}

export const TOKENS = 'pki/join-tokens/';
export const DEFAULT_TOKEN_TTL_MS = 24 * 3600_000;
export const MAX_TOKEN_TTL_MS = 365 * 24 * 3600_000;

/** What the store keeps of a token: never the secret. */
export interface TokenRecord {
  role: JoinRole;
  /** sha256 of the secret, hex. */
  hash: string;
  createdAt: string;
  expiresAt: string;
  /** Who made it (the certificate name of the caller, or `init`). */
  createdBy: string;
}

export interface TokenSummary {
  role: JoinRole;
  id: string;
  createdAt: string;
  expiresAt: string;
  expired: boolean;
  createdBy: string;
}

/**
 * One live join token per role, kept in the cluster store so that every
 * manager accepts it. Making a new one (rotation) ends the old one at once.
 * The token itself is shown only when it is made.
 */
export class JoinTokens {
  constructor(
    private readonly store: Pick<ClusterStore, 'get' | 'put' | 'getPrefix'>,
    private readonly caPem: string,
    private readonly now: () => number = Date.now,
  ) {}

  async rotate(role: JoinRole, ttlMs: number, createdBy: string): Promise<{ token: string } & TokenSummary> {
    if (!Number.isFinite(ttlMs) || ttlMs < 60_000 || ttlMs > MAX_TOKEN_TTL_MS)
      throw new PkiError('join_token_ttl', `a join token lives from 1 minute to 365 days, not ${ttlMs} ms`, {
        status: 400,
        hint: 'pass --ttl 1h, 24h (the default) or 168h (a week)',
      });
    const secret = newSecret();
    const now = this.now();
    const rec: TokenRecord = {
      role,
      hash: hashSecret(secret),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlMs).toISOString(),
      createdBy,
    };
    await this.store.put(TOKENS + role, JSON.stringify(rec));
    return { token: formatJoinToken(this.caPem, secret), ...this.summary(rec) };
  }

  async list(): Promise<TokenSummary[]> {
    return (await this.store.getPrefix(TOKENS)).map((e) => this.summary(JSON.parse(e.value) as TokenRecord));
  }

  /** The role the secret was issued for; refuses an unknown, rotated or expired one. */
  async roleFor(secret: string): Promise<JoinRole> {
    for (const role of JOIN_ROLES) {
      const e = await this.store.get(TOKENS + role);
      if (!e) continue;
      const rec = JSON.parse(e.value) as TokenRecord;
      if (!secretMatches(secret, rec.hash)) continue;
      if (Date.parse(rec.expiresAt) <= this.now())
        throw new PkiError('join_token_expired', `this ${role} join token expired at ${rec.expiresAt}`, {
          status: 401,
          hint: `make a new one on a manager: lifeboat join-token rotate ${role}`,
        });
      return role;
    }
    throw new PkiError(
      'join_token_invalid',
      'this join token is not valid in this cluster (unknown or rotated)',
      {
        status: 401,
        hint: 'ask an operator for the current token: lifeboat join-token rotate agent (or manager) prints a new one',
      },
    );
  }

  private summary(rec: TokenRecord): TokenSummary {
    return {
      role: rec.role,
      id: tokenId(rec.hash),
      createdAt: rec.createdAt,
      expiresAt: rec.expiresAt,
      expired: Date.parse(rec.expiresAt) <= this.now(),
      createdBy: rec.createdBy,
    };
  }
}
