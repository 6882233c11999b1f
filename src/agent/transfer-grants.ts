import { LifeboatError } from '../util/errors.ts';
import type { TransferGrant } from '../node-api/node-client.ts';

/** What a grant lets its peer do, each at most once. */
export type GrantUse = 'prepare' | 'dump' | 'image';

const USES: Record<TransferGrant['kind'], readonly GrantUse[]> = {
  migration: ['prepare', 'dump'],
  image: ['image'],
};
/** Grants older than this are refused whatever TTL a manager asked for. */
export const MAX_GRANT_TTL_MS = 10 * 60_000;
const GRANT_ID = /^[A-Za-z0-9_-]{43}$/;

export class GrantRefusedError extends LifeboatError {
  constructor(why: string) {
    super('transfer_refused', `transfer refused: ${why}`, {
      status: 403,
      hint: 'transfers between hosts are granted by a manager for one container, one peer and a short time; start the move again',
    });
  }
}

interface Held {
  grant: TransferGrant;
  expiresAt: number;
  used: Set<GrantUse>;
}

/**
 * The grants a source agent holds: a peer may use one only for its subject,
 * only with its own certificate's name, before it expires (by this host's
 * monotonic clock, so no two machines' clocks are compared), and each use
 * once. A grant nobody used is dropped when it expires.
 */
export class TransferGrants {
  private readonly held = new Map<string, Held>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  static validId(id: unknown): id is string {
    return typeof id === 'string' && GRANT_ID.test(id);
  }

  accept(grant: TransferGrant): void {
    this.sweep();
    if (!TransferGrants.validId(grant.id)) throw new GrantRefusedError('malformed grant id');
    if (!(grant.ttlMs > 0) || grant.ttlMs > MAX_GRANT_TTL_MS)
      throw new GrantRefusedError(`grant lifetime must be 1..${MAX_GRANT_TTL_MS} ms`);
    if (this.held.has(grant.id)) throw new GrantRefusedError('grant id already issued');
    this.held.set(grant.id, { grant, expiresAt: this.now() + grant.ttlMs, used: new Set() });
  }

  /** Checks and spends one use; returns the grant. */
  use(id: string, peer: string, use: GrantUse): TransferGrant {
    this.sweep();
    const h = TransferGrants.validId(id) ? this.held.get(id) : undefined;
    if (!h) throw new GrantRefusedError('no such grant (forged, expired or already used up)');
    if (h.grant.target !== peer)
      throw new GrantRefusedError(`the grant is for ${h.grant.target}, not for ${peer}`);
    if (!USES[h.grant.kind].includes(use))
      throw new GrantRefusedError(`a ${h.grant.kind} grant does not allow ${use}`);
    if (h.used.has(use)) throw new GrantRefusedError(`${use} was already done under this grant (replay)`);
    // a dump ends the prepare phase: preparing afterwards would be a replay of the move
    if (use === 'dump') h.used.add('prepare');
    h.used.add(use);
    if (USES[h.grant.kind].every((u) => h.used.has(u))) this.held.delete(id);
    return h.grant;
  }

  /** Whether a grant is still held (issued, not expired, not used up). */
  holds(id: string): boolean {
    this.sweep();
    return this.held.has(id);
  }

  /** Checks without spending (a link probe before the dump). */
  peek(id: string, peer: string): TransferGrant {
    this.sweep();
    const h = TransferGrants.validId(id) ? this.held.get(id) : undefined;
    if (!h || h.grant.target !== peer || h.used.has('dump'))
      throw new GrantRefusedError('no such grant for this peer');
    return h.grant;
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, h] of this.held) if (h.expiresAt <= t) this.held.delete(id);
  }
}
