import { ValidationError } from '../util/errors.ts';

/**
 * Who a certificate speaks for. Managers and agents are both TLS servers and
 * clients (heartbeats go agent -> manager, commands manager -> agent); `client`
 * is an operator's docker CLI or SDK and never serves.
 */
export type Role = 'manager' | 'agent' | 'client';

export const roles: readonly Role[] = ['manager', 'agent', 'client'];

/** The role travels in the subject's OU, signed by the cluster CA, so servers can trust it. */
const ouPrefix = 'lifeboat-';

export const serverAuthOid = '1.3.6.1.5.5.7.3.1';
export const clientAuthOid = '1.3.6.1.5.5.7.3.2';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/** For strings from the command line or config: a Role, or a ValidationError naming the choices. */
export function parseRole(value: string): Role {
  if (isRole(value)) return value;
  throw new ValidationError(`unknown certificate role "${value}"`, `use one of: ${roles.join(', ')}`);
}

export function roleToOu(role: Role): string {
  return ouPrefix + role;
}

/**
 * Reads the role from a subject's OU values as Node reports them (one string,
 * or an array when there are several). Several lifeboat OUs are ambiguous and
 * yield no role rather than a guess.
 */
export function roleFromOu(ou: string | readonly string[] | undefined): Role | undefined {
  const values = ou === undefined ? [] : typeof ou === 'string' ? [ou] : ou;
  const found = values.filter((v) => v.startsWith(ouPrefix)).map((v) => v.slice(ouPrefix.length));
  if (found.length !== 1) return undefined;
  const role = found[0];
  return isRole(role) ? role : undefined;
}

/** Extended key usages per role; OpenSSL checks them during the handshake. */
export function extendedKeyUsagesFor(role: Role): string[] {
  return role === 'client' ? [clientAuthOid] : [serverAuthOid, clientAuthOid];
}
