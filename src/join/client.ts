import https from 'node:https';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createCertificateRequest } from '../pki/csr.ts';
import { PkiError } from '../pki/errors.ts';
import { certificatePaths } from '../pki/layout.ts';
import { writeCertificate } from '../pki/issue.ts';
import { serverIdentityCheck } from '../pki/tls.ts';
import {
  certificateMode,
  fileExists,
  privateKeyMode,
  writeFileAtomic,
  ensurePrivateDir,
} from '../pki/secure-files.ts';
import { caCertFile, caKeyFile } from '../pki/ca.ts';
import { errorMessage } from '../util/errors.ts';
import { caDigest, parseJoinToken } from './token.ts';
import type { JoinResponse } from './service.ts';
import type { JoinRole } from './tokens.ts';

export const JOIN_PATH = '/lifeboat/v1/join';
export const JOIN_CA_PATH = '/lifeboat/v1/join/ca';

export interface JoinOptions {
  /** A manager's API address: HOST:PORT or https://HOST:PORT. */
  manager: string;
  token: string;
  /** This host's name in the cluster (the certificate's CN). */
  name: string;
  /** Addresses managers and peers dial this host at (IP SANs). */
  ipAddresses?: string[];
  dnsNames?: string[];
  /** Where ca.pem, cert.pem and key.pem go (0700; key 0600); by role when the token decides. */
  pkiDir: string | ((role: JoinRole) => string);
  /** Where to write the cluster's archive key when the manager hands one over. */
  clusterKeyPath?: string;
  /** Managers: where the CA (ca.pem, ca-key.pem) goes. */
  caDir?: string;
  /** Replace an identity (and a different archive key) already there. */
  force?: boolean;
  timeoutMs?: number;
}

export interface JoinResult extends Omit<JoinResponse, 'clusterKey' | 'caKeyPem' | 'certPem' | 'caPem'> {
  pkiDir: string;
  clusterKeyPath?: string;
  caDir?: string;
}

function managerUrl(addr: string): URL {
  const url = new URL(addr.includes('://') ? addr : `https://${addr}`);
  if (url.protocol !== 'https:')
    throw new PkiError('join_bad_address', `join talks HTTPS to a manager, not ${url.protocol}`, {
      status: 400,
      hint: 'pass the manager API address, e.g. 10.0.0.1:7440',
    });
  return url;
}

function request(
  url: URL,
  method: string,
  tls: https.RequestOptions,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      url,
      {
        method,
        ...tls,
        headers: data
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }
          : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) =>
      reject(
        new PkiError('join_unreachable', `cannot reach the manager at ${url.host}: ${errorMessage(err)}`, {
          status: 502,
          hint: 'check the address (the manager API port, 7440 by default) and that the manager runs',
          cause: err,
        }),
      ),
    );
    req.end(data);
  });
}

function refused(status: number, text: string): PkiError {
  let message = text.trim();
  let hint: string | undefined;
  let code = 'join_refused';
  try {
    const o = JSON.parse(text) as { message?: string; hint?: string; code?: string };
    message = o.message ?? message;
    hint = o.hint;
    code = o.code ?? code;
  } catch {
    // not JSON: the text as it came
  }
  return new PkiError(code, `the manager refused the join (${status}): ${message}`, {
    status,
    ...(hint ? { hint } : {}),
  });
}

/**
 * `lifeboat join`: makes this host's key here, sends only a certificate
 * request, and trusts the manager only after its CA matches the digest the
 * token pins (so a token copied from the operator is all the trust needed,
 * as with Swarm's). Writes the identity, and the archive key the cluster uses.
 */
export async function joinCluster(o: JoinOptions): Promise<JoinResult> {
  const token = parseJoinToken(o.token);
  const url = managerUrl(o.manager);
  const timeoutMs = o.timeoutMs ?? 15_000;
  const refuseExisting = async (dir: string): Promise<void> => {
    const paths = certificatePaths(dir, 'docker');
    if (!o.force && ((await fileExists(paths.certPath)) || (await fileExists(paths.keyPath))))
      throw new PkiError('join_identity_exists', `${dir} already holds an identity (cert.pem/key.pem)`, {
        status: 409,
        hint: `this host has joined before: start it with --pki ${dir}, or join again with --force to replace it`,
      });
  };
  if (typeof o.pkiDir === 'string') await refuseExisting(o.pkiDir);

  // 1. The CA, fetched without trusting anything yet, then checked against the token.
  const caAnswer = await request(
    new URL(JOIN_CA_PATH, url),
    'GET',
    { rejectUnauthorized: false },
    undefined,
    timeoutMs,
  );
  if (caAnswer.status !== 200) throw refused(caAnswer.status, caAnswer.text);
  let digest: string;
  try {
    digest = caDigest(caAnswer.text);
  } catch (err) {
    throw new PkiError(
      'join_bad_ca',
      `the manager at ${url.host} sent no valid CA certificate: ${errorMessage(err)}`,
      { status: 502 },
    );
  }
  if (digest !== token.caDigest)
    throw new PkiError(
      'join_ca_mismatch',
      `the manager at ${url.host} presented a CA with digest ${digest.slice(0, 16)}..., the token pins ${token.caDigest.slice(0, 16)}...`,
      {
        status: 502,
        hint: "this address is not the token's cluster (or something between you rewrites TLS): check both",
      },
    );
  const caPem = caAnswer.text;

  // 2. The request, over TLS verified against that CA, to a server holding a manager certificate.
  const { csrPem, keyPem } = await createCertificateRequest({
    name: o.name,
    ...(o.ipAddresses ? { ipAddresses: o.ipAddresses } : {}),
    ...(o.dnsNames ? { dnsNames: o.dnsNames } : {}),
  });
  const answer = await request(
    new URL(JOIN_PATH, url),
    'POST',
    {
      ca: caPem,
      rejectUnauthorized: true,
      checkServerIdentity: serverIdentityCheck({ serverRoles: ['manager'] }),
    },
    { token: o.token.trim(), csr: csrPem },
    timeoutMs,
  );
  if (answer.status !== 200) throw refused(answer.status, answer.text);
  const got = JSON.parse(answer.text) as JoinResponse;
  const pkiDir = typeof o.pkiDir === 'string' ? o.pkiDir : o.pkiDir(got.role);
  if (typeof o.pkiDir !== 'string') await refuseExisting(pkiDir);

  // 3. What this host keeps.
  await writeCertificate(
    pkiDir,
    'docker',
    { certPem: got.certPem, keyPem, caPem: got.caPem },
    { overwrite: true },
  );
  const result: JoinResult = {
    role: got.role,
    name: got.name,
    serial: got.serial,
    notAfter: got.notAfter,
    pkiDir,
  };
  if (got.clusterKey !== undefined && o.clusterKeyPath !== undefined) {
    await writeClusterKey(o.clusterKeyPath, got.clusterKey, o.force === true);
    result.clusterKeyPath = o.clusterKeyPath;
  }
  if (got.caKeyPem !== undefined && o.caDir !== undefined) {
    await ensurePrivateDir(o.caDir);
    await writeFileAtomic(join(o.caDir, caKeyFile), got.caKeyPem, privateKeyMode);
    await writeFileAtomic(join(o.caDir, caCertFile), got.caPem, certificateMode);
    result.caDir = o.caDir;
  }
  return result;
}

async function writeClusterKey(path: string, hex: string, force: boolean): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (await fileExists(path)) {
    const have = (await readFile(path, 'latin1')).trim();
    if (have === hex) return;
    if (!force)
      throw new PkiError('join_cluster_key_differs', `${path} holds another archive key than the cluster's`, {
        status: 409,
        hint: 'archives written with it need it: move it aside (keep it as a previous key), or join with --force',
      });
  }
  await writeFileAtomic(path, hex + '\n', privateKeyMode);
}
