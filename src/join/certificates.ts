import type { ClusterStore } from '../store/index.ts';
import { PrefixMirror } from '../store/prefix-mirror.ts';
import type { PeerIdentity, Role } from '../pki/index.ts';
import { PkiError } from '../pki/errors.ts';
import { normalizeSerial } from '../pki/serial.ts';
import { withDeadline } from '../util/deadline.ts';

export const CERTS = 'pki/certs/';
export const REVOKED = 'pki/revoked/';

/** A certificate the cluster knows of: issued through a join, or first seen in a heartbeat. */
export interface CertRecord {
  serial: string;
  role: Role;
  name: string;
  at: string;
  via: 'join' | 'seen';
  notAfter?: string;
}

export interface RevokedRecord {
  serial: string;
  role: Role;
  name: string;
  revokedAt: string;
  by: string;
}

/**
 * The cluster's certificate list and its revocations, in the store so that
 * every manager refuses a revoked certificate on its next request. Serials
 * are recorded when a join issues them and when a heartbeat first presents
 * one (certificates from `lifeboat cert issue`), so `lifeboat node rm`
 * finds every certificate a host has used.
 */
export class Certificates {
  private readonly revoked: PrefixMirror<RevokedRecord>;
  private readonly recorded = new Set<string>();
  private lastKnown: RevokedRecord[] = [];

  constructor(private readonly store: ClusterStore) {
    this.revoked = new PrefixMirror(store, REVOKED, (_k, v) => JSON.parse(v) as RevokedRecord);
  }

  async issued(rec: Omit<CertRecord, 'serial' | 'at'> & { serial: string }): Promise<void> {
    const serial = normalizeSerial(rec.serial);
    await this.store.put(CERTS + serial, JSON.stringify({ ...rec, serial, at: new Date().toISOString() }));
    this.recorded.add(serial);
  }

  /** Records a certificate a peer presented, once per serial and manager. */
  async seen(peer: PeerIdentity): Promise<void> {
    const serial = normalizeSerial(peer.serialNumber);
    if (this.recorded.has(serial)) return;
    if (!(await this.store.get(CERTS + serial))) {
      const rec: CertRecord = {
        serial,
        role: peer.role,
        name: peer.name,
        at: new Date().toISOString(),
        via: 'seen',
      };
      await this.store.put(CERTS + serial, JSON.stringify(rec));
    }
    this.recorded.add(serial);
  }

  /**
   * Whether a serial is revoked. While the store cannot be read, the last
   * list read answers: a manager cut off from its store must still serve
   * /readyz and tell its callers why it cannot do more.
   */
  async isRevoked(serial: string): Promise<RevokedRecord | undefined> {
    const s = normalizeSerial(serial);
    try {
      // a store that does not answer must not hold up every request: the last list read answers meanwhile
      this.lastKnown = await withDeadline(
        this.revoked.get(),
        1000,
        'the revocation list was not read within 1 s',
      );
    } catch {
      // the read that failed is the store's problem; callers see it on their own reads
    }
    return this.lastKnown.find((r) => r.serial === s);
  }

  /** The refusal a revoked peer gets (403, naming its certificate), or undefined. */
  async refusal(peer: PeerIdentity): Promise<PkiError | undefined> {
    const revoked = await this.isRevoked(peer.serialNumber);
    if (!revoked) return undefined;
    return new PkiError(
      'pki_certificate_revoked',
      `the certificate of ${peer.role} ${peer.name} (serial ${revoked.serial}) was revoked at ${revoked.revokedAt} by ${revoked.by}`,
      {
        status: 403,
        hint:
          peer.role === 'client'
            ? 'ask an operator for a new certificate (lifeboat cert issue --role client)'
            : 'a removed host comes back by joining again: lifeboat join --token TOKEN MANAGER',
      },
    );
  }

  async listRevoked(): Promise<RevokedRecord[]> {
    return this.revoked.get();
  }

  async known(name?: string): Promise<CertRecord[]> {
    const all = (await this.store.getPrefix(CERTS)).map((e) => JSON.parse(e.value) as CertRecord);
    return name === undefined ? all : all.filter((c) => c.name === name);
  }

  /** Revokes every certificate known for `name` (in the roles given); returns what it revoked now. */
  async revokeName(name: string, roles: readonly Role[], by: string): Promise<RevokedRecord[]> {
    const out: RevokedRecord[] = [];
    for (const c of await this.known(name)) {
      if (!roles.includes(c.role) || (await this.isRevoked(c.serial))) continue;
      out.push(await this.revokeSerial(c.serial, c.role, c.name, by));
    }
    return out;
  }

  async revokeSerial(serial: string, role: Role, name: string, by: string): Promise<RevokedRecord> {
    const rec: RevokedRecord = {
      serial: normalizeSerial(serial),
      role,
      name,
      revokedAt: new Date().toISOString(),
      by,
    };
    const revision = await this.store.put(REVOKED + rec.serial, JSON.stringify(rec));
    // this manager refuses it from the next request on; the others when their watch delivers it
    this.revoked.wrote(rec.serial, rec, revision);
    return rec;
  }

  async close(): Promise<void> {
    await this.revoked.close();
  }
}
