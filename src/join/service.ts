import { z } from 'zod';
import type { Keyring } from '../checkpoint/crypto/index.ts';
import { readCertificateRequest } from '../pki/csr.ts';
import { PkiError } from '../pki/errors.ts';
import { signCertificate } from '../pki/issue.ts';
import { readPemFile } from '../pki/secure-files.ts';
import type { ClusterCa } from '../pki/index.ts';
import type { Logger } from '../util/log.ts';
import { parseBody } from '../util/schema.ts';
import type { Certificates } from './certificates.ts';
import { caDigest, parseJoinToken } from './token.ts';
import type { JoinRole, JoinTokens } from './tokens.ts';

/** A join request's body (src/util/schema.ts: validation, type and OpenAPI schema in one). */
export const JoinRequestBody = z.strictObject({
  token: z.string().min(1).describe('the join token, LBTKN-1-...'),
  csr: z.string().min(1).describe("PKCS#10, PEM: the host's public key and the names it asks for"),
});
export type JoinRequest = z.infer<typeof JoinRequestBody>;

export interface JoinResponse {
  role: JoinRole;
  name: string;
  certPem: string;
  caPem: string;
  serial: string;
  notAfter: string;
  /** The cluster's archive key (hex), which every agent and manager encrypts checkpoints with. */
  clusterKey?: string;
  /** Managers only: the CA key, so that every manager can let hosts join. */
  caKeyPem?: string;
}

export function parseJoinRequest(body: unknown): JoinRequest {
  return parseBody(JoinRequestBody, body, 'a join request');
}

export interface JoinServiceOptions {
  tokens: JoinTokens;
  certificates: Certificates;
  /** The cluster CA with its key; without it this manager refuses joins (another manager may hold it). */
  ca?: ClusterCa;
  clusterKey?: Keyring;
  /** How long ago the named host's last heartbeat arrived, if it has a record. */
  hostSilentMs: (name: string) => Promise<number | undefined>;
  failureTimeoutMs: number;
  log: Logger;
}

/**
 * A manager's end of `lifeboat join`: checks the token, signs the host's
 * own key for the token's role, and hands over what the host needs to take
 * part (the CA certificate, the archive key; for managers the CA key).
 */
export class JoinService {
  constructor(private readonly o: JoinServiceOptions) {}

  get caPem(): string | undefined {
    return this.o.ca?.certPem;
  }

  async join(req: JoinRequest, from: string): Promise<JoinResponse> {
    const ca = this.o.ca;
    if (!ca)
      throw new PkiError('join_no_ca', 'this manager holds no CA key, so it cannot sign certificates', {
        status: 503,
        hint: 'join through the manager that ran `lifeboat init` (or start this one with --ca DIR)',
      });
    const token = parseJoinToken(req.token);
    if (token.caDigest !== caDigest(ca.certPem))
      throw new PkiError(
        'join_token_other_cluster',
        'this join token belongs to another cluster (its CA digest differs)',
        {
          status: 401,
          hint: "use a token printed by this cluster's managers",
        },
      );
    const role = await this.o.tokens.roleFor(token.secret);
    const wanted = await readCertificateRequest(req.csr);
    if (role === 'agent') {
      const silent = await this.o.hostSilentMs(wanted.name);
      if (silent !== undefined && silent < this.o.failureTimeoutMs)
        throw new PkiError(
          'join_name_in_use',
          `host ${wanted.name} is up (its last heartbeat came ${(silent / 1000).toFixed(1)} s ago); a second host cannot take its name`,
          {
            status: 409,
            hint: `join under another --name, or remove the old one first: lifeboat node rm ${wanted.name}`,
          },
        );
    }
    const signed = await signCertificate(
      ca,
      { role, name: wanted.name, dnsNames: wanted.dnsNames, ipAddresses: wanted.ipAddresses },
      wanted.publicKey,
    );
    await this.o.certificates.issued({
      serial: signed.serialNumber,
      role,
      name: signed.name,
      via: 'join',
      notAfter: signed.notAfter.toISOString(),
    });
    this.o.log.info('host joined', {
      role,
      name: signed.name,
      serial: signed.serialNumber,
      ips: signed.ipAddresses.join(','),
      dns: signed.dnsNames.join(','),
      from,
    });
    return {
      role,
      name: signed.name,
      certPem: signed.certPem,
      caPem: ca.certPem,
      serial: signed.serialNumber,
      notAfter: signed.notAfter.toISOString(),
      ...(this.o.clusterKey ? { clusterKey: this.o.clusterKey.current.material().toString('hex') } : {}),
      ...(role === 'manager' ? { caKeyPem: await readPemFile(ca.keyPath, 'CA private key') } : {}),
    };
  }
}
